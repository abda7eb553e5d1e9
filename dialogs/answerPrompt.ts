import { ActivityTypes, type Attachment } from 'botbuilder';
import {
  Dialog,
  Prompt,
  type DialogContext,
  type DialogTurnResult,
  type PromptOptions,
  type PromptRecognizerResult,
  type PromptValidator,
} from 'botbuilder-dialogs';
import type { TurnContext } from 'botbuilder';
import { readTurnInput } from '../src/teams/input/turnInput';
import type { CardData, CardVerb } from '../cards/verbs';

/** An answer to a question, typed or given through the question's card. */
export interface Answer {
  /** Typed text (mention removed), if any. */
  text?: string;
  /** The card's verb and inputs, when the answer came from a button. */
  verb?: CardVerb;
  data?: CardData;
  attachments: Attachment[];
}

/**
 * botbuilder's TextPrompt only reads `activity.text`; a question asked on a card is answered with a message
 * whose `value` carries the inputs. This prompt accepts both and leaves meaning to the validator.
 */
export class AnswerPrompt extends Prompt<Answer> {
  private readonly validateAnswer: PromptValidator<Answer>;

  constructor(dialogId: string, validator: PromptValidator<Answer>) {
    super(dialogId, validator);
    this.validateAnswer = validator;
  }

  /**
   * botbuilder's Prompt ignores everything but messages; an Action.Execute click on the question's card is an
   * invoke, so this prompt runs the same recognize-validate-end steps for it.
   */
  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const activity = dc.context.activity;
    if (!(activity.type === ActivityTypes.Invoke && activity.name === 'adaptiveCard/action')) return super.continueDialog(dc);
    const state = dc.activeDialog!.state as { state: Record<string, unknown>; options: PromptOptions };
    const recognized = await this.onRecognize(dc.context);
    const attemptCount = ((state.state['attemptCount'] as number | undefined) ?? 0) + 1;
    state.state['attemptCount'] = attemptCount;
    const valid = await this.validateAnswer({ context: dc.context, recognized, state: state.state, options: state.options, attemptCount });
    if (valid) return dc.endDialog(recognized.value);
    // As botbuilder's Prompt does for messages: a validator that already answered (the problem card) is the retry.
    if (!dc.context.responded) await this.onPrompt(dc.context, state.state, state.options, true);
    return Dialog.EndOfTurn;
  }

  protected async onPrompt(context: TurnContext, _state: object, options: PromptOptions, isRetry: boolean): Promise<void> {
    const activity = isRetry && options.retryPrompt ? options.retryPrompt : options.prompt;
    if (activity) await context.sendActivity(activity);
  }

  protected async onRecognize(context: TurnContext): Promise<PromptRecognizerResult<Answer>> {
    const activity = context.activity;
    // An answer is a message (typed, or an Action.Submit) or an Action.Execute click on the question's card.
    const isExecute = activity.type === ActivityTypes.Invoke && activity.name === 'adaptiveCard/action';
    if (activity.type !== ActivityTypes.Message && !isExecute) return { succeeded: false };
    const input = readTurnInput(isExecute ? { value: activity.value } : activity);
    switch (input.kind) {
      case 'action':
        return { succeeded: true, value: { verb: input.verb, data: input.data, attachments: [] } };
      case 'text':
        return { succeeded: true, value: { text: input.text, attachments: input.attachments } };
      case 'command':
        return { succeeded: true, value: { text: input.text, attachments: [] } };
      case 'empty':
        return input.attachments.length ? { succeeded: true, value: { attachments: input.attachments } } : { succeeded: false };
      case 'badAction':
        return { succeeded: false };
    }
  }
}
