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
import type { Logger } from '../logger';
import type { TurnHandlers } from './bot';
import { appErrorIn, StalePageError, type AppError, type AppErrorCode } from '../errors';
import { inline } from '../../cards/text';
import {
  buildErrorCard,
  buildResolvedCard,
  buildWelcomeCard,
  errorInvokeResponse,
  messageInvokeResponse,
  toInvokeResponse,
} from '../../cards';
import type { CardData, CardVerb } from '../../cards/verbs';
import { closestCommand, helpEntries, helpTasks } from './input/commands';
import { commandHandler, isIdempotentRequest, NOT_UNDERSTOOD, verbHandler, type HandlerContext } from './handlers/handlers';
import { buildShortHelpCard } from '../../cards/help';
import { readTurnInput, turnInputOf, type TurnInput } from './input/turnInput';
import { isUnmistakablyInvite } from '../groups/inviteSecrets';
import { CREATE_GROUP_DIALOG, type CreateGroupDialog } from '../../dialogs/createGroupDialog';
import { createDialogContext } from '../../dialogs/dialogContexts';
import type { GroupActions, Requester } from './handlers/groupActions';
import { conversationRefOf, userFromActivity } from './input/identity';
import { textReply, type Reply } from './replies';
import type { MessageChangeKind, PostsFlow, TypedOutcome } from './handlers/postsFlow';
import type { BulkAddFlow } from './handlers/bulkAddFlow';
import type { ActionsFlow } from './handlers/actionsFlow';

/** Step 3: sign-in and mapping, and the organization admin's commands. */
export interface OrganizationFlow {
  start(context: TurnContext, req: Requester, groupId: string): Promise<Reply>;
  onTokenExchange(context: TurnContext): Promise<InvokeResponse>;
  onVerifyState(context: TurnContext): Promise<InvokeResponse>;
  onSignInFailure(context: TurnContext): Promise<void>;
  orgGroups(context: TurnContext, req: Requester, continuationToken?: string): Promise<Reply>;
  /** `postIt`: the typed message's Post it offer, shown when the name finds no group (or a sign-in comes first). */
  exportGroup(context: TurnContext, req: Requester, groupId: string, postIt?: Reply): Promise<Reply>;
  /** An organization admin removes a member from a group their organization owns. */
  removeMember(context: TurnContext, req: Requester, groupName: string, memberName: string): Promise<Reply>;
  /** The remove confirmation's button pressed by an organization admin who is not an admin of the group. */
  confirmRemove(context: TurnContext, req: Requester, groupId: string, memberId: string): Promise<Reply>;
  /** The tenant of an organization admin signed in already (silently; never a prompt); undefined otherwise. */
  orgAdminTenant?(context: TurnContext): Promise<string | undefined>;
  /**
   * `add people <group>` naming none of the user's groups: for an organization admin, a group of their
   * organization (a sign-in first when it may be one); `notFound` for anyone else.
   */
  addPeople?(context: TurnContext, req: Requester, groupName: string, notFound: Reply): Promise<Reply>;
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
  /** Issue 18: `add people` from a pasted list. */
  bulkAdd?: BulkAddFlow;
  /** Issue 19: announcements and polls. */
  announcements?: ActionsFlow;
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

/**
 * The conversation: reads what the user meant (a typed command, a card click either way, or an answer to a
 * question), lets an active dialog have it, and otherwise runs the command's or card verb's entry of the
 * handler table (src/teams/handlers/handlers.ts). Every path ends in a
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
    if (isIdempotentRequest(input)) {
      // "join us at 5" to a member with a current group is a post, not a join. A link or a dashed code can only
      // be a join (a wrong one gets "not valid", never posted to the group), and skipping the current-group read
      // keeps a join storm at its storage cost.
      const unmistakable = input.kind === 'command' && isUnmistakablyInvite(input.args);
      const typed = unmistakable ? undefined : await this.deps.posts?.tryPost(context, input);
      if (typed?.kind === 'answered') return this.send(context, typed.reply);
      // Answered without reading dialog state (see isIdempotentRequest); a question being asked stays open.
      const reply = await this.replyTo(context, NO_DIALOGS, input, postItOf(typed));
      if (input.kind === 'action' && (await this.replaceClickedCard(context, input.verb, reply))) return;
      await this.send(context, reply);
      return;
    }
    const dc = await this.dialogContext(context);
    // A member with a current group talks to it: what is not a command is a post.
    const typed = dc.activeDialog ? undefined : await this.deps.posts?.tryPost(context, input);
    if (typed?.kind === 'answered') return this.send(context, typed.reply);
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
    const reply = await this.replyTo(context, dc, input, postItOf(typed));
    if (input.kind === 'action' && (await this.replaceClickedCard(context, input.verb, reply))) return;
    await this.send(context, reply);
    if (input.kind === 'action') await this.retireConfirmation(context, input.verb);
  }

  /**
   * An entry with `replacesCard` answered an Action.Submit click: its card takes the clicked card's place (and
   * its line, if any, is sent). False when there is no clicked card or it cannot be updated: then it is sent.
   */
  private async replaceClickedCard(context: TurnContext, verb: CardVerb, reply: Reply): Promise<boolean> {
    const cardId = context.activity.replyToId;
    const [first, ...rest] = reply.cards;
    if (!cardId || !first || rest.length || !verbHandler(verb).replacesCard) return false;
    try {
      await context.updateActivity({ id: cardId, type: ActivityTypes.Message, attachments: [first] });
    } catch (err) {
      this.deps.logger.info({ err: (err as Error).message, activityId: context.activity.id }, 'could not replace a clicked card');
      return false;
    }
    if (reply.text) await context.sendActivity(reply.text);
    return true;
  }

