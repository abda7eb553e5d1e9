import {
  TeamsActivityHandler,
  type AdaptiveCardInvokeResponse,
  type AdaptiveCardInvokeValue,
  type BotState,
  type InvokeResponse,
  type TurnContext,
} from 'botbuilder';

/**
 * What the bot does with each kind of turn. The bot class only routes; the conversation lives in dialogs/.
 */
export interface TurnHandlers {
  /** A typed message or an Action.Submit (a message whose `value` carries a card verb). */
  onMessage(context: TurnContext): Promise<void>;
  /** An Action.Execute click: answers with the refreshed card. */
  onCardAction(context: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse>;
  /** The app was installed, or the bot was added to a conversation. */
  onWelcome(context: TurnContext): Promise<void>;
  /** Teams silent SSO (`signin/tokenExchange`). */
  onTokenExchange(context: TurnContext): Promise<InvokeResponse>;
  /** Sign-in card fallback completed (`signin/verifyState`). */
  onVerifyState(context: TurnContext): Promise<InvokeResponse>;
  /** Teams could not complete SSO (`signin/failure`). */
  onSignInFailure(context: TurnContext): Promise<void>;
  /** The user edited, deleted or undeleted a message they sent the bot (Teams' messageUpdate / messageDelete). */
  onMessageChange?(context: TurnContext, kind: 'edit' | 'softDelete' | 'undelete'): Promise<void>;
}

export class KaizalaBot extends TeamsActivityHandler {
  constructor(
    private readonly turns: TurnHandlers,
    private readonly states: BotState[],
  ) {
    super();
    this.onMessage(async (context, next) => {
      await this.turns.onMessage(context);
      await next();
    });
    this.onTeamsMessageEditEvent(async (context, next) => {
      await this.turns.onMessageChange?.(context, 'edit');
      await next();
    });
    this.onTeamsMessageSoftDeleteEvent(async (context, next) => {
      await this.turns.onMessageChange?.(context, 'softDelete');
      await next();
    });
    this.onTeamsMessageUndeleteEvent(async (context, next) => {
      await this.turns.onMessageChange?.(context, 'undelete');
      await next();
    });
    this.onInstallationUpdateAdd(async (context, next) => {
      await this.turns.onWelcome(context);
      await next();
    });
    this.onMembersAdded(async (context, next) => {
      // In a group chat or team the bot is welcomed once, when it is the one added; in personal chat the
      // installationUpdate already did it.
      const botAdded = context.activity.membersAdded?.some((m) => m.id === context.activity.recipient.id);
      if (botAdded && context.activity.conversation.conversationType !== 'personal') {
        await this.turns.onWelcome(context);
      }
      await next();
    });
  }

  override async run(context: TurnContext): Promise<void> {
    await super.run(context);
    await Promise.all(this.states.map((state) => state.saveChanges(context, false)));
  }

  protected override async onAdaptiveCardInvoke(context: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
    return this.turns.onCardAction(context, value);
  }

  protected override async onInvokeActivity(context: TurnContext): Promise<InvokeResponse> {
    switch (context.activity.name) {
      case 'signin/tokenExchange':
        return this.turns.onTokenExchange(context);
      case 'signin/verifyState':
        return this.turns.onVerifyState(context);
      case 'signin/failure':
        await this.turns.onSignInFailure(context);
        return { status: 200 };
      default:
        return super.onInvokeActivity(context);
    }
  }
}
