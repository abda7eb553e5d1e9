import type { DeletedPostStore, PostStore } from './posts';

/** What the delivery engine keeps about a post (one row per recipient, outbox, retry markers). */
export interface DeliveryRecords {
  /**
   * Deletes them once the post's delivered copies are deleted in the members' chats (or given up); false, and
   * nothing deleted, while a copy is still to be deleted or the fan-out is unfinished.
   */
  forgetDeleted(groupId: string, seq: number, version: number): Promise<boolean>;
}

export interface PostDeletionOptions {
  posts: Pick<PostStore, 'get'>;
  store: DeletedPostStore;
  records: DeliveryRecords;
  /** A post changed (a reply lost its quote) or a deletion still has copies to delete: the engine updates the copies. */
  changed(groupId: string, seq: number): Promise<void>;
}

/**
 * Issue 17, nothing about a post outlives its deletion. The post row is a tombstone from the moment of deletion
 * (the store); this finishes the rest: the replies quoting it lose the quote (their copies are rendered again),
 * and once the engine has deleted the copies in the members' chats its records of them go, then the tombstone
 * is marked finished. Every step is idempotent and the tombstone's mark is written last, so a sweep of the
 * unfinished tombstones finishes what a crash left (tables are the truth).
 */
export class PostDeletion {
  constructor(private readonly o: PostDeletionOptions) {}

  /** Right after the deletion: the quotes go at once (the rest waits for the copies). */
  async scrubQuotes(groupId: string, seq: number): Promise<void> {
    for (const reply of await this.o.store.scrubReplies(groupId, seq)) await this.o.changed(groupId, reply);
  }

  /** After the engine's update pass (and from the sweep): finishes when the copies are gone; false otherwise. */
  async finish(groupId: string, seq: number): Promise<boolean> {
    const post = await this.o.posts.get(groupId, seq);
    if (!post?.deletedAt) return false;
    if (!(await this.o.records.forgetDeleted(groupId, seq, post.version))) return false;
    await this.scrubQuotes(groupId, seq);
    await this.o.store.markFinished(groupId, seq);
    return true;
  }

  /**
   * Tombstones deleted before `before` and still unfinished (a crash, a lost message): finished when their copies
   * are gone, otherwise the engine is asked again to delete the copies (harmless when it is still at it).
   * Returns how many were finished.
   */
  async sweep(before: string): Promise<number> {
    let finished = 0;
    for await (const { groupId, seq } of this.o.store.unfinished(before)) {
      if (await this.finish(groupId, seq)) finished++;
      else await this.o.changed(groupId, seq);
    }
    return finished;
  }
}
