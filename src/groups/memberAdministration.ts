import { InvalidInputError, isAppError, NotFoundError, type AppError } from '../errors';
import type { Actor, Ban, Group, Member, Role, UserRef } from './model';
import { LastAdminError } from './groupInputs';
import { checkConversationRef, checkUser, GROUP_NOT_FOUND, MAX_ADMINS, publicGroup, requireAdmin } from './groupRules';
import { GroupReads } from './groupReads';
import type { GroupRecord } from './ports';

/**
 * What admins do to a group's members: remove (and ban), let back in, make admin and make a member again, and
 * add someone without an invite (bulk add). Group admins, and organization admins of the owning tenant.
 * GroupService (groupService.ts) builds on it; shared reads and helpers are in GroupReads.
 */
export abstract class MemberAdministration extends GroupReads {
  /**
   * Group admins, and organization admins of the tenant that owns the group. The removed member is banned in
   * the same write: no link or code, old or new, lets them back until an admin allows them (allowMember).
   */
  async removeMember(groupId: string, actor: Actor, memberId: string): Promise<{ group: Group; member: Member }> {
    const removed = await this.retrying(async () => {
      const { record, member } = await this.memberAsAdmin(groupId, actor, memberId, 'Only group admins can remove members.', () => {
        if (memberId === actor.user.id) throw new InvalidInputError('To leave the group yourself, use "Leave group".');
      });
      const adminIds = record.adminIds.filter((id) => id !== memberId);
      if (adminIds.length === 0) {
        throw new LastAdminError(`${member.user.name} is the only admin of this group. Make another member admin first.`);
      }
      const removal = this.audit(groupId, 'removed', actor.user, member.user);
      await this.store.changeMembership({
        groupId,
        expectedVersion: record.version,
        adminIds,
        remove: [memberId],
        ban: [{ groupId, user: member.user, bannedBy: actor.user, bannedAt: removal.at }],
        // One moment for both entries: the trail lists "removed", then "banned".
        audit: [removal, { ...removal, action: 'banned' }],
      });
      // Who was removed (with where they can be told) and from what: for the answer and their notice.
      return { group: publicGroup(record.group), member };
    });
    await this.store.unindexUserGroup(memberId, groupId);
    return removed;
  }

  /** The group and one of its members, for an admin (group or organization) about to act on them: what a confirmation card names. */
  async memberForAdmin(groupId: string, actor: Actor, memberId: string, notAdmin: string): Promise<{ group: Group; member: Member }> {
    const { record, member } = await this.memberAsAdmin(groupId, actor, memberId, notAdmin);
    return { group: publicGroup(record.group), member };
  }