  /**
   * A confirmation card must not be clickable twice (a second "Reset link" would revoke the link just shared).
   * Action.Execute replaces the card with the answer; for Action.Submit the clicked card is updated in place.
   */
  private async retireConfirmation(context: TurnContext, verb: CardVerb): Promise<void> {
    const cardId = context.activity.replyToId;
    if (!cardId || !verbHandler(verb).confirmation) return;
    try {
      await context.updateActivity({
        id: cardId,
        type: ActivityTypes.Message,
        attachments: [buildResolvedCard({ message: 'Done. See the answer below.' })],
      });
    } catch (err) {
      // Some clients do not allow updating a card; the domain guards against a repeated click anyway.
      this.deps.logger.info({ err: (err as Error).message, activityId: context.activity.id }, 'could not retire a confirmation card');
    }
  }

  async onCardAction(context: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
    const input = readTurnInput({ ...context.activity, type: ActivityTypes.Message, text: undefined, value });
    if (input.kind !== 'action')
      return errorInvokeResponse(input.kind === 'badAction' ? input.error : 'That button did not carry an action.');
    const dc = await this.dialogContext(context);
    if (dc.activeDialog) {
      // The create dialog's own buttons answer its question, as they do through Action.Submit.
      if (verbHandler(input.verb).dialog) {
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
      const refused = appErrorIn(err);
      if (!refused) throw err;
      await this.send(context, this.refusal(context, refused));
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
    const open = async () => (dc ??= await createDialogContext(this.dialogs, context));
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
  private async replyTo(context: TurnContext, dc: TurnDialogs, input: TurnInput, postIt?: Reply): Promise<Reply> {
    try {
      return await this.dispatch(context, dc, input, postIt);
    } catch (err) {
      const refused = appErrorIn(err);
      if (!refused) throw err;
      return this.refusal(context, refused);
    }
  }

  private refusal(context: TurnContext, err: AppError): Reply {
    // A page token we never made is worth a look (a damaged client, a forgery); other refusals are routine.
    const level = err instanceof StalePageError ? 'warn' : 'info';
    this.deps.logger[level]({ activityId: context.activity.id, code: err.code }, 'request refused');
    return { cards: [buildErrorCard({ title: ERROR_TITLES[err.code], message: err.userMessage })] };
  }

  private async dispatch(context: TurnContext, dc: TurnDialogs, input: TurnInput, postIt?: Reply): Promise<Reply> {
    switch (input.kind) {
      case 'command':
        return commandHandler(input.command).run(this.handlerContext(context, dc, postIt), input.args);
      case 'action':
        return verbHandler(input.verb).clicked(this.handlerContext(context, dc), input.data);
      case 'badAction':
        return textReply(`That button did not work: ${inline(input.error, 300)}`);
      case 'text': {
        // An unknown "/word" was meant as a command: the closest one by spelling (`/invte`: "/invite").
        const meant = input.text.startsWith('/') ? closestCommand(input.text) : undefined;
        return textReply(meant ? `Did you mean \`/${meant}\`? Type **help** to see what I can do.` : NOT_UNDERSTOOD);
      }
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
      scope: {
        conversationId: textOrUndefined(activity.conversation?.id),
        tenantId: textOrUndefined(activity.conversation?.tenantId ?? activity.channelData?.tenant?.id),
      },
    };
  }

  private handlerContext(context: TurnContext, dc: TurnDialogs, postIt?: Reply): HandlerContext {
    const { actions, organization, documents, joinLimiter, posts, bulkAdd, announcements } = this.deps;
    return {
      turn: context,
      req: this.requester(context),
      actions,
      organization,
      documents,
      joinLimiter,
      posts,
      ...(bulkAdd ? { bulkAdd } : {}),
      ...(announcements ? { announcements } : {}),
      help: { entries: helpEntries, tasks: helpTasks },
      ...(postIt ? { postIt } : {}),
      beginCreateGroup: (options) => dc.beginDialog(CREATE_GROUP_DIALOG, options),
    };
  }

  /** One activity for the text and its cards: one connector call, and Teams shows the text above the cards. */
  private async send(context: TurnContext, reply: Reply): Promise<void> {
    if (!reply.text && !reply.cards.length) return;
    await context.sendActivity({
      type: ActivityTypes.Message,
      ...(reply.text ? { text: reply.text } : {}),
      ...(reply.cards.length ? { attachments: reply.cards } : {}),
    });
  }
}

/** The Post it card typed text earned for a command that may still find nothing (`export the report`). */
function postItOf(typed: TypedOutcome | undefined): Reply | undefined {
  return typed?.kind === 'command' ? typed.offer : undefined;
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
  if (input.kind === 'action') return !verbHandler(input.verb).dialog;
  return false;
}
