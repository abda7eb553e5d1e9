import { createHash, createHmac, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError, TooLargeError } from '../errors';
import { normalizeGroupName } from './groupName';
import {
  deriveInviteToken,
  deriveJoinCode,
  formatJoinCode,
  hashInviteSecret,
  inviteUrl,
  newLinkNonce,
  parseInviteReference,
  isDamagedInviteReference,
} from './inviteSecrets';
import type {
  Actor,
  AuditAction,
  AuditEntry,
  Ban,
  Group,
  GroupPhoto,
  Invite,
  InviteReference,
  JoinScope,
  Member,
  MyGroup,
  Page,
  PageRequest,
  Role,
  UserRef,
} from './model';
import { ConcurrentChangeError, type GroupRecord, type GroupStore, type JoinCodeAttempts, type PageQuery } from './ports';

export interface GroupServiceOptions {
  store: GroupStore;
  /** HMAC key: group ids from idempotency keys, invite tokens and join codes are derived from it. */
  appSecret: string;
  /** Base URL of the server, for invite links. */
  publicUrl: string;
  now?: () => Date;
  /** Tenants allowed to own groups; empty or absent = any tenant. */
  allowedTenantIds?: readonly string[];
  /** Counts join-code checks before they happen (codes are short enough to guess); absent = unlimited. */
  joinCodeAttempts?: JoinCodeAttempts;
}

export interface CreateGroupInput {
  name: string;
  creator: UserRef;
  /** Already resized by the caller. */
  photo?: { bytes: Buffer; contentType: string };
  /** Stable per request (conversation id + activity id): a redelivery returns the same group. */
  idempotencyKey: string;
  conversationRef?: string;
}

export interface JoinInput {
  /** What the person pasted or typed (link, token or join code), or an already parsed reference. */
  ref: string | InviteReference;
  user: UserRef;
  conversationRef?: string;
  /** Where the request comes from: a join code is counted against each of these (and the user). */
  scope?: JoinScope;
}

/** Names the link a reset is meant to replace: the link itself, or its tag (see inviteLinkTag). */
export type ResetFrom = { url: string } | { linkTag: string };

export interface VerifiedOrganization {
  /** Only ever from a verified token (tid), never from an activity. */
  tenantId: string;
  objectId: string;
  organizationName: string;
}

export interface MapToOrganizationInput {
  groupId: string;
  actor: UserRef;
  verified: VerifiedOrganization;
  idempotencyKey: string;
}

export interface GroupExport {
  group: Group;
  members: AsyncIterable<Member>;
  /** Newest first. */
  audit: AsyncIterable<AuditEntry>;
}

/** The rule "a group always has an admin" stopped the operation; the glue can offer to pick a new admin. */
export class LastAdminError extends ForbiddenError {}

/** An admin removed this person from the group; they may join again only once an admin lets them back in. */
export class RemovedFromGroupError extends ForbiddenError {
  constructor(readonly groupName: string) {
    super(`An admin removed you from ${groupName}. Ask an admin to let you back in.`);
  }
}

/** A short, non-secret fingerprint of an invite token: cards carry it to say which link a reset replaces. */
export function inviteLinkTag(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 12);
}

export const MAX_ADMINS = 100;
export const MAX_PHOTO_BYTES = 48 * 1024;
const MAX_CONVERSATION_REF_CHARS = 32 * 1024;
const MAX_ID_CHARS = 256;
const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;
/** Read-decide-write rounds before giving up when others keep changing the same group. */
const DECISION_ATTEMPTS = 8;

const INVITE_NOT_VALID = 'This invite link is not valid any more. Ask the group admin for a new one.';
const GROUP_NOT_FOUND = 'This group does not exist any more.';

