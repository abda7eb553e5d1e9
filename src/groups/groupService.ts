import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from '../errors';
import { normalizeGroupName } from './groupName';
import { deriveInviteToken, hashInviteSecret, newLinkNonce } from './inviteSecrets';
import type { Actor, Group, Invite, Member, Role, UserRef } from './model';
import {
  inviteLinkTag,
  LastAdminError,
  RemovedFromGroupError,
  type CreateGroupInput,
  type JoinInput,
  type MapToOrganizationInput,
  type ResetFrom,
} from './groupInputs';
import {
  checkConversationRef,
  checkUser,
  GROUP_NOT_FOUND,
  inviteNotValid,
  isOrgAdminOf,
  preparePhoto,
  publicGroup,
  requireAdmin,
} from './groupRules';
import { MemberAdministration } from './memberAdministration';

export {
  LastAdminError,
  RemovedFromGroupError,
  inviteLinkTag,
  type CreateGroupInput,
  type GroupExport,
  type GroupServiceOptions,
  type JoinInput,
  type MapToOrganizationInput,
  type ResetFrom,
  type VerifiedOrganization,
} from './groupInputs';
export { MAX_ADMINS, MAX_PHOTO_BYTES } from './groupRules';

/**
 * Groups, members, roles, invites and organization mapping. Business rules live here; atomicity and
 * concurrency mechanics live behind GroupStore. Knows nothing of Teams. Reads and shared helpers are in
 * GroupReads (groupReads.ts), what admins do to members in MemberAdministration (memberAdministration.ts),
 * input checks and limits in groupRules.ts.
 */
export class GroupService extends MemberAdministration {
  // ---- create and read ------------------------------------------------------------------------------------

  async createGroup(input: CreateGroupInput): Promise<Group> {
    const name = normalizeGroupName(input.name);
    const creator = checkUser(input.creator);
    const conversationRef = checkConversationRef(input.conversationRef);
    if (typeof input.idempotencyKey !== 'string' || input.idempotencyKey.length === 0) {
      throw new InvalidInputError('Something went wrong with this request. Please try again.');
    }
    const photo = input.photo ? preparePhoto(input.photo) : undefined;
    // The id is a function of the request, so a redelivered request finds the group its first delivery made.
    const groupId = this.groupIdFor(input.idempotencyKey);

    let record = await this.store.getGroup(groupId);
    if (!record) {
      // The photo goes first, in its own table: until the group row below exists nothing refers to it.
      if (photo) await this.store.putPhoto(groupId, photo);
      const at = this.timestamp();
      const group: Group = {
        id: groupId,
        name,
        photo: photo ? { version: photo.version, contentType: photo.contentType } : undefined,
        createdBy: creator,
        createdAt: at,
        status: 'private',
        memberCount: 1,
      };
      const linkNonce = newLinkNonce();
      await this.store.insertGroup({
        group,
        linkNonce,
        creator: { groupId, user: creator, role: 'admin', joinedAt: at, conversationRef },
        audit: { groupId, at, action: 'created', actor: creator, detail: name },
      });
      // Re-read whether or not we won a race with a concurrent delivery: both return the stored group.
      record = await this.store.getGroup(groupId);
      if (!record) throw new NotFoundError(GROUP_NOT_FOUND);
    }
    if (record.group.createdBy.id !== creator.id) {
      throw new ConflictError('This request was already used for another group. Please start again.');
    }
    // Index rows live outside the group's partition: written after it, idempotently, so a retry repairs them.
    await Promise.all([
      this.store.putInvites(groupId, this.inviteHashes(record)),
      this.store.indexUserGroup(creator.id, groupId, { makeCurrent: true }),
    ]);
    return publicGroup(record.group);
  }

  // ---- invites --------------------------------------------------------------------------------------------

  /** Any member may see the invite (as in Kaizala: anyone in the group can invite). */
  async getInvite(groupId: string, actor: UserRef): Promise<Invite> {
    const { record } = await this.requireMembership(groupId, actor.id, 'Only members of this group can see its invite link.');
    const invite = this.inviteFor(record);
    // Repair: the invite rows are written after the group's own transaction; make sure they are there.
    const tokenHash = hashInviteSecret('token', invite.token);
    if ((await this.store.findInviteGroupId(tokenHash)) !== groupId) {
      await this.store.putInvites(groupId, this.inviteHashes(record));
    }
    return invite;
  }

