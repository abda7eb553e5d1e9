import type { GroupService } from '../../groups/groupService';
import { inviteLinkTag, LastAdminError } from '../../groups/groupService';
import type { Ban, Group, JoinScope, Member, UserRef } from '../../groups/model';
import { InvalidInputError, NotFoundError } from '../../errors';
import {
  buildConfirmationCard,
  buildGroupInfoCard,
  buildInviteCard,
  buildMemberCard,
  buildMembersCard,
  REMOVED_MAX,
  buildMyGroupsCard,
  deleteConfirmation,
  inviteQrDataUrl,
  leaveConfirmation,
  removeConfirmation,
  resetLinkConfirmation,
} from '../../../cards';
import { inline, provenName } from '../../../cards/text';
import { cardReply, textReply, type Reply } from '../replies';

/** Who is acting, and where they can be reached later. */
export interface Requester {
  user: UserRef;
  /** JSON conversation reference of the user's personal chat, when the request came from it (authenticated). */
  conversationRef?: string;
  /** The activity id: the idempotency key of anything this request creates. */
  activityId: string;
  /** The conversation and tenant the request came from (join codes are counted per each). */
  scope?: JoinScope;
}

/** Tells a group's admins that someone joined; runs after the joiner's turn. */
export interface JoinNotices {
  /** `joinKey`: the join request's id (a redelivered join has the same one and is told once). */
  memberJoined(group: Group, member: UserRef, admins: readonly Member[], joinKey?: string): void;
}

/** Tells a removed member, in their own chat, who did it to which group (issue 17); runs after the answer. */
export interface RemovalNotices {
  /** `requestKey`: the removing request's id (a redelivered removal tells them once). */
  memberRemoved(group: Group, member: Member, requestKey: string): void;
}

export interface GroupActionsDependencies {
  groups: GroupService;
  notices: JoinNotices;
  publicUrl: string;
  /** Issue 10: after a removal (the app deletes a removed member's delivered copies in organization groups). */
  onRemoved?(groupId: string, userId: string): Promise<void>;
  /** After a group is deleted: what the delivery engine kept about its posts goes too (runs after the answer). */
  onGroupDeleted?(groupId: string): Promise<void>;
  /** Issue 17: "An admin removed you from <group>." to the removed member. */
  removalNotices?: RemovalNotices;
  /** Issue 10: members Teams refused to reach (blocked or removed the app), told to admins in Group Info. */
  notReachedCount?(groupId: string): Promise<{ unreachable: number; retrying: number }>;
}

/** Issue 18: the members card pages 50 at a time (its search too). */
const MEMBERS_PAGE_SIZE = 50;
/** The "Removed" section of the members card shows this many; `allow <name>` reaches the others. */
const REMOVED_SHOWN = REMOVED_MAX;
const MY_GROUPS_PAGE_SIZE = 20;
/** How many of a user's groups `invite Field Sales` looks through to find "Field Sales". */
const NAME_LOOKUP_LIMIT = 500;

/**
 * Steps 1 and 2 and the management of groups, as answers: each method does one thing through the domain and
 * says what to show. The same method serves a typed command, an Action.Submit and an Action.Execute.
 */
export class GroupActions {
  constructor(private readonly deps: GroupActionsDependencies) {}

  photoUrl(group: Group): string | undefined {
    return group.photo ? `${this.deps.publicUrl}/groups/${group.id}/photo?v=${encodeURIComponent(group.photo.version)}` : undefined;
  }

  async groupInfo(req: Requester, groupId: string, lead?: string): Promise<Reply> {
    const { group, member, admins } = await this.deps.groups.getGroupInfo(groupId, req.user.id);
    const viewerIsAdmin = member.role === 'admin';
    // A count for admins only; Group Info still opens when it cannot be read.
    const notReached =
      viewerIsAdmin && this.deps.notReachedCount ? await this.deps.notReachedCount(groupId).catch(() => undefined) : undefined;
    return this.groupInfoOf(group, admins, viewerIsAdmin, lead, notReached);
  }

