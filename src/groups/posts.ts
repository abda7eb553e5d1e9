/**
 * The group's conversation: posts, their rules and what the domain needs from storage for them. Plain data and
 * pure functions; no Teams, no storage.
 */
import { ForbiddenError, NotFoundError } from '../errors';
import type { Role, UserRef } from './model';

/** Who wrote a post, as the organization keeps it. */
export interface PostSender {
  /** The domain's user id (the AAD object id, or the Teams id without one). */
  userId: string;
  name: string;
  /** From the authenticated activity (conversation.tenantId / channelData.tenant.id) or the tab's verified token. */
  tenantId: string;
  /** The AAD object id when known. */
  objectId?: string;
}

/**
 * What a reply answers, copied onto the reply when it is accepted (the answered post may change later). When the
 * answered post is deleted, its name and preview are scrubbed from every reply: `deleted`, with both empty.
 */
export interface ReplyTarget {
  seq: number;
  senderName: string;
  preview: string;
  /** The answered post's sender (absent on replies kept before group types): whether a viewer may see the name. */
  senderId?: string;
  deleted?: boolean;
}

/**
 * A hub-and-spoke thread (group types, issue 18): a post that only the group's admins and this member see (the
 * member's own posts when "Members' posts go to" is "admins only", and the admins' replies to them).
 */
export interface PostThread {
  userId: string;
  name: string;
}

/** A post that carries an announcement or a poll (src/actions): its card is rendered per member from the action. */
export interface PostAction {
  kind: 'announcement' | 'poll';
  id: string;
}

export interface Post {
  groupId: string;
  /** Per-group sequence number, assigned by the store when the post is accepted (1, 2, 3, ...). */
  seq: number;
  sender: PostSender;
  text: string;
  createdAt: string;
  replyTo?: ReplyTarget;
  /** Absent: everyone in the group sees the post. */
  thread?: PostThread;
  editedAt?: string;
  /** 1 at acceptance; bumps on every edit and delete (and when a quoted post's preview is scrubbed). */
  version: number;
  /**
   * A deleted post is a tombstone (issue 17: nothing about a post outlives its deletion): seq, createdAt (its
   * place in time, for the visibility rule and retention), when and by whom it was deleted. Sender and text are
   * empty, and readers show none of them.
   */
  deletedAt?: string;
  deletedBy?: UserRef;
  /** Idempotency key of the request that made the post (hash of conversation id + activity id, or the tab's key). */
  sourceKey: string;
  /** Present when the post is an announcement or a poll; `text` is then its summary (history, export). */
  action?: PostAction;
}

export interface NewPost {
  groupId: string;
  sender: PostSender;
  text: string;
  createdAt: string;
  replyTo?: ReplyTarget;
  thread?: PostThread;
  sourceKey: string;
  action?: PostAction;
  /**
   * The sender's membership as the rules checked it (PostingMember.version): the store accepts the post only
   * while that membership still stands, so a removal between the check and the write wins.
   */
  senderMembership?: string;
}

/** An undelete is no change: it is a fresh post (ConversationService.undeleteBySource). */
export type PostChange = { kind: 'edit'; text: string; at: string } | { kind: 'delete'; at: string; by: UserRef };

export interface GroupPostSettings {
  /** "Only admins can post": members' posts are refused. */
  onlyAdminsPost: boolean;
  /** "New members see earlier posts" (default on); off: history starts at the member's join time. */
  historyForNewMembers: boolean;
  /** "Members see each other" (default on); off: members see the count and the admins, never other members' names. */
  membersSeeEachOther: boolean;
  /** "Members' posts go to" everyone (default) or the admins only (hub-and-spoke). */
  memberPostsTo: MemberPostsTo;
  /** Join notices to admins; absent: each join up to 50 members, a daily digest above (groupTypes.ts). */
  joinNotices?: JoinNoticeMode;
}

export type MemberPostsTo = 'everyone' | 'admins';
export type JoinNoticeMode = 'each' | 'digest' | 'off';

export const DEFAULT_POST_SETTINGS: GroupPostSettings = {
  onlyAdminsPost: false,
  historyForNewMembers: true,
  membersSeeEachOther: true,
  memberPostsTo: 'everyone',
};