  /**
   * Admins only. The old link and code stop working the moment the new nonce is stored. Replaces the link
   * current at the call: resets that overlap make one new link between them (see resetInviteLinkFrom).
   */
  async resetInviteLink(groupId: string, actor: UserRef): Promise<Invite> {
    const current = this.inviteFor(await this.requireGroup(groupId));
    return (await this.resetInviteLinkFrom(groupId, actor, { linkTag: inviteLinkTag(current.token) })).invite;
  }

  /**
   * Admins only. Resets the link only if it is still the one named by `from`: of two resets from the same link
   * at the same moment (two clicks, two devices) exactly one happens, decided by the group's eTag in storage,
   * and the other gets the link that won. `reset` says whether this call made the new link.
   */
  async resetInviteLinkFrom(groupId: string, actor: UserRef, from: ResetFrom): Promise<{ invite: Invite; reset: boolean }> {
    const outcome = await this.retrying(async () => {
      const record = await this.requireGroup(groupId);
      requireAdmin(record, { user: actor }, 'Only group admins can reset the invite link.');
      const current = this.inviteFor(record);
      const named = 'url' in from ? from.url === current.url : from.linkTag === inviteLinkTag(current.token);
      if (!named) return { before: record, after: record, reset: false };
      const linkNonce = newLinkNonce();
      // Conditional on the version just read: a reset that lost the race fails here, re-reads, and no longer
      // finds the link it was meant to replace.
      await this.store.updateGroup(groupId, record.version, { linkNonce }, this.audit(groupId, 'link_reset', actor));
      return { before: record, after: { ...record, linkNonce }, reset: true };
    });
    // Resolving checks the group's current nonce, so these rows are clean-up, not the revocation itself.
    if (outcome.reset) {
      await this.store.deleteInvites(this.inviteHashes(outcome.before));
      // The old link's hash (never the link), so its page can say "reset" rather than "not valid".
      await this.store.putRevokedInvites?.([
        hashInviteSecret('token', deriveInviteToken(this.appSecret, outcome.before.group.id, outcome.before.linkNonce)),
      ]);
    }
    // Also for the loser: the winner may not have written the new link's rows yet, and the link shown must work.
    await this.store.putInvites(groupId, this.inviteHashes(outcome.after));
    return { invite: this.inviteFor(outcome.after), reset: outcome.reset };
  }

  // ---- membership -----------------------------------------------------------------------------------------

  /**
   * Round trips: invite lookup; group + counters + this user's membership (two requests in parallel); one
   * transaction (member row + one counter shard + audit); the "my groups" index upsert.
   */
  /**
   * Joins by link or code. Thousands may join one group at once, so the path is short: the invite's group (from
   * memory after the first join), a read of the group with its counters, the store's transaction that adds the
   * member (a 409 there means "already a member"; no read of the member row first; the store shares reads and
   * transactions among joins that arrive together), one index write. The group's admins come back too (cached
   * per group version), for the welcome card and the admins' notice.
   */
  async join(input: JoinInput): Promise<{ group: Group; alreadyMember: boolean; admins: Member[] }> {
    const reference = this.toReference(input.ref);
    const user = checkUser(input.user);
    const conversationRef = checkConversationRef(input.conversationRef);
    // Counted before the code is checked, right or wrong: parallel guesses get no more than sequential ones.
    // Links are 128-bit secrets and go straight through.
    if (reference.kind === 'code') await this.joinCodeAttempts?.count(user.id, input.scope ?? {});

    const groupId = await this.inviteGroupId(hashInviteSecret(reference.kind, reference.value));
    const record = groupId ? await this.store.getGroup(groupId) : undefined;
    if (!groupId || !record || !this.isCurrentInvite(record, reference)) throw new NotFoundError(inviteNotValid(reference.kind));

    let group = record.group;
    const at = this.timestamp();
    const [outcome, admins] = await Promise.all([
      this.store.addMember(
        { groupId, user, role: 'member', joinedAt: at, conversationRef },
        { groupId, at, action: 'joined', actor: user },
      ),
      this.adminsOf(record),
    ]);
    if (outcome === 'banned') throw new RemovedFromGroupError(group.name);
    const alreadyMember = outcome === 'already_member';
    // The count as of our read plus ourselves: exact enough for a welcome card, never a second read.
    if (!alreadyMember) group = { ...group, memberCount: group.memberCount + 1 };
    // Also when already a member: repairs a crash between an earlier join's transaction and this index.
    // The group a member joined becomes their current group (issue 10), in the same write.
    await this.store.indexUserGroup(user.id, groupId, { makeCurrent: true });
    return { group: publicGroup(group), alreadyMember, admins };
  }