  /** Read, admin check, then `check` (before "not a member": removing yourself is explained as leaving). */
  private async memberAsAdmin(
    groupId: string,
    actor: Actor,
    memberId: string,
    notAdmin: string,
    check?: () => void,
  ): Promise<{ record: GroupRecord; member: Member }> {
    const found = await this.store.getGroupWithMember(groupId, memberId);
    if (!found) throw new NotFoundError(GROUP_NOT_FOUND);
    requireAdmin(found.record, actor, notAdmin);
    check?.();
    if (!found.member) throw new NotFoundError('That person is not a member of this group.');
    return { record: found.record, member: found.member };
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
        forget: [ban.user],
      });
      return ban;
    });
  }

  /** Group admins, and organization admins of the owning tenant. Making an admin an admin again changes nothing. */
  async makeAdmin(groupId: string, actor: Actor, memberId: string): Promise<Member> {
    return this.retrying(async () => {
      const { record, member } = await this.memberAsAdmin(groupId, actor, memberId, 'Only group admins can make someone an admin.');
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

  /**
   * An admin becomes a member again (issue 17): group admins and organization admins of the owning tenant, an
   * admin themselves too. Never the last admin: a group always has someone to run it. A member stays a member.
   */
  async removeAdmin(groupId: string, actor: Actor, memberId: string): Promise<Member> {
    return this.retrying(async () => {
      const { record, member } = await this.memberAsAdmin(groupId, actor, memberId, 'Only group admins can change who is an admin.');
      if (!record.adminIds.includes(memberId)) return { ...member, role: 'member' };
      const adminIds = record.adminIds.filter((id) => id !== memberId);
      if (adminIds.length === 0) {
        throw new LastAdminError(`${member.user.name} is the only admin of this group. Make another member admin first.`);
      }
      await this.store.changeMembership({
        groupId,
        expectedVersion: record.version,
        adminIds,
        setRoles: [{ userId: memberId, role: 'member' }],
        audit: [this.audit(groupId, 'role_changed', actor.user, member.user, 'member')],
      });
      return { ...member, role: 'member' };
    });
  }

  /**
   * An admin adds someone (bulk add, issue 18): no invite, audited as "added" by the admin. Someone an admin
   * removed is not added (they need `allow` first); a member already stays as they are, except that `admin`
   * makes them one. Idempotent: a rerun after a crash finds them a member. One person of addManyByAdmin.
   */
  async addByAdmin(groupId: string, actor: Actor, person: PersonToAdd): Promise<AdminAddOutcome> {
    const [result] = await this.addManyByAdmin(groupId, actor, [person]);
    if (typeof result === 'object') throw result.refused;
    return result!;
  }

  /**
   * Many people at once into one group (a bulk add job's chunk), each as addByAdmin, in a few storage round
   * trips: one read of the group, the adds together (the store commits many to a transaction), then the "my
   * groups" rows. The results in the order given: an outcome, or why that person was refused (an invalid name
   * or conversation, too many admins) while the others go on. Refusing the whole call (not an admin, the group
   * gone) throws, as a failure of storage does: a rerun of the same people is safe (members already are found).
   */
  async addManyByAdmin(groupId: string, actor: Actor, people: readonly PersonToAdd[]): Promise<AdminAddResult[]> {
    const results: AdminAddResult[] = new Array<AdminAddResult>(people.length);
    const valid: Array<{ index: number; user: UserRef; role: Role; conversationRef?: string }> = [];
    people.forEach((person, index) => {
      try {
        const user = checkUser(person.user);
        const conversationRef = checkConversationRef(person.conversationRef);
        valid.push({ index, user, role: person.role, ...(conversationRef ? { conversationRef } : {}) });
      } catch (err) {
        if (!isAppError(err)) throw err;
        results[index] = { refused: err };
      }
    });
    requireAdmin(await this.requireGroup(groupId), actor, 'Only group admins can add people.');
    const at = this.timestamp();
    const outcomes = await this.store.addMembers(
      groupId,
      valid.map(({ user, conversationRef }) => ({
        member: { groupId, user, role: 'member', joinedAt: at, ...(conversationRef ? { conversationRef } : {}) },
        audit: { groupId, at, action: 'added', actor: actor.user, subject: user },
      })),
    );
    const indexed: Array<{ userId: string; makeCurrent: boolean }> = [];
    for (const [i, person] of valid.entries()) {
      const outcome = outcomes[i]!;
      if (outcome === 'banned') {
        results[person.index] = 'removed';
        continue;
      }
      results[person.index] = outcome;
      // Admins are few (capped): one change each, after the adds. Refused (too many admins): a member, refused.
      if (person.role === 'admin') {
        try {
          await this.makeAdmin(groupId, actor, person.user.id);
        } catch (err) {
          if (!isAppError(err)) throw err;
          results[person.index] = { refused: err };
        }
      }
      indexed.push({ userId: person.user.id, makeCurrent: outcome === 'added' });
    }
    await this.store.indexUserGroups(groupId, indexed);
    return results;
  }
}

/** Someone an admin adds (bulk add). */
export interface PersonToAdd {
  user: UserRef;
  role: Role;
  conversationRef?: string;
}

export type AdminAddOutcome = 'added' | 'already_member' | 'removed';
/** One person's result of addManyByAdmin: the outcome, or why they were refused (the others went on). */
export type AdminAddResult = AdminAddOutcome | { refused: AppError };
