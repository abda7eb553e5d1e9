import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { richHeading } from './layout';
import { adaptiveCard, toAttachment } from './schema';
import { inline, richText, run } from './text';

/** The input the Post it button submits: the message, as typed (the sender may change it first). */
export const POST_IT_INPUT = 'postText';
const MAX_POST_CHARS = 4000;

export interface PostItCardData {
  groupId: string;
  groupName: string;
  /** What was not found, in the bot's words with the names as typed: `['Nobody called “', 'Dave', '” is ...']`. */
  notFound: readonly string[];
  /** The message as typed, line breaks kept. */
  text: string;
  /** The typed message's activity id: Post it pressed twice (or delivered twice) posts once. */
  source: string;
}

/**
 * An admin's command that found nothing (issue 17): "Nobody called “Carol” is a member of Alpha Crew.", and the
 * message in a box with **Post it**. Nothing reaches the group unless it is pressed. The message travels in the
 * input (the sender's own typing handed back, never shown as Markdown), not in the button's data.
 */
export function buildPostItCard(data: PostItCardData): Attachment {
  return toAttachment(
    adaptiveCard(
      [
        richHeading(...data.notFound),
        richText([
          run('Nothing was sent to ', {}),
          run(data.groupName, { weight: 'Bolder' }),
          run('. If you meant it as a post, press Post it.', {}),
        ]),
        {
          type: 'Input.Text',
          id: POST_IT_INPUT,
          label: 'Your message',
          value: data.text,
          isMultiline: true,
          maxLength: MAX_POST_CHARS,
          isRequired: true,
          errorMessage: 'Type the message to post.',
        },
      ],
      [
        button('Post it', 'postIt', { groupId: data.groupId, source: data.source }, { style: 'positive' }),
        button('Cancel', 'cancel', {}, { associatedInputs: 'none' }),
      ],
      `${data.notFound.map((t) => inline(t)).join('')} Nothing was sent to ${inline(data.groupName)}.`,
    ),
  );
}