/** Magic numbers of the accepted image types: the declared type must match the bytes. */
const PHOTO_SIGNATURES: Record<string, (bytes: Buffer) => boolean> = {
  'image/png': (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/jpeg': (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  'image/gif': (b) => b.subarray(0, 4).toString('latin1') === 'GIF8',
  'image/webp': (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
};

/**
 * Groups, members, roles, invites and organization mapping. Business rules live here; atomicity and
 * concurrency mechanics live behind GroupStore. Knows nothing of Teams.
 */
export class GroupService {
  private readonly store: GroupStore;
  private readonly appSecret: string;
  private readonly publicUrl: string;
  private readonly now: () => Date;
  private readonly allowedTenantIds: ReadonlySet<string>;
  private readonly joinCodeAttempts?: JoinCodeAttempts;
  /** Caches of what cannot go stale (see adminsOf, inviteGroupId): speed only, never a source of truth. */
  private readonly adminCache = new Map<string, Member[]>();
  private readonly inviteCache = new Map<string, string>();

  constructor(options: GroupServiceOptions) {
    if (!options.appSecret || options.appSecret.length < 16) throw new Error('GroupService needs an app secret of at least 16 characters');
    this.store = options.store;
    this.appSecret = options.appSecret;
    this.publicUrl = options.publicUrl.replace(/\/+$/, '');
    this.now = options.now ?? (() => new Date());
    this.allowedTenantIds = new Set((options.allowedTenantIds ?? []).map((id) => id.toLowerCase()));
    this.joinCodeAttempts = options.joinCodeAttempts;
  }

  /** Forgets the cached admins and invite links: storage may have gone back in time (an embedded store restarted). */
  dropCaches(): void {
    this.adminCache.clear();
    this.inviteCache.clear();
  }

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

  async getGroup(groupId: string): Promise<Group> {
    return publicGroup((await this.requireGroup(groupId)).group);
  }

  /** The group as one of its members sees it: with their own membership. Members only. */
  async getGroupAsMember(groupId: string, userId: string): Promise<{ group: Group; member: Member }> {
    const { record, member } = await this.requireMembership(groupId, userId, 'You are not a member of this group.');
    return { group: publicGroup(record.group), member };
  }

  /** Group Info: the group, the viewer's membership and the admins, from one read of the group. Members only. */
  async getGroupInfo(groupId: string, userId: string): Promise<{ group: Group; member: Member; admins: Member[] }> {
    const { record, member } = await this.requireMembership(groupId, userId, 'You are not a member of this group.');
    return { group: publicGroup(record.group), member, admins: await this.adminsOf(record) };
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
      await this.store.putRevokedInvites?.([hashInviteSecret('token', deriveInviteToken(this.appSecret, outcome.before.group.id, outcome.before.linkNonce))]);
    }
    // Also for the loser: the winner may not have written the new link's rows yet, and the link shown must work.
    await this.store.putInvites(groupId, this.inviteHashes(outcome.after));
    return { invite: this.inviteFor(outcome.after), reset: outcome.reset };
  }

  /** True when an invite token is one a group admin reset (only the hashes of reset links are kept). */
  async wasInviteReset(token: string): Promise<boolean> {
    if (!this.store.isRevokedInvite) return false;
    return this.store.isRevokedInvite(hashInviteSecret('token', token));
  }

  async resolveInvite(ref: string | InviteReference): Promise<Group> {
    const reference = this.toReference(ref);
    const groupId = await this.inviteGroupId(hashInviteSecret(reference.kind, reference.value));
    const record = groupId ? await this.store.getGroup(groupId) : undefined;
    if (!record || !this.isCurrentInvite(record, reference)) throw new NotFoundError(INVITE_NOT_VALID);
    return publicGroup(record.group);
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
    if (!groupId || !record || !this.isCurrentInvite(record, reference)) throw new NotFoundError(INVITE_NOT_VALID);

    let group = record.group;
    const at = this.timestamp();
    const [outcome, admins] = await Promise.all([
      this.store.addMember({ groupId, user, role: 'member', joinedAt: at, conversationRef }, { groupId, at, action: 'joined', actor: user }),
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
      const { record } = await this.requireMembership(groupId, user.id, 'You are not a member of this group.');
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
      await this.store.changeMembership({ groupId, expectedVersion: record.version, adminIds, remove: [user.id], setRoles, audit });
    });
    await this.store.unindexUserGroup(user.id, groupId);
  }

  /**
   * Group admins, and organization admins of the tenant that owns the group. The removed member is banned in
   * the same write: no link or code, old or new, lets them back until an admin allows them (allowMember).
   */
  async removeMember(groupId: string, actor: Actor, memberId: string): Promise<void> {
    await this.retrying(async () => {
      const found = await this.store.getGroupWithMember(groupId, memberId);
      if (!found) throw new NotFoundError(GROUP_NOT_FOUND);
      const { record, member } = found;
      requireAdmin(record, actor, 'Only group admins can remove members.');
      if (memberId === actor.user.id) throw new InvalidInputError('To leave the group yourself, use "Leave group".');
      if (!member) throw new NotFoundError('That person is not a member of this group.');
      const adminIds = record.adminIds.filter((id) => id !== memberId);
      if (adminIds.length === 0) {
        throw new LastAdminError(`${member.user.name} is the only admin of this group. Make another member admin first.`);
      }
      const removed = this.audit(groupId, 'removed', actor.user, member.user);
      await this.store.changeMembership({
        groupId,
        expectedVersion: record.version,
        adminIds,
        remove: [memberId],
        ban: [{ groupId, user: member.user, bannedBy: actor.user, bannedAt: removed.at }],
        // One moment for both entries: the trail lists "removed", then "banned".
        audit: [removed, { ...removed, action: 'banned' }],
      });
    });
    await this.store.unindexUserGroup(memberId, groupId);
  }

  /** Lets a removed person join again (with the current link or code). Group admins and organization admins. */
  async allowMember(groupId: string, actor: Actor, userId: string): Promise<Ban> {
    return this.retrying(async () => {
      const record = await this.requireGroup(groupId);
      requireAdmin(record, actor, 'Only group admins can let removed people back in.');
      const ban = await this.store.getBan(groupId, userId);
      if (!ban) throw new NotFoundError('That person is not on the removed list of this group.');
      await this.store.changeMembership({
        groupId,
        expectedVersion: record.version,
        adminIds: record.adminIds,
        allow: [userId],
        audit: [this.audit(groupId, 'allowed', actor.user, ban.user)],
      });
      return ban;
    });
  }

  /** The people admins removed (and who may not rejoin). Group admins and organization admins only. */
  async listBans(groupId: string, actor: Actor, page: PageRequest = {}): Promise<Page<Ban>> {
    requireAdmin(await this.requireGroup(groupId), actor, 'Only group admins can see who was removed.');
    return this.store.listBans(groupId, pageQuery(page));
  }

  /** Group admins, and organization admins of the owning tenant. Making an admin an admin again changes nothing. */
  async makeAdmin(groupId: string, actor: Actor, memberId: string): Promise<Member> {
    return this.retrying(async () => {
      const found = await this.store.getGroupWithMember(groupId, memberId);
      if (!found) throw new NotFoundError(GROUP_NOT_FOUND);
      const { record, member } = found;
      requireAdmin(record, actor, 'Only group admins can make someone an admin.');
      if (!member) throw new NotFoundError('That person is not a member of this group.');
      if (record.adminIds.includes(memberId)) return { ...member, role: 'admin' };
      if (record.adminIds.length >= MAX_ADMINS) {
        throw new InvalidInputError(`A group can have at most ${MAX_ADMINS} admins.`);
      }
      await this.store.changeMembership({
        groupId,
        expectedVersion: record.version,
        adminIds: [...record.adminIds, memberId],
        setRoles: [{ userId: memberId, role: 'admin' }],
        audit: [this.audit(groupId, 'role_changed', actor.user, member.user, 'admin')],
      });
      return { ...member, role: 'admin' };
    });
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

  // ---- listings -------------------------------------------------------------------------------------------

  /** Members of the group (and organization admins of the owning tenant) only. */
  async listMembers(groupId: string, actor: Actor, page: PageRequest = {}): Promise<Page<Member>> {
    const found = await this.store.getGroupWithMember(groupId, actor.user.id);
    if (!found) throw new NotFoundError(GROUP_NOT_FOUND);
    if (!found.member && !isOrgAdminOf(found.record, actor)) {
      throw new ForbiddenError('Only members of this group can see who is in it.');
    }
    return this.store.listMembers(groupId, pageQuery(page));
  }

  async listAdmins(groupId: string): Promise<Member[]> {
    return this.adminsOf(await this.requireGroup(groupId));
  }

  /**
   * The admins' member rows. Every change of who is admin changes the group's version, so rows read at one
   * version stay right for that version: a join storm reads them once, not once per join.
   */
  private async adminsOf(record: GroupRecord): Promise<Member[]> {
    const key = `${record.group.id}|${record.version}`;
    const cached = this.adminCache.get(key);
    if (cached) return cached;
    const admins = (await Promise.all(record.adminIds.map((id) => this.store.getMember(record.group.id, id)))).filter(
      (member): member is Member => member !== undefined,
    );
    remember(this.adminCache, key, admins, CACHE_ENTRIES);
    return admins;
  }

  /**
   * Which group an invite hash names. The mapping never changes (a reset makes new hashes; old ones are
   * refused by the nonce check against the group row), so found mappings are kept in memory.
   */
  private async inviteGroupId(secretHash: string): Promise<string | undefined> {
    const cached = this.inviteCache.get(secretHash);
    if (cached) return cached;
    const groupId = await this.store.findInviteGroupId(secretHash);
    if (groupId) remember(this.inviteCache, secretHash, groupId, CACHE_ENTRIES);
    return groupId;
  }

  /** A page may hold fewer items than asked: index rows whose membership has ended are dropped (and repaired). */
  async listMyGroups(userId: string, page: PageRequest = {}): Promise<Page<MyGroup>> {
    const ids = await this.store.listUserGroupIds(userId, pageQuery(page));
    const rows = await Promise.all(
      ids.items.map(async (groupId): Promise<MyGroup | undefined> => {
        const found = await this.store.getGroupWithMember(groupId, userId);
        if (!found?.member) {
          await this.store.unindexUserGroup(userId, groupId);
          return undefined;
        }
        return { group: publicGroup(found.record.group), role: found.member.role, joinedAt: found.member.joinedAt };
      }),
    );
    return { items: rows.filter((row): row is MyGroup => row !== undefined), continuationToken: ids.continuationToken };
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
      await this.store.updateGroup(record.group.id, record.version, { organization }, {
        groupId: record.group.id,
        at: mappedAt,
        action: 'mapped',
        actor,
        detail: `${organizationName} (tenant ${tenantId}, signed in as ${input.verified.objectId}, request ${input.idempotencyKey})`,
      });
      const group: Group = { ...record.group, ...organization, status: 'organization' };
      return { group, changed: true };
    });
    await this.store.indexOrgGroup(tenantId, input.groupId);
    return { group: publicGroup(outcome.group), changed: outcome.changed };
  }

  /** For organization admins (the glue checks that the caller is one of this tenant). */
  async listOrgGroups(tenantId: string, page: PageRequest = {}): Promise<Page<Group>> {
    const tenant = tenantId.trim().toLowerCase();
    const ids = await this.store.listOrgGroupIds(tenant, pageQuery(page));
    const groups = await Promise.all(
      ids.items.map(async (groupId) => {
        const record = await this.store.getGroup(groupId);
        if (!record) await this.store.unindexOrgGroup(tenant, groupId); // deleted: repair the index
        return record?.group.tenantId === tenant ? publicGroup(record.group) : undefined;
      }),
    );
    return { items: groups.filter((g): g is Group => g !== undefined), continuationToken: ids.continuationToken };
  }

  /** For organization admins (the glue checks the caller). Streams: groups can have thousands of members. */
  async exportGroup(groupId: string): Promise<GroupExport> {
    const record = await this.requireGroup(groupId);
    return {
      group: publicGroup(record.group),
      members: this.store.allMembers(groupId),
      audit: this.store.allAudit(groupId),
    };
  }

  /**
   * Records that an organization admin of the owning tenant exported the group (members' data left the
   * system): the export is audited like any change. The caller has verified the admin's token.
   */
  async recordExport(groupId: string, actor: Actor, format: string): Promise<void> {
    await this.retrying(async () => {
      const record = await this.requireGroup(groupId);
      if (!isOrgAdminOf(record, actor)) throw new ForbiddenError('Only organization admins of the owning organization can export this group.');
      await this.store.updateGroup(groupId, record.version, {}, this.audit(groupId, 'exported', actor.user, undefined, format));
    });
  }

  /** Newest first. */
  async auditTrail(groupId: string, page: PageRequest = {}): Promise<Page<AuditEntry>> {
    await this.requireGroup(groupId);
    return this.store.listAudit(groupId, pageQuery(page));
  }

  // ---- photo ----------------------------------------------------------------------------------------------

  async getPhoto(groupId: string): Promise<GroupPhoto> {
    const photo = await this.store.getPhoto(groupId);
    if (!photo) throw new NotFoundError('This group has no photo.');
    return photo;
  }

  // ---- helpers --------------------------------------------------------------------------------------------

  private groupIdFor(idempotencyKey: string): string {
    return createHmac('sha256', this.appSecret).update(`group|${idempotencyKey}`, 'utf8').digest('hex').slice(0, 24);
  }

  private inviteFor(record: GroupRecord): Invite {
    const token = deriveInviteToken(this.appSecret, record.group.id, record.linkNonce);
    const code = deriveJoinCode(this.appSecret, record.group.id, record.linkNonce);
    return { url: inviteUrl(this.publicUrl, token), token, joinCode: formatJoinCode(code) };
  }

  private inviteHashes(record: GroupRecord): string[] {
    return [
      hashInviteSecret('token', deriveInviteToken(this.appSecret, record.group.id, record.linkNonce)),
      hashInviteSecret('code', deriveJoinCode(this.appSecret, record.group.id, record.linkNonce)),
    ];
  }

  /** The invite row only says where to look; the group's current nonce decides whether the secret still works. */
  private isCurrentInvite(record: GroupRecord, reference: InviteReference): boolean {
    const current =
      reference.kind === 'token'
        ? deriveInviteToken(this.appSecret, record.group.id, record.linkNonce)
        : deriveJoinCode(this.appSecret, record.group.id, record.linkNonce);
    return current === reference.value;
  }

  private toReference(ref: string | InviteReference): InviteReference {
    const parsed = typeof ref === 'string' ? parseInviteReference(ref, this.publicUrl) : parseInviteReference(ref.value, this.publicUrl);
    if (!parsed && isDamagedInviteReference(typeof ref === 'string' ? ref : ref.value, this.publicUrl)) throw new NotFoundError(INVITE_NOT_VALID);
    if (!parsed || (typeof ref !== 'string' && parsed.kind !== ref.kind)) {
      throw new InvalidInputError('That does not look like an invite link or a join code. Please check it and try again.');
    }
    return parsed;
  }

  private async requireGroup(groupId: string): Promise<GroupRecord> {
    const record = await this.store.getGroup(groupId);
    if (!record) throw new NotFoundError(GROUP_NOT_FOUND);
    return record;
  }

  private async requireMembership(groupId: string, userId: string, notMember: string): Promise<{ record: GroupRecord; member: Member }> {
    const found = await this.store.getGroupWithMember(groupId, userId);
    if (!found) throw new NotFoundError(GROUP_NOT_FOUND);
    if (!found.member) throw new ForbiddenError(notMember);
    return { record: found.record, member: found.member };
  }

  private audit(groupId: string, action: AuditAction, actor: UserRef, subject?: UserRef, detail?: string): AuditEntry {
    const entry: AuditEntry = { groupId, at: this.timestamp(), action, actor };
    if (subject) entry.subject = subject;
    if (detail !== undefined) entry.detail = detail;
    return entry;
  }

  private timestamp(): string {
    return this.now().toISOString();
  }

  /** Read, decide, write conditionally; when someone changed the group in between, read and decide again. */
  private async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    for (let round = 0; ; round++) {
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof ConcurrentChangeError) || round + 1 >= DECISION_ATTEMPTS) throw err;
        await sleep(randomInt(1, 10 + 10 * round));
      }
    }
  }
}

