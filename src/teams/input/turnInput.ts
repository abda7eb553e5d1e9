import type { Activity, Attachment, TurnContext } from 'botbuilder';
import { parseCardAction } from '../../../cards/verbs';
import type { CardData, CardVerb } from '../../../cards/verbs';
import { parseCommand, type CommandName } from './commands';

/** What the user meant by one activity, whichever way it arrived. */
export type TurnInput =
  /** `text` is the message as typed (mention removed); `slash` tells a deliberate command from an answer. */
  | { kind: 'command'; command: CommandName; args: string; text: string; slash: boolean }
  | { kind: 'action'; verb: CardVerb; data: CardData }
  | { kind: 'badAction'; error: string }
  | { kind: 'text'; text: string; attachments: Attachment[] }
  | { kind: 'empty'; attachments: Attachment[] };

const TURN_INPUT = Symbol('turnInput');

/** The input of this turn's activity, read once per turn (middleware and handlers all ask). */
export function turnInputOf(context: TurnContext): TurnInput {
  let input = context.turnState.get(TURN_INPUT) as TurnInput | undefined;
  if (!input) {
    input = readTurnInput(context.activity);
    context.turnState.set(TURN_INPUT, input);
  }
  return input;
}

/**
 * A message is a card click when it carries a `value` (Action.Submit), otherwise typed text: a command when
 * it parses as one, free text (an answer to a dialog's question) when not.
 */
export function readTurnInput(activity: Partial<Activity>): TurnInput {
  const attachments = (activity.attachments ?? []).filter(isUserAttachment);
  if (activity.value !== undefined && activity.value !== null && typeof activity.value === 'object') {
    const parsed = parseCardAction(activity.value);
    return 'error' in parsed ? { kind: 'badAction', error: parsed.error } : { kind: 'action', ...parsed };
  }
  const parsed = parseCommand(activity.text ?? '', { botName: activity.recipient?.name });
  if (parsed === undefined) return { kind: 'empty', attachments };
  if (parsed.command === 'unknown') return { kind: 'text', text: parsed.text, attachments };
  // The text was just parsed as a command: only the mentions go (stripMention would parse it again).
  const text = withoutMentions(activity.text ?? '');
  return { kind: 'command', command: parsed.command, args: parsed.args, text, slash: text.startsWith('/') };
}

/** Teams adds an text/html copy of the message as an attachment; only files and images are the user's. */
function isUserAttachment(attachment: Attachment): boolean {
  return attachment.contentType !== 'text/html';
}

/** The typed text without the bot's mention, as an answer to a question ("Invite Team" is a fine group name). */
export function stripMention(text: string, botName?: string): string {
  const parsed = parseCommand(text, { botName });
  if (parsed === undefined) return '';
  if (parsed.command === 'unknown') return parsed.text;
  // parseCommand keeps the words' case in args but not in the phrase; take the text from the original.
  return withoutMentions(text);
}

/** A command's text as typed: every mention removed, spaces normalized. */
function withoutMentions(text: string): string {
  return text
    .replace(/<at(?:\s[^>]*)?>[\s\S]*?<\/at>/gi, ' ')
    .replace(/&nbsp;|\u00a0/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