  /** The last admin can leave only by naming another member as the new admin. */
  async leave(groupId: string, user: UserRef, options: { newAdminId?: string } = {}): Promise<void> {
    const { newAdminId } = options;
    if (newAdminId !== undefined && newAdminId === user.id) {
      throw new InvalidInputError('Choose someone other than yourself as the new admin.');
    }
    await this.retrying(async () => {
      const { record, member } = await this.requireMembership(groupId, user.id, 'You are not a member of this group.');
      const wasAdmin = record.adminIds.includes(user.id);
      let adminIds = record.adminIds.filter((id) => id !== user.id);
      const setRoles: { userId: string; role: Role }[] = [];
      const audit = [this.audit(groupId, 'left', user)];

      if (newAdminId !== undefined && !adminIds.includes(newAdminId)) {
        const successor = await this.store.getMember(groupId, newAdminId);
        if (!successor) throw new NotFoundError('The person you chose is not a member of this group any more.');
        adminIds = [...adminIds, newAdminId];
        setRoles.push({ userId: newAdminId, role: 'admin' });
        audit.push(this.audit(groupId, 'role_changed', user, successor.user, 'admin'));
      }
      if (wasAdmin && adminIds.length === 0) {
        throw new LastAdminError(
          record.group.memberCount <= 1
            ? 'You are the only member of this group. To close it, delete the group instead.'
            : 'You are the only admin of this group. Choose another member to become admin before you leave.',
        );
      }
      await this.store.changeMembership({
        groupId,
        expectedVersion: record.version,
        adminIds,
        remove: [user.id],
        setRoles,
        audit,
        forget: [member.user],
      });
    });
    await this.store.unindexUserGroup(user.id, groupId);
  }

  /** Group admins, and organization admins of the owning tenant. */
  async deleteGroup(groupId: string, actor: Actor): Promise<void> {
    const record = await this.retrying(async () => {
      const current = await this.requireGroup(groupId);
      requireAdmin(current, actor, 'Only group admins can delete the group.');
      await this.store.deleteGroup(current);
      return current;
    });
    await this.store.deleteInvites(this.inviteHashes(record));
  }

  // ---- organization ---------------------------------------------------------------------------------------

  /**
   * One-way. Idempotent by state: mapping again to the same tenant changes nothing (and repairs the index),
   * so a redelivered request (same idempotencyKey) is harmless.
   */
  async mapToOrganization(input: MapToOrganizationInput): Promise<{ group: Group; changed: boolean }> {
    const actor = checkUser(input.actor);
    const tenantId = input.verified.tenantId?.trim().toLowerCase();
    const organizationName = input.verified.organizationName?.trim() || tenantId;
    if (!tenantId) throw new InvalidInputError('We could not confirm your organization. Please sign in again.');

    const outcome = await this.retrying(async () => {
      const record = await this.requireGroup(input.groupId);
      requireAdmin(record, { user: actor }, 'Only a group admin can add the group to an organization.');
      const current = record.group.tenantId;
      if (current !== undefined) {
        if (current !== tenantId) throw new ForbiddenError('This group already belongs to another organization.');
        return { group: record.group, changed: false };
      }
      if (this.allowedTenantIds.size > 0 && !this.allowedTenantIds.has(tenantId)) {
        throw new ForbiddenError('Your organization is not allowed to own groups in this app. Ask your IT admin.');
      }
      const mappedAt = this.timestamp();
      const organization = { tenantId, organizationName, mappedBy: actor, mappedAt };
      await this.store.updateGroup(
        record.group.id,
        record.version,
        { organization },
        {
          groupId: record.group.id,
          at: mappedAt,
          action: 'mapped',
          actor,
          detail: `${organizationName} (tenant ${tenantId}, signed in as ${input.verified.objectId}, request ${input.idempotencyKey})`,
        },
      );
      const group: Group = { ...record.group, ...organization, status: 'organization' };
      return { group, changed: true };
    });
    await this.store.indexOrgGroup(tenantId, input.groupId);
    return { group: publicGroup(outcome.group), changed: outcome.changed };
  }

  /**
   * Records that an organization admin of the owning tenant exported the group (members' data left the
   * system): the export is audited like any change. The caller has verified the admin's token.
   */
  async recordExport(groupId: string, actor: Actor, format: string): Promise<void> {
    await this.retrying(async () => {
      const record = await this.requireGroup(groupId);
      if (!isOrgAdminOf(record, actor))
        throw new ForbiddenError('Only organization admins of the owning organization can export this group.');
      await this.store.updateGroup(groupId, record.version, {}, this.audit(groupId, 'exported', actor.user, undefined, format));
    });
  }
}