  private groupInfoOf(
    group: Group,
    admins: readonly Member[],
    viewerIsAdmin: boolean,
    lead?: string,
    notReached?: { unreachable: number; retrying: number },
  ): Reply {
    const card = buildGroupInfoCard({
      groupId: group.id,
      name: group.name,
      photoUrl: this.photoUrl(group),
      memberCount: group.memberCount,
      adminNames: admins.slice(0, 3).map((a) => a.user.name),
      adminCount: admins.length,
      // Only a tenant mapping writes it (GroupService.mapToOrganization, from the verified sign-in).
      organizationName: provenName(group.organizationName),
      viewerIsAdmin,
      // Where only admins post, members get no Announce or Poll (the form would refuse them anyway).
      viewerMayPost: viewerIsAdmin || group.onlyAdminsPost !== true,
      unreachableCount: notReached?.unreachable ?? 0,
      retryingCount: notReached?.retrying ?? 0,
    });
    return { text: lead, cards: [card] };
  }

  async invite(req: Requester, groupId: string, lead?: string): Promise<Reply> {
    const { group, member } = await this.deps.groups.getGroupAsMember(groupId, req.user.id);
    const invite = await this.deps.groups.getInvite(groupId, req.user);
    return {
      text: lead,
      cards: [
        buildInviteCard({
          groupId,
          groupName: group.name,
          inviteLink: invite.url,
          joinCode: invite.joinCode,
          qrPngDataUrl: await inviteQrDataUrl(invite.url),
          viewerIsAdmin: member.role === 'admin',
        }),
      ],
    };
  }

  async askResetLink(req: Requester, groupId: string): Promise<Reply> {
    const { group, member } = await this.deps.groups.getGroupAsMember(groupId, req.user.id);
    if (member.role !== 'admin') return textReply('Only group admins can reset the invite link.');
    const confirmation = resetLinkConfirmation({ groupId, groupName: group.name });
    // The card names the link it would revoke: clicking it again after a reset revokes nothing new.
    const invite = await this.deps.groups.getInvite(groupId, req.user);
    return cardReply(buildConfirmationCard({ ...confirmation, data: { ...confirmation.data, linkTag: inviteLinkTag(invite.token) } }));
  }

  async resetLink(req: Requester, groupId: string, expectedLinkTag?: string): Promise<Reply> {
    const done = 'Done: the old link and join code no longer work. Share this new link.';
    if (expectedLinkTag === undefined) {
      // A card from before link tags: nothing names the link, so nothing can tell a second click apart.
      await this.deps.groups.resetInviteLink(groupId, req.user);
      return this.invite(req, groupId, done);
    }
    // The domain decides in storage: of two clicks at once exactly one resets, the other gets the link that won.
    const { reset } = await this.deps.groups.resetInviteLinkFrom(groupId, req.user, { linkTag: expectedLinkTag });
    return this.invite(req, groupId, reset ? done : 'This link was already reset. Here is the current one.');
  }

  async members(req: Requester, groupId: string, continuationToken?: string, search?: string): Promise<Reply> {
    const { group, member } = await this.deps.groups.getGroupAsMember(groupId, req.user.id);
    const page = await this.deps.groups.listMembers(
      groupId,
      { user: req.user },
      { pageSize: MEMBERS_PAGE_SIZE, continuationToken, search },
    );
    // Admins see who was removed, on the first page only (the next pages are more members).
    const removed =
      member.role === 'admin' && continuationToken === undefined && search === undefined
        ? await this.deps.groups.listBans(groupId, { user: req.user }, { pageSize: REMOVED_SHOWN })
        : undefined;
    return cardReply(
      buildMembersCard({
        groupId,
        groupName: group.name,
        totalCount: group.memberCount,
        members: page.items.map((m) => ({ userId: m.user.id, name: m.user.name, role: m.role, isViewer: m.user.id === req.user.id })),
        continuationToken: page.continuationToken,
        viewerIsAdmin: member.role === 'admin',
        removed: removed?.items.map((ban) => ({ userId: ban.user.id, name: ban.user.name })),
        moreRemoved: removed?.continuationToken !== undefined,
        search,
        adminsOnly: group.membersHidden === true && member.role !== 'admin',
      }),
    );
  }

  /** An admin's Manage on the members card: that member's card with what can be done to them. */
  async memberCard(req: Requester, groupId: string, userId: string): Promise<Reply> {
    const { group } = await this.deps.groups.getGroupAsMember(groupId, req.user.id);
    const member = await this.deps.groups.getMemberAsAdmin(groupId, { user: req.user }, userId);
    if (!member) return textReply('They are not a member of this group any more.');
    return cardReply(buildMemberCard({ groupId, groupName: group.name, userId, name: member.user.name, role: member.role }));
  }