/** One member as the posting rules need them, read with the group in one round trip. */
export interface PostingMember {
  userId: string;
  name: string;
  role: Role;
  joinedAt: string;
  muted: boolean;
  /** The store's version of the membership as read (opaque; an eTag in Table Storage). */
  version?: string;
}

export interface PostingContext {
  groupId: string;
  groupName: string;
  adminIds: readonly string[];
  settings: GroupPostSettings;
  /**
   * The one membership answer every door asks (typed text, each card verb, each API route): absent when the user
   * is not a member, and a removed member's ban is never a membership.
   */
  member?: PostingMember;
}

/** A posting context whose user is a member now. */
export type MemberContext = PostingContext & { member: PostingMember };

/**
 * The one membership check of the conversation's doors (typed text, every card verb, the tab's API, imported
 * history): the group exists and the user is a member of it now (a removed member's ban is not a membership).
 */
export async function requireMembership(
  posts: Pick<PostStore, 'postingContext'>,
  groupId: string,
  userId: string,
  notMember: (groupName: string) => string = (name) => `You are not a member of ${name}.`,
  options?: PostingContextOptions,
): Promise<MemberContext> {
  const context = await posts.postingContext(groupId, userId, options);
  if (!context) throw new NotFoundError('This group does not exist any more.');
  if (!context.member) throw new ForbiddenError(notMember(context.groupName));
  return context as MemberContext;
}

/**
 * The one visibility rule: the first moment of the conversation a member may see (undefined: all of it). Without
 * "New members see earlier posts", a member sees posts from when they joined. History, replies (what they may
 * target and quote), the tab's API and every later feature ask this, never the setting itself.
 */
export function visibleFrom(context: PostingContext): string | undefined {
  if (!context.member || context.settings.historyForNewMembers) return undefined;
  return context.member.joinedAt;
}

/**
 * May this member see this post (whatever its state)? Non-members see nothing; a hub-and-spoke thread is seen by
 * the admins and its member only.
 */
export function canSee(context: PostingContext, post: Pick<Post, 'createdAt' | 'thread'>): boolean {
  if (!context.member) return false;
  if (post.thread && post.thread.userId !== context.member.userId && !context.adminIds.includes(context.member.userId)) return false;
  const from = visibleFrom(context);
  return from === undefined || post.createdAt >= from;
}

export interface PostPage {
  /** Oldest first. */
  posts: Post[];
  /** Pass as `before` for the previous page; absent when there is nothing earlier the viewer may see. */
  earlier?: number;
}

/**
 * What ConversationService needs from storage. Contract:
 * - `accept` assigns the next sequence number of the group in the same atomic write as the post and its
 *   idempotency row; the same `sourceKey` accepted twice returns the first post's seq with `created: false`.
 *   It fails with ForbiddenError when the sender's member row is gone at the moment of the write.
 * - `change` applies a change only when its `at` is later than the post's last applied change (edits and
 *   deletes arrive more than once and out of order); it returns the post after the change and whether it applied.
 */
/**
 * `groupMaxAgeMs`: the group's row (name, settings, admins) may be one read at most this long ago on this
 * instance; the member's own row is read now, and the requester's own admin role comes from it. For the paths
 * thousands take at once (answering a poll); never for a change of the group.
 */
export interface PostingContextOptions {
  groupMaxAgeMs?: number;
}

export interface PostStore {
  postingContext(groupId: string, userId: string, options?: PostingContextOptions): Promise<PostingContext | undefined>;
  accept(post: NewPost): Promise<{ seq: number; created: boolean }>;
  get(groupId: string, seq: number): Promise<Post | undefined>;
  /** The post a request made, by the request's key (none once that post is deleted). */
  findBySource(sourceKey: string): Promise<{ groupId: string; seq: number } | undefined>;
  /** The group a request's post went to, kept while its tombstone is (Teams' undelete names only the message). */
  groupOfSource(sourceKey: string): Promise<string | undefined>;
  change(groupId: string, seq: number, change: PostChange): Promise<{ post: Post; applied: boolean } | undefined>;
  /** Up to `pageSize` posts with seq < `before` (all when absent) and seq >= the first the viewer may see. */
  page(groupId: string, options: { before?: number; pageSize: number; visibleFrom?: string }): Promise<PostPage>;
  all(groupId: string): AsyncIterable<Post>;
  /**
   * Retention: deletes every post created before `cutoff` in every group; returns how many. `afterGroup` runs
   * for each group's posts before they go (what others keep about them goes with them).
   */
  deleteOlderThan(cutoff: string, afterGroup?: (groupId: string, seqs: number[]) => Promise<void>): Promise<number>;
  setSettings(groupId: string, settings: GroupPostSettings): Promise<void>;
  /** False when the user is not a member. */
  setMuted(groupId: string, userId: string, muted: boolean): Promise<boolean>;
}

