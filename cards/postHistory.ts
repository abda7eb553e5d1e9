import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { paragraph, richHeading } from './layout';
import { postByline, postTextBlocks, replyContext, threadLine } from './post';
import { adaptiveCard, toAttachment, type CardAction, type CardElement, type Container } from './schema';
import { inline, richText, run } from './text';

/** 20 posts of up to 4,000 characters would not fit in one card (28 KB): history shows each post's start. */
const HISTORY_POST_CHARS = 500;

export interface HistoryPostRow {
  seq: number;
  senderName: string;
  text: string;
  createdAt: string;
  edited?: boolean;
  deleted?: boolean;
  replyTo?: { senderName: string; preview: string; deleted?: boolean };
  /** A hub-and-spoke thread's post: "Only you and the admins see this". */
  threadNote?: string;
}

export interface PostHistoryCardData {
  groupId: string;
  groupName: string;
  /** Oldest first. */
  posts: readonly HistoryPostRow[];
  /** Present when there are earlier posts: carried by the Earlier button. */
  earlier?: number;
  /** At the first live post, when the group has imported earlier messages: a button to them. */
  importedEarlier?: boolean;
}

function postRow(post: HistoryPostRow): Container {
  // A deleted post keeps its place, nothing else: no sender, no text, no quote (issue 17).
  if (post.deleted) {
    return {
      type: 'Container',
      items: [richText([run('This post was deleted.', { isSubtle: true, italic: true })])],
      separator: true,
      spacing: 'Small',
    };
  }
  const items: CardElement[] = [postByline(post.senderName, post.createdAt, post.edited === true)];
  if (post.threadNote) items.push(threadLine(post.threadNote));
  if (post.replyTo) items.push(replyContext(post.replyTo));
  items.push(...postTextBlocks(post.text, HISTORY_POST_CHARS));
  return { type: 'Container', items, separator: true, spacing: 'Small' };
}

/** `history [group]`: a page of the group's conversation, oldest first, with Earlier for the page before. */
export function buildPostHistoryCard(data: PostHistoryCardData): Attachment {
  const body: CardElement[] = [richHeading(data.groupName)];
  if (data.posts.length === 0 && !data.importedEarlier)
    body.push(paragraph('No posts yet. Type a message to post it to the group.', { isSubtle: true }));
  body.push(...data.posts.map(postRow));
  const actions: CardAction[] = [];
  if (data.earlier !== undefined) actions.push(button('Earlier', 'historyPage', { groupId: data.groupId, before: data.earlier }));
  else if (data.importedEarlier) actions.push(button('Imported earlier messages', 'importedHistoryPage', { groupId: data.groupId }));
  return toAttachment(adaptiveCard(body, actions, `Conversation of ${inline(data.groupName)} (${data.posts.length} posts)`));
}
