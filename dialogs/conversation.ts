import {
  ActivityTypes,
  type AdaptiveCardInvokeResponse,
  type AdaptiveCardInvokeValue,
  type ConversationState,
  type InvokeResponse,
  type StatePropertyAccessor,
  type TurnContext,
} from 'botbuilder';
import { DialogSet, DialogTurnStatus, type DialogContext, type DialogState, type DialogTurnResult } from 'botbuilder-dialogs';
import type { Logger } from '../src/logger';
import type { TurnHandlers } from '../src/bot';
import { ForbiddenError, isAppError, type AppError, type AppErrorCode } from '../src/errors';
import { LastAdminError } from '../src/groups/groupService';
import { inline } from '../cards/text';
import { buildErrorCard, buildHelpCard, buildResolvedCard, buildWelcomeCard, errorInvokeResponse, messageInvokeResponse, toInvokeResponse } from '../cards';
import type { CardData, CardVerb } from '../cards/verbs';
import { helpEntries, helpTasks, splitMemberAndGroup, type CommandName } from './commands';
import { buildShortHelpCard } from '../cards/help';
import { isJoinRequest, readTurnInput, turnInputOf, type TurnInput } from './turnInput';
import { isUnmistakablyInvite } from '../src/groups/inviteSecrets';
import { CreateGroupDialog, CREATE_GROUP_DIALOG, type CreateGroupOptions } from './createGroupDialog';
import type { GroupActions, Requester } from './groupActions';
import { conversationRefOf, userFromActivity } from './identity';
import { textReply, type Reply } from './replies';
import type { MessageChangeKind, PostsFlow } from './postsFlow';

/** Step 3: sign-in and mapping, and the organization admin's commands. */
export interface OrganizationFlow {
  start(context: TurnContext, req: Requester, groupId: string): Promise<Reply>;
  onTokenExchange(context: TurnContext): Promise<InvokeResponse>;
  onVerifyState(context: TurnContext): Promise<InvokeResponse>;
  onSignInFailure(context: TurnContext): Promise<void>;
  orgGroups(context: TurnContext, req: Requester, continuationToken?: string): Promise<Reply>;
  exportGroup(context: TurnContext, req: Requester, groupId: string): Promise<Reply>;
  /** An organization admin removes a member from a group their organization owns. */
  removeMember(context: TurnContext, req: Requester, groupName: string, memberName: string): Promise<Reply>;
}

/** Step 4: the poster and email for a group. */
export interface DocumentsFlow {
  /** `poster` or `email`: owners first say who the documents are from; then each gives its own card. */
  documents(req: Requester, groupId: string, kind?: 'poster' | 'email'): Promise<Reply>;
  /** The details card's Save: keeps the sender, line and typed organization, then shows the documents. */
  saveDetails?(req: Requester, groupId: string, data: CardData): Promise<Reply>;
}

/** Limits repeated wrong invite links or codes per user (join codes are short enough to guess otherwise). */
export interface JoinAttemptLimiter {
  /** Throws RateLimitedError when this user has made too many failed attempts. */
  check(userId: string): Promise<void>;
  failed(userId: string): Promise<void>;
}

export interface ConversationDependencies {
  conversationState: ConversationState;
  logger: Logger;
  actions: GroupActions;
  createGroup: CreateGroupDialog;
  organization: OrganizationFlow;
  documents: DocumentsFlow;
  joinLimiter: JoinAttemptLimiter;
  /** True the first time for a conversation: Teams announces an install twice (installationUpdate and
   * conversationUpdate) and may redeliver either. */
  firstWelcome(conversationId: string): Promise<boolean>;
  /** Issue 10: the group's conversation (posting, switch, history, settings, mute, edits). */
  posts?: PostsFlow;
}

/** The dialogs of one turn, opened (and so saved) only when a dialog is running or starts. */
interface TurnDialogs {
  readonly activeDialog: boolean;
  continueDialog(): Promise<DialogTurnResult>;
  cancelAllDialogs(): Promise<void>;
  beginDialog(dialogId: string, options: object): Promise<void>;
}

/** For turns that never start or continue a dialog. */
const NO_DIALOGS: TurnDialogs = {
  activeDialog: false,
  continueDialog: () => Promise.reject(new Error('no dialogs in this turn')),
  cancelAllDialogs: async () => undefined,
  beginDialog: () => Promise.reject(new Error('no dialogs in this turn')),
};