  async myGroups(req: Requester, continuationToken?: string): Promise<Reply> {
    const page = await this.deps.groups.listMyGroups(req.user.id, { pageSize: MY_GROUPS_PAGE_SIZE, continuationToken });
    return cardReply(
      buildMyGroupsCard({
        groups: page.items.map(({ group, role }) => ({
          groupId: group.id,
          name: group.name,
          memberCount: group.memberCount,
          role,
          organizationName: provenName(group.organizationName),
        })),
        continuationToken: page.continuationToken,
      }),
    );
  }

  async join(req: Requester, reference: string): Promise<Reply> {
    if (!reference.trim()) {
      return textReply('Send **join** followed by the invite link or the join code, for example: join ABCDE-FGHJK');
    }
    const { group, alreadyMember, admins } = await this.deps.groups.join({
      ref: reference.trim(),
      user: req.user,
      conversationRef: req.conversationRef,
      scope: req.scope,
    });
    if (alreadyMember) return this.groupInfo(req, group.id, `You are already a member of this group.`);
    this.deps.notices.memberJoined(group, req.user, admins, req.activityId);
    // Built from what the join read: a join storm costs no extra reads for the welcome.
    return this.groupInfoOf(
      group,
      admins,
      false,
      `Welcome, ${inline(req.user.name)}! You joined **${markdownSafe(group.name)}**. What you type here now goes to the group.`,
    );
  }

  async askLeave(req: Requester, groupId: string): Promise<Reply> {
    const { group } = await this.deps.groups.getGroupAsMember(groupId, req.user.id);
    return cardReply(buildConfirmationCard(leaveConfirmation({ groupId, groupName: group.name })));
  }

  async leave(req: Requester, groupId: string): Promise<Reply> {
    try {
      await this.deps.groups.leave(groupId, req.user);
    } catch (err) {
      if (!(err instanceof LastAdminError)) throw err;
      const members = await this.members(req, groupId);
      return {
        text: 'You are the last admin of this group. Make someone else admin first (use **Make admin** below), then leave.',
        cards: members.cards,
      };
    }
    return textReply(`You left the group. You can join again with its invite link.`);
  }

  /** Asks first (issue 17): the card names who and from what; its button removes (removeMember). */
  async askRemove(req: Requester, groupId: string, memberId: string): Promise<Reply> {
    if (memberId === req.user.id) throw new InvalidInputError('To leave the group yourself, use "Leave group".');
    const { group, member } = await this.deps.groups.memberForAdmin(
      groupId,
      { user: req.user },
      memberId,
      'Only group admins can remove members.',
    );
    return cardReply(
      buildConfirmationCard(removeConfirmation({ groupId, groupName: group.name, userId: memberId, memberName: member.user.name })),
    );
  }

  async removeMember(req: Requester, groupId: string, memberId: string): Promise<Reply> {
    const { group, member } = await this.deps.groups.removeMember(groupId, { user: req.user }, memberId);
    await this.deps.onRemoved?.(groupId, memberId);
    this.deps.removalNotices?.memberRemoved(group, member, req.activityId);
    return this.members(req, groupId).then((r) => ({
      ...r,
      text: `Removed ${markdownSafe(member.user.name, 'the member')} from ${markdownSafe(group.name)}. They cannot rejoin until an admin lets them back in.`,
    }));
  }

  async allowMember(req: Requester, groupId: string, userId: string): Promise<Reply> {
    const ban = await this.deps.groups.allowMember(groupId, { user: req.user }, userId);
    return this.members(req, groupId).then((r) => ({
      ...r,
      text: `${markdownSafe(ban.user.name)} can join again with the group's invite link.`,
    }));
  }

  async makeAdmin(req: Requester, groupId: string, memberId: string): Promise<Reply> {
    const member = await this.deps.groups.makeAdmin(groupId, { user: req.user }, memberId);
    return this.members(req, groupId).then((r) => ({ ...r, text: `${markdownSafe(member.user.name, 'The member')} is now an admin.` }));
  }