function requireAdmin(record: GroupRecord, actor: Actor, message: string): void {
  if (!record.adminIds.includes(actor.user.id) && !isOrgAdminOf(record, actor)) throw new ForbiddenError(message);
}

function isOrgAdminOf(record: GroupRecord, actor: Actor): boolean {
  const tenant = actor.orgAdminOfTenant?.toLowerCase();
  return tenant !== undefined && tenant === record.group.tenantId;
}

const CACHE_ENTRIES = 10_000;

/** A bounded map: past `limit` entries the oldest goes (insertion order). */
function remember<V>(cache: Map<string, V>, key: string, value: V, limit: number): void {
  if (cache.size >= limit) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}

/** What leaves the domain: never the link nonce. */
function publicGroup(group: Group): Group {
  const copy = { ...group };
  delete copy.linkNonce;
  return copy;
}

function checkUser(user: UserRef): UserRef {
  const id = typeof user?.id === 'string' ? user.id.trim() : '';
  if (id.length === 0 || id.length > MAX_ID_CHARS) {
    throw new InvalidInputError('We could not tell who you are. Please try again from Teams.');
  }
  const name = typeof user.name === 'string' ? user.name.trim().slice(0, MAX_ID_CHARS) : '';
  return { id, name };
}

function checkConversationRef(conversationRef: string | undefined): string | undefined {
  if (conversationRef === undefined) return undefined;
  if (typeof conversationRef !== 'string' || conversationRef.length > MAX_CONVERSATION_REF_CHARS) {
    throw new InvalidInputError('Something went wrong with this request. Please try again.');
  }
  return conversationRef;
}

function preparePhoto(input: { bytes: Buffer; contentType: string }): GroupPhoto {
  const contentType = input.contentType?.trim().toLowerCase();
  const signature = PHOTO_SIGNATURES[contentType];
  if (!Buffer.isBuffer(input.bytes) || input.bytes.length === 0 || !signature || !signature(input.bytes)) {
    throw new InvalidInputError('The photo must be a PNG, JPEG, GIF or WebP image.');
  }
  if (input.bytes.length > MAX_PHOTO_BYTES) {
    throw new TooLargeError('The photo is too large. Please choose a smaller one.');
  }
  // Content-derived: the same photo set twice keeps its version, and card image URLs stay cacheable.
  const version = createHash('sha256').update(input.bytes).digest('hex').slice(0, 16);
  return { bytes: input.bytes, contentType, version };
}

function pageQuery(page: PageRequest): PageQuery {
  const requested = page.pageSize ?? DEFAULT_PAGE_SIZE;
  const pageSize = Number.isInteger(requested) ? Math.min(Math.max(requested, 1), MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
  return { pageSize, continuationToken: page.continuationToken };
}