/** The buttons of the create-group dialog's own questions. */
const DIALOG_VERBS: ReadonlySet<CardVerb> = new Set(['createGroup', 'skipPhoto']);

const CONFIRMATION_VERBS: ReadonlySet<CardVerb> = new Set(['confirmResetLink', 'confirmLeave', 'confirmDelete', 'cancel']);

/** Headings for the errors a user can cause: none of them is "something went wrong" on our side. */
const ERROR_TITLES: Record<AppErrorCode, string> = {
  invalid_input: 'Please check that',
  not_found: 'Not found',
  forbidden: 'Not allowed',
  conflict: 'Please try again',
  unauthenticated: 'Sign-in needed',
  rate_limited: 'Please wait a little',
  too_large: 'Too large',
};

const NOT_UNDERSTOOD = "Sorry, I didn't get that. Type **help** to see what I can do, or **new group** to start.";

/**
 * The conversation: reads what the user meant (a typed command, a card click either way, or an answer to a
 * question), lets an active dialog have it, and otherwise runs the command or card verb. Every path ends in a
 * Reply, so a click answers the same whether it came as Action.Submit (new message) or Action.Execute (the
 * card refreshed in place).
 */
export class Conversation implements TurnHandlers {
  private readonly dialogState: StatePropertyAccessor<DialogState>;
  private readonly dialogs: DialogSet;

  constructor(private readonly deps: ConversationDependencies) {
    this.dialogState = deps.conversationState.createProperty<DialogState>('dialogState');
    this.dialogs = new DialogSet(this.dialogState).add(deps.createGroup);
  }

  async onWelcome(context: TurnContext): Promise<void> {
    if (!(await this.deps.firstWelcome(context.activity.conversation.id))) return;
    await context.sendActivity({ attachments: [buildWelcomeCard({ userName: context.activity.from?.name })] });
  }

  async onMessage(context: TurnContext): Promise<void> {
    const input = turnInputOf(context);
    if (isJoinRequest(input)) {
      // "join us at 5" to a member with a current group is a post, not a join. A link or a dashed code can only
      // be a join (a wrong one gets "not valid", never posted to the group), and skipping the current-group read
      // keeps a join storm at its storage cost.
      const unmistakable = input.kind === 'command' && isUnmistakablyInvite(input.args);
      const posted = unmistakable ? undefined : await this.deps.posts?.tryPost(context, input);
      if (posted) return this.send(context, posted);
      // Answered without reading dialog state (see isJoinRequest); a question being asked stays open.
      await this.send(context, await this.replyTo(context, NO_DIALOGS, input));
      return;
    }
    const dc = await this.dialogContext(context);
    if (!dc.activeDialog) {
      // A member with a current group talks to it: what is not a command is a post.
      const posted = await this.deps.posts?.tryPost(context, input);
      if (posted) return this.send(context, posted);
    }
    if (dc.activeDialog) {
      if (isCancel(input)) {
        await dc.cancelAllDialogs();
        await context.sendActivity('Cancelled. Nothing was created.');
        return;
      }
      if (input.kind === 'command' && input.command === 'help' && !input.args) {
        await context.sendActivity({ attachments: [buildShortHelpCard({ tasks: helpTasks() })] });
        return;
      }
      if (!isInterruption(input)) {
        const result = await this.continueDialog(context, dc);
        if (result === undefined || result.status !== DialogTurnStatus.empty) return;
      } else {
        await dc.cancelAllDialogs();
      }
    }
    const reply = await this.replyTo(context, dc, input);
    await this.send(context, reply);
    if (input.kind === 'action') await this.retireConfirmation(context, input.verb);
  }

  /**
   * A confirmation card must not be clickable twice (a second "Reset link" would revoke the link just shared).
   * Action.Execute replaces the card with the answer; for Action.Submit the clicked card is updated in place.
   */
  private async retireConfirmation(context: TurnContext, verb: CardVerb): Promise<void> {
    const cardId = context.activity.replyToId;
    if (!cardId || !CONFIRMATION_VERBS.has(verb)) return;
    try {
      await context.updateActivity({ id: cardId, type: ActivityTypes.Message, attachments: [buildResolvedCard({ message: 'Done. See the answer below.' })] });
    } catch (err) {
      // Some clients do not allow updating a card; the domain guards against a repeated click anyway.
      this.deps.logger.info({ err: (err as Error).message, activityId: context.activity.id }, 'could not retire a confirmation card');
    }
  }

