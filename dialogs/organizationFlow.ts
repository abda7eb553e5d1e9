import type { InvokeResponse, TurnContext, UserState } from 'botbuilder';
import type { UserTokenClient } from 'botframework-connector';
import type { Logger } from '../src/logger';
import type { GroupService } from '../src/groups/groupService';
import type { EntraTokenVerifier, VerifiedUser } from '../src/auth/entraTokenVerifier';
import { TeamsSsoExchange, type ExchangeDedup } from '../src/auth/tokenExchange';
import { signInDomain, type OrganizationDirectory } from '../src/auth/organizationDirectory';
import { isAppError } from '../src/errors';
import { buildConfirmationCard, buildErrorCard, buildOrgGroupsCard, provenInline, provenName, removeConfirmation } from '../cards';
import type { OrganizationFlow } from '../src/teams/conversation';
import { markdownSafe, type RemovalNotices, type Requester } from '../src/teams/handlers/groupActions';
import { inline } from '../cards/text';
import type { Group } from '../src/groups/model';
import { nameKey } from '../src/groups/memberNames';
import { userFromActivity } from '../src/teams/input/identity';
import { cardReply, followedBy, textReply, type Reply } from '../src/teams/replies';
import {
  AddToOrganizationDialog,
  OrganizationSignIn,
  type OrgAdminRequest,
  type SignInRequest as PendingSignIn,
} from './addToOrganizationDialog';
import { silentSignIn, userTokenClientOf } from './signInPrompt';

/** The app role that makes someone an organization admin (Entra app roles appear in the token's `roles`). */
export const ORG_ADMIN_ROLE = 'OrgAdmin';

export interface OrganizationFlowDependencies {
  groups: GroupService;
  userState: UserState;
  logger: Logger;
  /** Absent when SSO is not configured (no app id or no OAuth connection): step 3 explains instead. */
  sso?: {
    connectionName: string;
    /** Insert-only claims: one copy of a fanned-out exchange proceeds. */
    dedup: ExchangeDedup;
    verifier: EntraTokenVerifier;
    directory: OrganizationDirectory;
  };
  orgAdminObjectIds: readonly string[];
  /** Signed download links for an organization admin's export. */
  exportLinks(groupId: string, admin: VerifiedUser): { jsonUrl: string; csvUrl: string; expiresAt: Date };
  /** Issue 10: after an organization admin's removal (the app deletes the copies delivered to that member). */
  onRemoved?(groupId: string, userId: string): Promise<void>;
  /** Issue 17: the removed member is told, as when a group admin removes them. */
  removalNotices?: RemovalNotices;
  /** Issue 18: `add people <group>`'s card for a group (bulk add's, the same for organization admins); absent: no bulk add. */
  addPeopleCard?(group: Group): Reply;
}

const ADD_PEOPLE_NOT_ALLOWED = 'Only admins of the group, and organization admins for their organization’s groups, can add people.';

const REMOVE_NOT_ALLOWED = 'Only group admins and organization admins can remove members. You are not allowed to do this.';

const NOT_CONFIGURED =
  'Adding a group to an organization needs Microsoft 365 sign-in, which is not set up for this bot yet. ' +
  'Ask your IT admin to set up single sign-on for the bot (see "Single sign-on" in the README).';

/**
 * Step 3: "Add to organization". The user is signed in with Teams SSO (the sign-in card as fallback); the
 * group is then mapped to the tenant of the VERIFIED token, never to the tenant an activity claims. The same
 * sign-in gates the organization admin's commands. The multi-turn part (sign in, then map) is the dialog in
 * dialogs/addToOrganizationDialog.ts; here are the checks before it, the sign-in invokes that verify and hand it
 * the sign-in, and the organization admin's commands.
 */
export class OrganizationSignInFlow implements OrganizationFlow {
  /** The sign-in conversation (dialogs/addToOrganizationDialog.ts); absent without SSO. */
  private readonly signIn?: OrganizationSignIn;

  constructor(private readonly deps: OrganizationFlowDependencies) {
    const { sso, groups, logger } = deps;
    const orgAdmin = (context: TurnContext, request: OrgAdminRequest, user: VerifiedUser) => this.run(context, request, user);
    if (sso) this.signIn = new OrganizationSignIn(deps.userState, new AddToOrganizationDialog({ groups, sso, logger, orgAdmin }));
  }