  /** `remove admin` and the members card's button (issue 17): never the last admin (the domain refuses). */
  async removeAdmin(req: Requester, groupId: string, memberId: string): Promise<Reply> {
    const member = await this.deps.groups.removeAdmin(groupId, { user: req.user }, memberId);
    return this.members(req, groupId).then((r) => ({
      ...r,
      text: `${markdownSafe(member.user.name, 'The member')} is a member again, no longer an admin.`,
    }));
  }

  async askDelete(req: Requester, groupId: string): Promise<Reply> {
    const { group, member } = await this.deps.groups.getGroupAsMember(groupId, req.user.id);
    if (member.role !== 'admin') return textReply('Only group admins can delete the group.');
    return cardReply(buildConfirmationCard(deleteConfirmation({ groupId, groupName: group.name })));
  }

  async deleteGroup(req: Requester, groupId: string): Promise<Reply> {
    await this.deps.groups.deleteGroup(groupId, { user: req.user });
    await this.deps.onGroupDeleted?.(groupId);
    return textReply('The group is deleted. Its invite link no longer works.');
  }

  /**
   * A group named in a command: by id, by exact name, or by a unique part of the name, among the user's own
   * groups. With no name: the user's only group, or the list to pick from.
   */
  async resolveGroup(req: Requester, name: string): Promise<{ groupId: string } | { reply: Reply }> {
    const wanted = name.trim().toLowerCase();
    const groups: Group[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.deps.groups.listMyGroups(req.user.id, { pageSize: 100, continuationToken });
      groups.push(...page.items.map((g) => g.group));
      continuationToken = page.continuationToken;
    } while (continuationToken && groups.length < NAME_LOOKUP_LIMIT);

    if (groups.length === 0)
      return { reply: textReply("You aren't in any group yet. Type **new group** to create one, or **join** with an invite link.") };
    if (!wanted) {
      if (groups.length === 1) return { groupId: groups[0]!.id };
      return { reply: { text: 'Which group? Pick one:', cards: (await this.myGroups(req)).cards } };
    }
    const exact = groups.filter((g) => g.id === name.trim() || g.name.toLowerCase() === wanted);
    const partial = exact.length ? exact : groups.filter((g) => g.name.toLowerCase().includes(wanted));
    if (partial.length === 1) return { groupId: partial[0]!.id };
    if (partial.length === 0)
      return { reply: textReply(`You are not in a group called "${inline(name.trim())}". Type **my groups** to see yours.`) };
    return {
      reply: { text: `More than one of your groups matches "${inline(name.trim())}". Pick one:`, cards: (await this.myGroups(req)).cards },
    };
  }

  /**
   * A removed person named in `allow <member>`: by exact name, else a unique word start of it (as findMember).
   * Through the name index: a few storage requests whatever the group's size.
   */
  async findRemoved(req: Requester, groupId: string, name: string): Promise<Ban> {
    if (!name.trim()) throw new InvalidInputError('Say who may come back, for example: allow Ann Lee');
    const matches = await this.deps.groups.removedNamed(groupId, { user: req.user }, name);
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) throw new NotFoundError(`Nobody called "${name.trim()}" was removed from this group.`);
    throw new InvalidInputError(
      `More than one removed person matches "${name.trim()}". Use their full name, or the buttons on the members list.`,
    );
  }

  /**
   * A member named in `remove <member>` / `make admin <member>`: by exact name, else a unique word start of it
   * ("Lee", "ann m"). Through the name index: a few storage requests whatever the group's size.
   */
  async findMember(req: Requester, groupId: string, name: string): Promise<Member> {
    if (!name.trim()) throw new InvalidInputError('Say which member, for example: remove Ann Lee');
    const matches = await this.deps.groups.membersNamed(groupId, { user: req.user }, name);
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) throw new NotFoundError(`Nobody called "${name.trim()}" is a member of this group.`);
    throw new InvalidInputError(`More than one member matches "${name.trim()}". Use their full name, or the buttons on the members list.`);
  }
}

/**
 * A name inside bot-written Markdown text, through the one text policy (cards/text.ts `inline`): nothing in it
 * becomes a link, a mention or formatting. `fallback` stands in for a name that is empty.
 */
export function markdownSafe(text: string, fallback = 'the group'): string {
  return inline(text).trim() || fallback;
}