  async onCardAction(context: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
    const input = readTurnInput({ ...context.activity, type: ActivityTypes.Message, text: undefined, value });
    if (input.kind !== 'action') return errorInvokeResponse(input.kind === 'badAction' ? input.error : 'That button did not carry an action.');
    const dc = await this.dialogContext(context);
    if (dc.activeDialog) {
      // The create dialog's own buttons answer its question, as they do through Action.Submit.
      if (DIALOG_VERBS.has(input.verb)) {
        const result = await this.continueDialog(context, dc);
        if (result === undefined || result.status !== DialogTurnStatus.empty) return messageInvokeResponse('Got it.');
      } else {
        await dc.cancelAllDialogs();
      }
    }
    const reply = await this.replyTo(context, dc, input);
    const [first, ...rest] = reply.cards;
    if (rest.length) await context.sendActivity({ attachments: rest });
    if (first) {
      if (reply.text) await context.sendActivity(reply.text);
      return toInvokeResponse(first);
    }
    return messageInvokeResponse(reply.text ?? 'Done.');
  }

  /** Continues the dialog; a typed error from it (a refused photo link, say) is shown, not thrown. */
  private async continueDialog(context: TurnContext, dc: TurnDialogs): Promise<DialogTurnResult | undefined> {
    try {
      return await dc.continueDialog();
    } catch (err) {
      if (!isAppError(err)) throw err;
      await this.send(context, this.refusal(context, err));
      return undefined;
    }
  }

  /**
   * A dialog context that only touches conversation state when there is a dialog: one-shot commands (a join in
   * a storm of thousands) then neither create nor save dialog state.
   */
  private async dialogContext(context: TurnContext): Promise<TurnDialogs> {
    const existing = await this.dialogState.get(context);
    const activeDialog = Boolean(existing?.dialogStack?.length);
    let dc: DialogContext | undefined;
    const open = async () => (dc ??= await this.dialogs.createContext(context));
    return {
      activeDialog,
      continueDialog: async () => (await open()).continueDialog(),
      cancelAllDialogs: async () => {
        if (activeDialog) await (await open()).cancelAllDialogs();
      },
      beginDialog: async (dialogId, options) => {
        await (await open()).beginDialog(dialogId, options);
      },
    };
  }

  /** Teams' messageUpdate / messageDelete for a message the user sent the bot. */
  async onMessageChange(context: TurnContext, kind: MessageChangeKind): Promise<void> {
    await this.deps.posts?.onMessageChange(context, kind);
  }

  onTokenExchange(context: TurnContext): Promise<InvokeResponse> {
    return this.deps.organization.onTokenExchange(context);
  }

  onVerifyState(context: TurnContext): Promise<InvokeResponse> {
    return this.deps.organization.onVerifyState(context);
  }

  onSignInFailure(context: TurnContext): Promise<void> {
    return this.deps.organization.onSignInFailure(context);
  }

  /**
   * Runs the input; a typed error becomes its friendly card (the answer, in the chat or as the refreshed card),
   * anything else goes to onTurnError.
   */
  private async replyTo(context: TurnContext, dc: TurnDialogs, input: TurnInput): Promise<Reply> {
    try {
      return await this.dispatch(context, dc, input);
    } catch (err) {
      if (!isAppError(err)) throw err;
      return this.refusal(context, err);
    }
  }

  private refusal(context: TurnContext, err: AppError): Reply {
    this.deps.logger.info({ activityId: context.activity.id, code: err.code }, 'request refused');
    return { cards: [buildErrorCard({ title: ERROR_TITLES[err.code], message: err.userMessage })] };
  }

  private async dispatch(context: TurnContext, dc: TurnDialogs, input: TurnInput): Promise<Reply> {
    switch (input.kind) {
      case 'command':
        return this.command(context, dc, input.command, input.args);
      case 'action':
        return this.action(context, dc, input.verb, input.data);
      case 'badAction':
        return textReply(`That button did not work: ${inline(input.error, 300)}`);
      case 'text':
      case 'empty':
        return textReply(NOT_UNDERSTOOD);
    }
  }

  private requester(context: TurnContext): Requester {
    const activity = context.activity;
    return {
      user: userFromActivity(activity),
      conversationRef: conversationRefOf(activity),
      activityId: activity.id ?? '',
      scope: { conversationId: textOrUndefined(activity.conversation?.id), tenantId: textOrUndefined(activity.conversation?.tenantId ?? activity.channelData?.tenant?.id) },
    };
  }