  async start(context: TurnContext, req: Requester, groupId: string): Promise<Reply> {
    const { group, member } = await this.deps.groups.getGroupAsMember(groupId, req.user.id);
    if (member.role !== 'admin') return textReply('Only group admins can add the group to an organization.');
    if (group.tenantId)
      return textReply(
        `This group is already owned by ${group.organizationName ? provenInline(provenName(group.organizationName)) : 'an organization'}. Mapping is one-way.`,
      );
    return this.withSignIn(context, { kind: 'map', groupId, requestedAt: new Date().toISOString() });
  }

  async orgGroups(context: TurnContext, _req: Requester, continuationToken?: string): Promise<Reply> {
    const signedIn = await this.silentUser(context);
    if (!signedIn) return this.withSignIn(context, { kind: 'orgGroups', requestedAt: new Date().toISOString() });
    return this.listOrgGroups(signedIn.user, continuationToken);
  }

  /**
   * The name is checked against the groups the signed-in admin may export. Typed with a current group, `postIt`
   * offers to post the message instead: beside the sign-in card, or when the name finds nothing.
   */
  async exportGroup(context: TurnContext, _req: Requester, groupName: string, postIt?: Reply): Promise<Reply> {
    const signedIn = await this.silentUser(context);
    if (!signedIn)
      return followedBy(await this.withSignIn(context, { kind: 'export', groupName, requestedAt: new Date().toISOString() }), postIt);
    return this.exportFor(signedIn.user, groupName, postIt);
  }

  /** An organization admin removes someone from any group their organization owns. */
  async removeMember(context: TurnContext, _req: Requester, groupName: string, memberName: string): Promise<Reply> {
    // Without sign-in nobody can prove to be an organization admin: only group admins remove people.
    if (!this.deps.sso) return textReply('Only group admins can remove members.');
    const pending: PendingSignIn = { kind: 'remove', groupName, memberName, requestedAt: new Date().toISOString() };
    const signedIn = await this.silentUser(context);
    if (!signedIn) return this.withSignIn(context, pending);
    return this.removeAsOrgAdmin(context, signedIn.user, groupName, memberName);
  }

  async orgAdminTenant(context: TurnContext): Promise<string | undefined> {
    const signedIn = await this.silentUser(context);
    return signedIn && this.isOrgAdmin(signedIn.user) ? signedIn.user.tenantId.toLowerCase() : undefined;
  }

  /**
   * `add people <group>` naming none of the user's groups: an organization admin adds people to any group of
   * their organization. A sign-in first only when the chat's organization has a group of that name (anyone
   * else mistyping a group gets `notFound`, not a sign-in card); the verified sign-in then decides.
   */
  async addPeople(context: TurnContext, req: Requester, groupName: string, notFound: Reply): Promise<Reply> {
    if (!this.deps.sso || !this.deps.addPeopleCard) return notFound;
    const signedIn = await this.silentUser(context);
    if (signedIn) return this.addPeopleFor(signedIn.user, groupName, notFound);
    const tenantId = req.scope?.tenantId?.toLowerCase();
    if (!tenantId || !(await this.orgGroupNamed(tenantId, groupName))) return notFound;
    return this.withSignIn(context, { kind: 'addPeople', groupName, requestedAt: new Date().toISOString() });
  }

  private async addPeopleFor(user: VerifiedUser, groupName: string, notFound?: Reply): Promise<Reply> {
    if (!this.isOrgAdmin(user)) return notFound ?? textReply(ADD_PEOPLE_NOT_ALLOWED);
    const group = await this.findOrgGroup(user, groupName);
    if (!group)
      return notFound ?? textReply(`Your organization has no group called "${inline(groupName.trim())}". Type **org groups** to see them.`);
    return this.deps.addPeopleCard!(group);
  }

  async onTokenExchange(context: TurnContext): Promise<InvokeResponse> {
    const sso = this.deps.sso;
    if (!sso) return { status: 412, body: { failureDetail: NOT_CONFIGURED } };
    const activity = context.activity;
    const client = this.userTokenClient(context);
    const exchange = new TeamsSsoExchange({
      dedup: sso.dedup,
      verifier: sso.verifier,
      connectionName: sso.connectionName,
      logger: this.deps.logger,
      exchange: (userId, connectionName, token, channelId) => client.exchangeToken(userId, connectionName, channelId, { token }),
    });
    const result = await exchange.handle({
      channelId: activity.channelId,
      conversationId: activity.conversation.id,
      userId: activity.from.id,
      value: activity.value,
      activityTenantId: activity.conversation.tenantId ?? activity.channelData?.tenant?.id,
    });
    if (result.status === 400) return { status: 400 };
    if (result.status === 412) return { status: 412, body: result.body };
    if (result.duplicate) return { status: 200 };
    const token = String((activity.value as { token?: string }).token);
    await this.complete(context, result.user, token, String((activity.value as { id?: string }).id ?? activity.id));
    return { status: 200 };
  }

