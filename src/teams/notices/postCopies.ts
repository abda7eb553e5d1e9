import type { Recipient, RenderCopy } from '../../delivery/ports';
import type { Post } from '../../groups/posts';
import { postAsSeenBy, threadNote } from '../../groups/groupTypes';
import type { GroupView } from '../../storage/tablePostStore';
import { groupPhotoUrl } from '../../web/groupPhoto';
import { buildPostActivity } from '../../../cards/post';

export interface PostCopySource {
  get(groupId: string, seq: number): Promise<Post | undefined>;
  groupView(groupId: string): Promise<GroupView | undefined>;
}

export interface PostCopyRenderer {
  render: RenderCopy;
  /** After a local edit or delete: the next render reads the post again. */
  forget(groupId: string, seq: number): void;
}

/** How long a read post or group serves the renders of one fan-out (thousands of copies, one read). */
const POST_TTL_MS = 1_000;
const GROUP_TTL_MS = 5_000;
const CACHE_ENTRIES = 1_000;

/**
 * The contract's RenderCopy: the activity one recipient gets for a post (the post card plus the notification
 * summary), with Delete post for the group's admins (and the sender, who normally gets no copy). Returns
 * undefined for a post that is gone or deleted. Reads are shared by the copies of one fan-out for a moment.
 */
/** An announcement's or poll's post: the member's card of the action (src/teams/handlers/actionsFlow.ts). */
export type ActionCopy = (group: GroupView, actionId: string, userId: string) => Promise<Record<string, unknown> | undefined>;

export function createPostCopyRenderer(
  source: PostCopySource,
  publicUrl: string,
  now: () => number = Date.now,
  actionCopy?: ActionCopy,
): PostCopyRenderer {
  const posts = new Map<string, { at: number; value: Promise<Post | undefined> }>();
  const groups = new Map<string, { at: number; value: Promise<GroupView | undefined> }>();
  const cached = <T>(
    cache: Map<string, { at: number; value: Promise<T> }>,
    key: string,
    ttl: number,
    read: () => Promise<T>,
  ): Promise<T> => {
    const hit = cache.get(key);
    if (hit && now() - hit.at < ttl) return hit.value;
    const value = read();
    value.catch(() => cache.delete(key));
    cache.delete(key);
    cache.set(key, { at: now(), value });
    if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
    return value;
  };
  return {
    forget(groupId, seq) {
      posts.delete(`${groupId}|${seq}`);
    },
    async render(groupId: string, seq: number, recipient: Recipient, atLeastVersion?: number) {
      const key = `${groupId}|${seq}`;
      const read = () => cached(posts, key, POST_TTL_MS, () => source.get(groupId, seq));
      const groupRead = cached(groups, groupId, GROUP_TTL_MS, () => source.groupView(groupId));
      let post = await read();
      // The engine saw a newer version than the one cached (an edit on another instance): read it again.
      if (post && atLeastVersion !== undefined && post.version < atLeastVersion) {
        posts.delete(key);
        post = await read();
      }
      const group = await groupRead;
      if (!post || !group || post.deletedAt) return undefined;
      if (post.action && actionCopy) return actionCopy(group, post.action.id, recipient.userId);
      // Group types: a member who may not see other members gets "A member" for their names.
      const seen = postAsSeenBy(group, recipient.userId, post);
      return buildPostActivity({
        groupId,
        groupName: group.name,
        photoUrl: group.photo ? groupPhotoUrl(publicUrl, groupId, group.photo.version) : undefined,
        seq,
        senderName: seen.sender.name,
        text: post.text,
        createdAt: post.createdAt,
        edited: post.editedAt !== undefined,
        replyTo: seen.replyTo
          ? { senderName: seen.replyTo.senderName, preview: seen.replyTo.preview, deleted: seen.replyTo.deleted }
          : undefined,
        canDelete: group.adminIds.includes(recipient.userId) || post.sender.userId === recipient.userId,
        ...(post.thread ? { threadNote: threadNote(post.thread, recipient.userId) } : {}),
      });
    },
  };
}