/**
 * What is left to do after a post's deletion, kept in storage (tables are the truth): its row is a tombstone at
 * once; the replies quoting it are scrubbed; the tombstone is marked finished once the delivery records are gone.
 */
export interface DeletedPostStore {
  /** Scrubs the name and preview of the deleted post from the replies quoting it; the seqs of those changed. */
  scrubReplies(groupId: string, seq: number): Promise<number[]>;
  /** Tombstones whose clean-up is unfinished, deleted before `before` (ISO 8601); `deletedAt` for each. */
  unfinished(before: string): AsyncIterable<{ groupId: string; seq: number; deletedAt: string }>;
  /** Everything about the post is gone: the tombstone is marked finished (the sweep passes it by). */
  markFinished(groupId: string, seq: number): Promise<void>;
}

/** Each member's current group: where their typed text goes. */
export interface CurrentGroupStore {
  get(userId: string): Promise<{ groupId: string; confirmedGroupId?: string } | undefined>;
  set(userId: string, groupId: string): Promise<void>;
  /** Remembers that the member was told their posts go to this group. */
  confirm(userId: string, groupId: string): Promise<void>;
  clear(userId: string): Promise<void>;
}

/** At most N posts a minute per member; throws RateLimitedError. */
export interface PostRateLimiter {
  take(userId: string): Promise<void>;
}

export const MAX_POST_CHARS = 4000;
export const POSTS_PER_MINUTE = 10;
export const HISTORY_PAGE_SIZE = 20;
const PREVIEW_CHARS = 60;

const ENTITIES: Record<string, string> = {
  '&nbsp;': ' ',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
  '&apos;': "'",
  '&amp;': '&',
};

/**
 * A post's text as it is kept: `<at>Name</at>` becomes "@Name" (shown, never a ping), the few HTML entities
 * Teams puts in a message's text are decoded, line breaks are kept (as \n), other control characters go.
 */
export function normalizePostText(raw: string): string {
  return raw
    .replace(/<at(?:\s[^>]*)?>([\s\S]*?)<\/at>/gi, (_whole, name: string) => `@${name.trim()}`)
    .replace(/&(?:nbsp|lt|gt|quot|#39|apos|amp);/gi, (entity) => ENTITIES[entity.toLowerCase()] ?? entity)
    .replace(/\r\n?/g, '\n')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
    .replace(/\u00a0/g, ' ')
    .trim();
}

/**
 * Characters that show nothing (zero-width spaces and joiners, direction marks, the BOM, the soft hyphen...). Kept
 * inside a post (a joiner builds an emoji), but a post made only of them and spaces is empty.
 */
const INVISIBLE =
  /[\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufeff\uffa0]|\u034f|\u17b4|\u17b5|\ufe0e|\ufe0f/gu;

/** True when nothing would show: only spaces and invisible characters. */
export function isBlankText(text: string): boolean {
  return text.replace(INVISIBLE, '').trim() === '';
}

/** Length as people count it: code points, not UTF-16 units. */
export function postLength(text: string): number {
  return Array.from(text).length;
}

/** "first words..." of a post, one line. */
export function previewOf(text: string, maxChars = PREVIEW_CHARS): string {
  const line = text.replace(/\s+/g, ' ').trim();
  const chars = Array.from(line);
  if (chars.length <= maxChars) return line;
  const cut = chars.slice(0, maxChars).join('');
  const atWord = cut.replace(/\s+\S*$/, '');
  return `${atWord.length > maxChars / 2 ? atWord : cut}...`;
}