  async onVerifyState(context: TurnContext): Promise<InvokeResponse> {
    const sso = this.deps.sso;
    if (!sso) return { status: 200 };
    const code = String((context.activity.value as { state?: string } | undefined)?.state ?? '');
    // A redelivered verifyState must not complete the pending request twice.
    if (!(await sso.dedup.tryClaim(`verifyState/${context.activity.conversation.id}/${code}`))) return { status: 200 };
    const response = await this.userTokenClient(context)
      .getUserToken(context.activity.from.id, sso.connectionName, context.activity.channelId, code)
      .catch(() => undefined);
    if (!response?.token) {
      await context.sendActivity('The sign-in did not complete. Please try again.');
      return { status: 200 };
    }
    const user = await sso.verifier.verify(response.token).catch(() => undefined);
    if (!user) {
      await context.sendActivity('The sign-in could not be verified. Please try again.');
      return { status: 200 };
    }
    await this.complete(context, user, response.token, `verify:${context.activity.id}`);
    return { status: 200 };
  }

  async onSignInFailure(context: TurnContext): Promise<void> {
    const value = (context.activity.value ?? {}) as { code?: string; message?: string };
    this.deps.logger.warn({ code: value.code, activityId: context.activity.id }, 'Teams reported an SSO failure');
    const explanation =
      value.code === 'resourcematchfailed'
        ? "Teams could not sign you in because the bot's single sign-on settings do not match its app registration. An IT admin needs to fix the app's Application ID URI."
        : 'Teams could not sign you in silently. Use the Sign in button on the card to continue.';
    await context.sendActivity(explanation);
  }

  // ---- internals -----------------------------------------------------------------------------------------

  private async withSignIn(context: TurnContext, pending: PendingSignIn): Promise<Reply> {
    if (!this.signIn) return textReply(NOT_CONFIGURED);
    return this.signIn.begin(context, pending);
  }

  /** The user's token from the Token Service when they signed in before (no card needed). */
  private async silentUser(context: TurnContext): Promise<{ user: VerifiedUser; token: string } | undefined> {
    return this.deps.sso ? silentSignIn(context, this.deps.sso) : undefined;
  }

  private async complete(context: TurnContext, user: VerifiedUser, token: string, idempotencyKey: string): Promise<void> {
    const reply = await this.signIn!.resume(context, { user, token, idempotencyKey }).catch(async (err: unknown): Promise<Reply> => {
      if (!isAppError(err)) throw err;
      return { cards: [buildErrorCard({ message: err.userMessage })] };
    });
    if (reply.text) await context.sendActivity(reply.text);
    if (reply.cards.length) await context.sendActivity({ attachments: reply.cards });
  }

  /** An organization admin's request, once signed in (mapping a group is the dialog's own step). */
  private async run(context: TurnContext, pending: OrgAdminRequest, user: VerifiedUser): Promise<Reply> {
    switch (pending.kind) {
      case 'orgGroups':
        return this.listOrgGroups(user);
      case 'export':
        return this.exportFor(user, pending.groupName);
      case 'remove':
        return this.removeAsOrgAdmin(context, user, pending.groupName, pending.memberName);
      case 'addPeople':
        return this.addPeopleFor(user, pending.groupName);
    }
  }

  private isOrgAdmin(user: VerifiedUser): boolean {
    return user.roles.includes(ORG_ADMIN_ROLE) || this.deps.orgAdminObjectIds.some((id) => id.toLowerCase() === user.objectId);
  }

  private async listOrgGroups(user: VerifiedUser, continuationToken?: string): Promise<Reply> {
    if (!this.isOrgAdmin(user))
      return textReply('Only organization admins can see all of the organization’s groups. You are not allowed to do this.');
    const page = await this.deps.groups.listOrgGroups(user.tenantId, { pageSize: 20, continuationToken });
    return {
      cards: [
        buildOrgGroupsCard({
          // The name the mapping stored; before any group is mapped, the domain the admin's sign-in verified.
          organizationName: provenName(page.items[0]?.organizationName ?? signInDomain(user)),
          groups: page.items.map((g) => ({
            groupId: g.id,
            name: g.name,
            memberCount: g.memberCount,
            mappedBy: g.mappedBy?.name,
            mappedAt: g.mappedAt ? new Date(g.mappedAt) : undefined,
          })),
          continuationToken: page.continuationToken,
        }),
      ],
    };
  }

