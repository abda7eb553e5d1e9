import {
  ActivityTypes,
  type AdaptiveCardInvokeResponse,
  type AdaptiveCardInvokeValue,
  type Attachment,
  type ConversationState,
  type InvokeResponse,
  type StatePropertyAccessor,
  type TurnContext,
  type UserState,
} from 'botbuilder';
import { DialogSet, DialogTurnStatus, type DialogState } from 'botbuilder-dialogs';
import type { AppConfig } from '../src/config';
import type { Logger } from '../src/logger';
import type { TurnHandlers } from '../src/bot';
import { buildHelpCard } from '../cards/help';
import { buildWelcomeCard } from '../cards/welcome';
import { errorInvokeResponse } from '../cards/actions';
import { helpEntries } from './commands';
import { readTurnInput, type TurnInput } from './turnInput';

export interface ConversationDependencies {
  conversationState: ConversationState;
  userState: UserState;
  logger: Logger;
  config: AppConfig;
  appSecret: string;
}

const NOT_UNDERSTOOD = "Sorry, I didn't get that. Type **help** to see what I can do, or **new group** to start.";

/**
 * The conversation: reads what the user meant (a typed command, a card click either way, or an answer to a
 * question), lets an active dialog have it, and otherwise runs the command or card verb.
 */
export class Conversation implements TurnHandlers {
  private readonly dialogState: StatePropertyAccessor<DialogState>;
  private readonly dialogs: DialogSet;

  constructor(private readonly deps: ConversationDependencies) {
    this.dialogState = deps.conversationState.createProperty<DialogState>('dialogState');
    this.dialogs = new DialogSet(this.dialogState);
  }

  async onWelcome(context: TurnContext): Promise<void> {
    await context.sendActivity({ attachments: [buildWelcomeCard({ userName: context.activity.from?.name })] });
  }

  async onMessage(context: TurnContext): Promise<void> {
    const input = readTurnInput(context.activity);
    const dc = await this.dialogs.createContext(context);
    if (dc.activeDialog) {
      if (isCancel(input)) {
        await dc.cancelAllDialogs();
        await context.sendActivity('Cancelled. Nothing was changed.');
        return;
      }
      if (!isInterruption(input)) {
        const result = await dc.continueDialog();
        if (result.status !== DialogTurnStatus.empty) return;
      } else {
        await dc.cancelAllDialogs();
      }
    }
    await this.dispatch(context, input);
  }

  async onCardAction(_context: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
    const input = readTurnInput({ value });
    if (input.kind !== 'action') return errorInvokeResponse(input.kind === 'badAction' ? input.error : 'That button did not carry an action.');
    return errorInvokeResponse('That button is not available yet.');
  }

  async onTokenExchange(_context: TurnContext): Promise<InvokeResponse> {
    return { status: 412, body: { failureDetail: 'Single sign-on is not configured for this bot.' } };
  }

  async onVerifyState(_context: TurnContext): Promise<InvokeResponse> {
    return { status: 200 };
  }

  async onSignInFailure(context: TurnContext): Promise<void> {
    await context.sendActivity('Teams could not sign you in.');
  }

  private async dispatch(context: TurnContext, input: TurnInput): Promise<void> {
    switch (input.kind) {
      case 'command':
        if (input.command === 'help') return this.reply(context, buildHelpCard({ commands: helpEntries() }));
        if (input.command === 'cancel') {
          await context.sendActivity('There is nothing to cancel.');
          return;
        }
        break;
      case 'action':
        if (input.verb === 'help') return this.reply(context, buildHelpCard({ commands: helpEntries() }));
        break;
      case 'badAction':
        await context.sendActivity(`That button did not work: ${input.error}`);
        return;
      case 'empty':
      case 'text':
        break;
    }
    if (context.activity.type === ActivityTypes.Message) await context.sendActivity(NOT_UNDERSTOOD);
  }

  private async reply(context: TurnContext, card: Attachment): Promise<void> {
    await context.sendActivity({ attachments: [card] });
  }
}

function isCancel(input: TurnInput): boolean {
  return (input.kind === 'command' && input.command === 'cancel') || (input.kind === 'action' && input.verb === 'cancel');
}

/**
 * While a dialog asks a question, typed text is the answer ("Invite Team" is a fine group name). Only a
 * deliberate command (typed with "/") or a click on another card's button starts something else.
 */
function isInterruption(input: TurnInput): boolean {
  if (input.kind === 'command') return input.slash || input.command === 'help';
  return false;
}
