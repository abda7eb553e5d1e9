import { ActivityTypes, type Attachment } from 'botbuilder';
import { Prompt, type PromptOptions, type PromptRecognizerResult, type PromptValidator } from 'botbuilder-dialogs';
import type { TurnContext } from 'botbuilder';
import { readTurnInput } from './turnInput';
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
  constructor(dialogId: string, validator: PromptValidator<Answer>) {
    super(dialogId, validator);
  }

  protected async onPrompt(context: TurnContext, _state: object, options: PromptOptions, isRetry: boolean): Promise<void> {
    const activity = isRetry && options.retryPrompt ? options.retryPrompt : options.prompt;
    if (activity) await context.sendActivity(activity);
  }

  protected async onRecognize(context: TurnContext): Promise<PromptRecognizerResult<Answer>> {
    const activity = context.activity;
    if (activity.type !== ActivityTypes.Message) return { succeeded: false };
    const input = readTurnInput(activity);
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