  private async command(context: TurnContext, dc: TurnDialogs, command: CommandName, args: string): Promise<Reply> {
    const req = this.requester(context);
    const actions = this.deps.actions;
    const posts = this.deps.posts;
    const withGroup = async (name: string, run: (groupId: string) => Promise<Reply>): Promise<Reply> => {
      // Without a name: the member's current group, when they have one.
      const resolved = posts ? await posts.groupFor(req, name) : await actions.resolveGroup(req, name);
      return 'reply' in resolved ? resolved.reply : run(resolved.groupId);
    };
    switch (command) {
      case 'help':
        return { cards: [buildShortHelpCard({ tasks: helpTasks() })] };
      case 'cancel':
        return textReply('There is nothing to cancel.');
      case 'newGroup':
        await dc.beginDialog(CREATE_GROUP_DIALOG, { name: args || undefined } satisfies CreateGroupOptions);
        return { cards: [] };
      case 'myGroups':
        return actions.myGroups(req);
      case 'groupInfo':
        return withGroup(args, (id) => actions.groupInfo(req, id));
      case 'invite':
        return withGroup(args, (id) => actions.invite(req, id));
      case 'join':
        return this.join(req, args);
      case 'members':
        return withGroup(args, (id) => actions.members(req, id));
      case 'leave':
        // Asks first; the confirmation card's button leaves.
        return withGroup(args, (id) => actions.askLeave(req, id));
      case 'remove': {
        const { member, group } = splitMemberAndGroup(args, 'from');
        const resolved = await actions.resolveGroup(req, group ?? '');
        // Not one of the user's groups, or not their admin: an organization admin may still remove people
        // from any group the organization owns (after signing in).
        if ('reply' in resolved) return group ? this.deps.organization.removeMember(context, req, group, member) : resolved.reply;
        try {
          return await actions.removeMember(req, resolved.groupId, (await actions.findMember(req, resolved.groupId, member)).user.id);
        } catch (err) {
          if (group && err instanceof ForbiddenError && !(err instanceof LastAdminError)) return this.deps.organization.removeMember(context, req, group, member);
          throw err;
        }
      }
      case 'allow': {
        const { member, group } = splitMemberAndGroup(args, 'in');
        return withGroup(group ?? '', async (id) => actions.allowMember(req, id, (await actions.findRemoved(req, id, member)).user.id));
      }
      case 'makeAdmin': {
        const { member, group } = splitMemberAndGroup(args, 'in');
        return withGroup(group ?? '', async (id) => actions.makeAdmin(req, id, (await actions.findMember(req, id, member)).user.id));
      }
      case 'resetLink':
        return withGroup(args, (id) => actions.askResetLink(req, id));
      case 'addToOrganization':
        return withGroup(args, (id) => this.deps.organization.start(context, req, id));
      case 'orgGroups':
        return this.deps.organization.orgGroups(context, req);
      case 'export':
        return this.deps.organization.exportGroup(context, req, args);
      case 'poster':
      case 'email':
        return withGroup(args, (id) => this.deps.documents.documents(req, id, command));
      case 'switch':
        return posts ? posts.switchGroup(req, args) : textReply(NOT_UNDERSTOOD);
      case 'open':
        return withGroup(args, (id) => (posts ? posts.open(req, id) : actions.groupInfo(req, id)));
      case 'history':
        return posts ? withGroup(args, (id) => posts.history(req, id)) : textReply(NOT_UNDERSTOOD);
      case 'settings':
        return posts ? withGroup(args, (id) => posts.settings(req, id)) : textReply(NOT_UNDERSTOOD);
      case 'mute':
      case 'unmute':
        return posts ? withGroup(args, (id) => posts.mute(req, id, command === 'mute')) : textReply(NOT_UNDERSTOOD);
    }
  }

