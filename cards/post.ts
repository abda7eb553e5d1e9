import type { Attachment } from 'botbuilder';
import { button, showCard } from './actions';
import { localDateTime } from './localTime';
import { adaptiveCard, subCard, toAttachment, type CardAction, type CardElement, type ColumnSet, type RichTextBlock } from './schema';
import { inline, richText, run, shown } from './text';

/** A post's text is at most 4,000 characters; a card shows it whole, one block per line. */
const MAX_POST_DISPLAY_CHARS = 4000;
/** Lines beyond this are joined into the last block (keeps the card small whatever the text). */
const MAX_LINE_BLOCKS = 60;
const SUMMARY_WORDS_CHARS = 60;

export interface PostCardData {
  groupId: string;
  groupName: string;
  /** An https (or loopback) URL of the group photo; omitted: no image. */
  photoUrl?: string;
  seq: number;
  senderName: string;
  text: string;
  /** ISO time the post was accepted. */
  createdAt: string;
  edited?: boolean;
  replyTo?: { senderName: string; preview: string; deleted?: boolean };
  /** Group admins and the sender: the Delete post button. Rendered per recipient. */
  canDelete: boolean;
  /** A hub-and-spoke thread's post: "Only you and the admins see this". */
  threadNote?: string;
}

/**
 * The text of a post, shown literally: TextRuns only (no Markdown, links or mentions), one RichTextBlock per
 * line so line breaks stay. `<at>` in the text is just text here.
 */
export function postTextBlocks(text: string, maxChars = MAX_POST_DISPLAY_CHARS): RichTextBlock[] {
  const chars = Array.from(text);
  const shown = chars.length > maxChars ? `${chars.slice(0, maxChars - 1).join('')}…` : text;
  const lines = shown.split('\n');
  const kept =
    lines.length > MAX_LINE_BLOCKS ? [...lines.slice(0, MAX_LINE_BLOCKS - 1), lines.slice(MAX_LINE_BLOCKS - 1).join(' ')] : lines;
  const blocks: RichTextBlock[] = [];
  let gap = false;
  for (const line of kept) {
    if (line.trim() === '') {
      gap = true; // an empty line: more space before the next block
      continue;
    }
    blocks.push(richText([run(line, {}, maxChars)], { spacing: blocks.length === 0 ? 'Small' : gap ? 'Medium' : 'None' }));
    gap = false;
  }
  return blocks;
}

/** "Ann · Field Sales North: first words" for notifications (the activity's `summary`). */
export function postSummary(senderName: string, groupName: string, text: string): string {
  return `${shown(senderName, 60)} · ${shown(groupName, 60)}: ${shown(text, SUMMARY_WORDS_CHARS)}`;
}

/** The same words for the card's fallbackText, which Teams reads as Markdown. */
function fallbackOf(data: PostCardData): string {
  return `${inline(data.senderName, 60)} · ${inline(data.groupName, 60)}: ${inline(data.text, SUMMARY_WORDS_CHARS)}`;
}

function header(data: PostCardData): CardElement {
  const title = richText([run(data.groupName, { weight: 'Bolder' }, 100)]);
  const byline = postByline(data.senderName, data.createdAt, data.edited === true, 'None');
  if (data.photoUrl === undefined || !/^(https:\/\/|http:\/\/(localhost|127\.0\.0\.1)(:\d+)?\/)/i.test(data.photoUrl)) {
    return { type: 'Container', items: [title, byline] };
  }
  return {
    type: 'ColumnSet',
    columns: [
      {
        type: 'Column',
        width: 'auto',
        items: [{ type: 'Image', url: data.photoUrl, altText: `Group photo of ${shown(data.groupName)}`, size: 'Small', style: 'Person' }],
      },
      { type: 'Column', width: 'stretch', verticalContentAlignment: 'Center', items: [title, byline] },
    ],
  };
}

/**
 * "Ann · Wed, Nov 26, 2025 5:35 AM · edited". The name is user text, so a TextRun; the time is a TextBlock of
 * its own, the only element where clients fill in DATE/TIME with the reader's local time (cards/localTime.ts).
 */
export function postByline(senderName: string, createdAt: string, edited: boolean, spacing?: 'None' | 'Small'): ColumnSet {
  const when = [localDateTime(createdAt), edited ? 'edited' : ''].filter((part) => part !== '').join(' · ');
  const name = richText([run(senderName, { weight: 'Bolder', size: 'Small' }, 100)]);
  const byline: ColumnSet = { type: 'ColumnSet', columns: [{ type: 'Column', width: 'auto', items: [name] }] };
  if (when !== '') {
    byline.columns.push({
      type: 'Column',
      width: 'stretch',
      spacing: 'Small',
      items: [{ type: 'TextBlock', text: `· ${when}`, isSubtle: true, size: 'Small', wrap: true }],
    });
  }
  return spacing === undefined ? byline : { ...byline, spacing };
}

/** "replying to Ann: first words..." above a reply's text; "replying to a deleted post" once that one is deleted. */
export function replyContext(replyTo: { senderName: string; preview: string; deleted?: boolean }): RichTextBlock {
  return richText(
    [
      run('replying to ', { isSubtle: true, italic: true, size: 'Small' }),
      run(
        replyTo.deleted ? 'a deleted post' : `${replyTo.senderName}: ${replyTo.preview}`,
        { isSubtle: true, italic: true, size: 'Small' },
        140,
      ),
    ],
    { spacing: 'Small' },
  );
}

/** "Only you and the admins see this" on a hub-and-spoke thread's posts (the name in it is user text: a TextRun). */
export function threadLine(note: string): RichTextBlock {
  return richText([run(note, { isSubtle: true, size: 'Small', weight: 'Bolder' }, 160)], { spacing: 'Small' });
}

/** The copy of a post a member receives in their personal chat. */
export function buildPostCard(data: PostCardData): Attachment {
  const ids = { groupId: data.groupId, seq: data.seq };
  const replyForm = subCard(
    [
      {
        type: 'Input.Text',
        id: 'replyText',
        label: `Reply to ${shown(data.senderName, 60)}`,
        placeholder: 'Your reply',
        isMultiline: true,
        maxLength: 4000,
        isRequired: true,
        errorMessage: 'Type your reply first.',
      },
    ],
    [button('Send', 'replyToPost', ids, { style: 'positive' })],
  );
  const actions: CardAction[] = [showCard('Reply', replyForm), button('Open group', 'openGroup', { groupId: data.groupId })];
  if (data.canDelete) actions.push(button('Delete post', 'deletePost', ids, { style: 'destructive', associatedInputs: 'none' }));
  const body: CardElement[] = [header(data)];
  if (data.threadNote) body.push(threadLine(data.threadNote));
  if (data.replyTo) body.push(replyContext(data.replyTo));
  body.push(...postTextBlocks(data.text));
  return toAttachment(adaptiveCard(body, actions, fallbackOf(data)));
}

/** The message activity of one copy: the card plus the notification summary. */
export function buildPostActivity(data: PostCardData): Record<string, unknown> {
  return { type: 'message', summary: postSummary(data.senderName, data.groupName, data.text), attachments: [buildPostCard(data)] };
}
