import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { paragraph, richHeading } from './layout';
import { adaptiveCard, toAttachment, type CardAction } from './schema';
import { inline, plain, richText, run } from './text';
import type { CardData, CardVerb } from './verbs';

export interface ErrorCardData {
  /** Friendly words for the user (an AppError's `userMessage`), never an exception message or a stack. */
  message: string;
  title?: string;
  /** Shown small so that support can find the log line (e.g. the activity id). */
  referenceId?: string;
  /** A button to try again. */
  retry?: { title: string; verb: CardVerb; data?: CardData };
}

export function buildErrorCard(data: ErrorCardData): Attachment {
  const actions: CardAction[] = [];
  if (data.retry !== undefined) actions.push(button(data.retry.title, data.retry.verb, data.retry.data ?? {}));
  actions.push(button('Help', 'help'));
  return toAttachment(
    adaptiveCard(
      [
        richHeading(data.title ?? 'Something went wrong'),
        // The message may quote user input ("No group called …"), so it is a TextRun, shown literally.
        richText([run(data.message, {}, 500)]),
        ...(data.referenceId === undefined
          ? []
          : [paragraph(`Reference: ${plain(data.referenceId, 64).replace(/[^A-Za-z0-9:._|-]/g, '')}`, { isSubtle: true, size: 'Small' })]),
      ],
      actions,
      inline(data.message, 500),
    ),
  );
}