  private async exportFor(user: VerifiedUser, groupNameOrId: string, postIt?: Reply): Promise<Reply> {
    if (!this.isOrgAdmin(user))
      return followedBy(textReply('Only organization admins can export a group. You are not allowed to do this.'), postIt);
    if (!groupNameOrId.trim()) return textReply('Say which group, for example: export Field Sales North');
    const match = await this.findOrgGroup(user, groupNameOrId);
    if (!match)
      return followedBy(
        textReply(`Your organization has no group called "${inline(groupNameOrId.trim())}". Type **org groups** to see them.`),
        postIt,
      );
    const links = this.deps.exportLinks(match.id, user);
    return textReply(
      `Export of **${markdownSafe(match.name)}**: [members and history as JSON](${links.jsonUrl}) · [as CSV](${links.csvUrl}). The links work for one hour.`,
    );
  }

  /**
   * The confirmation card's Remove pressed by someone who is not an admin of the group: an organization admin of
   * its owner may remove (signed in, silently: the card was answered after a sign-in).
   */
  async confirmRemove(context: TurnContext, _req: Requester, groupId: string, memberId: string): Promise<Reply> {
    const signedIn = await this.silentUser(context);
    if (!signedIn || !this.isOrgAdmin(signedIn.user)) return textReply(REMOVE_NOT_ALLOWED);
    const actor = { user: userFromActivity(context.activity), orgAdminOfTenant: signedIn.user.tenantId };
    const { group, member } = await this.deps.groups.removeMember(groupId, actor, memberId);
    await this.deps.onRemoved?.(groupId, memberId);
    this.deps.removalNotices?.memberRemoved(group, member, context.activity.id ?? '');
    this.deps.logger.info({ groupId, tenantId: signedIn.user.tenantId }, 'organization admin removed a member');
    return textReply(`${markdownSafe(member.user.name, 'The member')} was removed from **${markdownSafe(group.name)}**.`);
  }

  /** Finds the member in a group of the admin's organization and asks first (issue 17); confirmRemove removes. */
  private async removeAsOrgAdmin(context: TurnContext, user: VerifiedUser, groupName: string, memberName: string): Promise<Reply> {
    if (!this.isOrgAdmin(user)) return textReply(REMOVE_NOT_ALLOWED);
    const group = await this.findOrgGroup(user, groupName);
    if (!group) return textReply(`Your organization has no group called "${inline(groupName.trim())}". Type **org groups** to see them.`);
    const actor = { user: userFromActivity(context.activity), orgAdminOfTenant: user.tenantId };
    // The whole name (or the id), through the group's name index: never the member list.
    const wanted = nameKey(memberName);
    const member = (await this.deps.groups.membersNamed(group.id, actor, memberName)).find(
      (m) => nameKey(m.user.name) === wanted || m.user.id === memberName.trim(),
    );
    if (member) {
      const confirmation = removeConfirmation({
        groupId: group.id,
        groupName: group.name,
        userId: member.user.id,
        memberName: member.user.name,
      });
      return cardReply(buildConfirmationCard(confirmation));
    }
    return textReply(`Nobody called "${inline(memberName.trim())}" is a member of ${markdownSafe(group.name)}.`);
  }

  /** A group the user's organization owns, by id or exact name. */
  private findOrgGroup(user: VerifiedUser, groupNameOrId: string): Promise<Group | undefined> {
    return this.orgGroupNamed(user.tenantId, groupNameOrId);
  }

  private async orgGroupNamed(tenantId: string, groupNameOrId: string): Promise<Group | undefined> {
    const wanted = groupNameOrId.trim().toLowerCase();
    let continuationToken: string | undefined;
    do {
      const page = await this.deps.groups.listOrgGroups(tenantId, { pageSize: 100, continuationToken });
      const match = page.items.find((g) => g.id === groupNameOrId.trim() || g.name.toLowerCase() === wanted);
      if (match) return match;
      continuationToken = page.continuationToken;
    } while (continuationToken);
    return undefined;
  }

  private userTokenClient(context: TurnContext): UserTokenClient {
    return userTokenClientOf(context);
  }
}