  private async action(context: TurnContext, dc: TurnDialogs, verb: CardVerb, data: CardData): Promise<Reply> {
    const req = this.requester(context);
    const actions = this.deps.actions;
    const groupId = String(data.groupId ?? '');
    const token = typeof data.continuationToken === 'string' ? data.continuationToken : undefined;
    const userId = String(data.userId ?? '');
    switch (verb) {
      case 'help':
        // The short card's "All commands" button asks for the details.
        return { cards: [data.details === true ? buildHelpCard({ commands: helpEntries() }) : buildShortHelpCard({ tasks: helpTasks() })] };
      case 'cancel':
        return textReply('Cancelled. Nothing was changed.');
      case 'createGroup':
        await dc.beginDialog(CREATE_GROUP_DIALOG, {} satisfies CreateGroupOptions);
        return { cards: [] };
      case 'skipPhoto':
        return textReply('That question was already answered. Type **new group** to create another group.');
      case 'myGroups':
      case 'myGroupsPage':
        return actions.myGroups(req, token);
      case 'showGroupInfo':
        return actions.groupInfo(req, groupId);
      case 'showInvite':
        return actions.invite(req, groupId);
      case 'resetLink':
        return actions.askResetLink(req, groupId);
      case 'confirmResetLink':
        return actions.resetLink(req, groupId, typeof data.linkTag === 'string' ? data.linkTag : undefined);
      case 'showMembers':
      case 'membersPage':
        return actions.members(req, groupId, token);
      case 'leaveGroup':
        return actions.askLeave(req, groupId);
      case 'confirmLeave':
        return actions.leave(req, groupId);
      case 'removeMember':
        return actions.removeMember(req, groupId, userId);
      case 'allowMember':
        return actions.allowMember(req, groupId, userId);
      case 'makeAdmin':
        return actions.makeAdmin(req, groupId, userId);
      case 'deleteGroup':
        return actions.askDelete(req, groupId);
      case 'confirmDelete':
        return actions.deleteGroup(req, groupId);
      case 'joinGroup':
        return this.join(req, String(data.inviteCode ?? data.token ?? ''));
      case 'addToOrganization':
        return this.deps.organization.start(context, req, groupId);
      case 'orgGroupsPage':
        return this.deps.organization.orgGroups(context, req, token);
      case 'exportGroup':
        return this.deps.organization.exportGroup(context, req, groupId);
      case 'poster':
      case 'email':
        return this.deps.documents.documents(req, groupId, verb);
      case 'saveDocumentDetails':
        return this.deps.documents.saveDetails ? this.deps.documents.saveDetails(req, groupId, data) : this.deps.documents.documents(req, groupId, data.kind === 'email' ? 'email' : 'poster');
      case 'replyToPost':
      case 'openGroup':
      case 'deletePost':
      case 'switchGroup':
      case 'historyPage':
      case 'saveSettings':
        return this.postAction(context, req, verb, data);
    }
  }

  private async postAction(context: TurnContext, req: Requester, verb: CardVerb, data: CardData): Promise<Reply> {
    const posts = this.deps.posts;
    if (!posts) return textReply('That button does not work here.');
    const groupId = String(data.groupId ?? '');
    const seq = Number(data.seq);
    switch (verb) {
      case 'replyToPost':
        return posts.reply(context, groupId, seq, typeof data.replyText === 'string' ? data.replyText : '');
      case 'openGroup':
        return posts.open(req, groupId);
      case 'deletePost':
        return posts.deletePost(req, groupId, seq);
      case 'switchGroup':
        return posts.switchTo(req, groupId);
      case 'historyPage':
        return posts.history(req, groupId, Number.isInteger(Number(data.before)) ? Number(data.before) : undefined);
      case 'saveSettings':
        return posts.saveSettings(req, groupId, data);
      default:
        return textReply('That button does not work here.');
    }
  }

  private async join(req: Requester, reference: string): Promise<Reply> {
    await this.deps.joinLimiter.check(req.user.id);
    try {
      return await this.deps.actions.join(req, reference);
    } catch (err) {
      // Only wrong links and codes count against the limit, not a join refused for another reason.
      if (isAppError(err) && (err.code === 'not_found' || err.code === 'invalid_input')) {
        await this.deps.joinLimiter.failed(req.user.id);
      }
      throw err;
    }
  }

  /** One activity for the text and its cards: one connector call, and Teams shows the text above the cards. */
  private async send(context: TurnContext, reply: Reply): Promise<void> {
    if (!reply.text && !reply.cards.length) return;
    await context.sendActivity({ type: ActivityTypes.Message, ...(reply.text ? { text: reply.text } : {}), ...(reply.cards.length ? { attachments: reply.cards } : {}) });
  }
}

function textOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function isCancel(input: TurnInput): boolean {
  return (input.kind === 'command' && input.command === 'cancel') || (input.kind === 'action' && input.verb === 'cancel');
}

/**
 * While a dialog asks a question, typed text is the answer ("Invite Team" is a fine group name). Only a
 * deliberate command (typed with "/") or a click on another card's button starts something else.
 */
function isInterruption(input: TurnInput): boolean {
  if (input.kind === 'command') return input.slash;
  if (input.kind === 'action') return !DIALOG_VERBS.has(input.verb);
  return false;
}
