/**
 * Buttons. Every bot-bound button is an `Action.Submit` whose `data` is `{ verb, ...data }`.
 *
 * Why Action.Submit and not Action.Execute (Universal Actions):
 * - Action.Execute does not work in the Teams iOS and Android apps (msteams-docs#13924 / AdaptiveCards#9315,
 *   open since 2026-01); on Android it has shown "Something went wrong" (botbuilder-js#4430), and iOS ignored
 *   `associatedInputs: "none"` on it (AdaptiveCards#8585). Members of these groups are field workers on phones.
 * - A `fallback` to Action.Submit does not help: fallback only applies when a client does not know the action
 *   type, and the mobile clients know it; they fail when the button is pressed.
 * - Action.Submit works on desktop, web, iOS and Android: Teams sends a message activity whose `value` is the
 *   data merged with the card's inputs.
 *
 * The handlers do not care: `parseCardAction` reads both an Action.Submit `value` and an Action.Execute invoke
 * `value` (an Action.Execute button carries `verb` and the same `actionData`; none is built until Teams mobile
 * supports it, so there is no builder for one). Refreshing a card in place works either way:
 * the glue sends the same builder's attachment with `updateActivity(replyToId)` for a Submit, or returns it as
 * the invoke response (`toInvokeResponse`) for an Execute.
 */
import type { Attachment, AdaptiveCardInvokeResponse } from 'botbuilder';
import type { ActionStyle, AdaptiveCardJson, OpenUrlAction, ShowCardAction, SubmitAction } from './schema';
import { actionData, type CardData, type CardVerb } from './verbs';

export interface ButtonOptions {
  style?: ActionStyle;
  tooltip?: string;
  /**
   * 'none' for buttons that must work with empty or invalid inputs (Cancel, Skip): the client neither
   * validates nor sends the card's inputs. Default: the client's default ('auto').
   */
  associatedInputs?: 'auto' | 'none';
}

/** A button that reaches the bot on every Teams client (Action.Submit carrying `{ verb, ...data }`). */
export function button(title: string, verb: CardVerb, data: CardData = {}, options: ButtonOptions = {}): SubmitAction {
  return { type: 'Action.Submit', title, data: actionData(verb, data), ...options };
}

export function openUrl(title: string, url: string, tooltip?: string): OpenUrlAction {
  return tooltip === undefined ? { type: 'Action.OpenUrl', title, url } : { type: 'Action.OpenUrl', title, url, tooltip };
}

export function showCard(title: string, card: AdaptiveCardJson): ShowCardAction {
  return { type: 'Action.ShowCard', title, card };
}

/** The invoke response that replaces the clicked card in place (Action.Execute). */
export function toInvokeResponse(attachment: Attachment): AdaptiveCardInvokeResponse {
  return {
    statusCode: 200,
    type: 'application/vnd.microsoft.card.adaptive',
    value: attachment.content as Record<string, unknown>,
  };
}

/** A short acknowledgement when the card stays as it is (Teams shows the message briefly). */
export function messageInvokeResponse(message: string): AdaptiveCardInvokeResponse {
  // Teams reads the value of a message response as the text itself.
  return { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: message as unknown as Record<string, unknown> };
}

/** A typed 400 for an unknown verb or malformed data (instead of silence or a crash). */
export function errorInvokeResponse(message: string, statusCode = 400): AdaptiveCardInvokeResponse {
  return {
    statusCode,
    type: 'application/vnd.microsoft.error',
    value: { code: statusCode === 400 ? 'BadRequest' : 'Error', message },
  };
}
