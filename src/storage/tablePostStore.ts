import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { odata } from '@azure/data-tables';
import { ConcurrentWriteError, ConflictError, NotFoundError } from '../errors';
import type { FanoutSource, PostForDelivery, Recipient } from '../delivery/ports';
import {
  type DeletedPostStore,
  type GroupPostSettings,
  type NewPost,
  type Post,
  type PostChange,
  type PostingContext,
  type PostingContextOptions,
  type PostPage,
  type PostStore,
} from '../groups/posts';
import { isNotFound, isPreconditionFailed, TableRepository, type TableClients } from './tables';
import { PostAcceptor } from './postAcceptor';
import {
  fromPostEntity,
  parseIds,
  POST_PREFIX,
  POST_RANGE_END,
  postRowKey,
  SOURCE_INDEX_ROW,
  SOURCE_PREFIX,
  settingsColumns,
  settingsOf,
  toRecipient,
  type GroupViewEntity,
  type MemberEntity,
  type PostEntity,
} from './postEntities';
import { deleteRows } from './partitionSweep';
import { TablePostDeletion } from './tablePostDeletion';
import { GROUP_ROW, MEMBER_PREFIX, MEMBER_RANGE_END, memberRowKey } from './groupPartition';
import { isBanned } from './groupEntities';

/*
 * Layout (issue 10). A group's conversation lives in the group's own partition of `groups`, beside its members:
 *
 *   RowKey 'postseq'                  { seq }: the last sequence number given out. Every acceptance updates it
 *                                     with If-Match, in the same entity-group transaction as the post rows, so
 *                                     numbers come from storage, never from clocks, and never repeat or skip.
 *   RowKey 'post|<seq, 10 digits>'    the post: sender (user id, tenant, object id, name), text, createdAt, seq,
 *                                     reply-to (seq, name, preview; replyDeleted once that post is deleted),
 *                                     edits (editedAt, version), changedAt (last applied change), sourceKey.
 *                                     A deleted post is a tombstone: seq, createdAt, deletedAt, deletedBy,
 *                                     version, sourceKey, finished (tablePostDeletion.ts).
 *   RowKey 'postsrc|<sourceKey>'      { seq }: insert-only; a second acceptance of the same request fails on it
 *                                     with 409 and answers the first one's seq (a redelivered post is one post).
 *                                     Deleted with the post (a Teams undelete is then a fresh post).
 *   RowKey 'group'                    (GroupStore's row) also carries the settings: onlyAdminsPost,
 *                                     historyForNewMembers and the group types' (postEntities.ts settingsOf).
 *   RowKey 'member|<userKey>'         (GroupStore's row) also carries muted and lastPostAt. Each acceptance
 *                                     touches the sender's row (Merge, If-Match *): a removed member's or a
 *                                     deleted group's post fails instead of being written.
 *
 * Elsewhere: `postsources` PK sourceKey, RK 'post' -> groupId (Teams' edit and delete events name the
 * original message, not the group; written beside the post's transaction, and again by a retry).
 *
 * Accepting (the counter and the group commit) is in postAcceptor.ts, the row mapping in postEntities.ts.
 */

export { postRowKey };

/** The group as a post's card needs it. */
export interface GroupView {
  groupId: string;
  name: string;
  photo?: { version: string; contentType: string };
  adminIds: readonly string[];
  settings: GroupPostSettings;
}

/** Tries of a post's edit or delete against others changing it at the same moment. */
const CHANGE_ATTEMPTS = 16;
const GROUP_VIEW_CACHE_LIMIT = 1_000;

export class TablePostStore implements PostStore, FanoutSource {
  private readonly rows: TableRepository<PostEntity>;
  private readonly members: TableRepository<MemberEntity>;
  private readonly sources: TableRepository<{ groupId: string }>;
  private readonly acceptor: PostAcceptor;
  /** What a post's deletion does to the partition, and what is left to finish (issue 17). */
  readonly deletion: DeletedPostStore;
  private readonly deleter: TablePostDeletion;
  /** Group rows as read lately, for the readers that accept a second-old one (PostingContextOptions). */
  private readonly views = new Map<string, { at: number; value: Promise<GroupView | undefined> }>();

  constructor(private readonly tables: Pick<TableClients, 'groups' | 'postsources'>) {
    this.rows = new TableRepository(tables.groups);
    this.members = new TableRepository(tables.groups);
    this.sources = new TableRepository(tables.postsources);
    this.acceptor = new PostAcceptor(tables, this.rows);
    this.deleter = new TablePostDeletion(tables.groups, this.rows);
    this.deletion = this.deleter;
  }

  // ---- the group as posts see it ---------------------------------------------------------------------------

  async groupView(groupId: string): Promise<GroupView | undefined> {
    const row = await new TableRepository<GroupViewEntity>(this.tables.groups).find(groupId, GROUP_ROW);
    if (!row) return undefined;
    return {
      groupId,
      name: row.name,
      photo: row.photoVersion ? { version: row.photoVersion, contentType: row.photoContentType ?? 'image/png' } : undefined,
      adminIds: parseIds(row.adminIds),
      settings: settingsOf(row),
    };
  }

  async postingContext(groupId: string, userId: string, options: PostingContextOptions = {}): Promise<PostingContext | undefined> {
    const [view, row] = await Promise.all([
      options.groupMaxAgeMs ? this.recentGroupView(groupId, options.groupMaxAgeMs) : this.groupView(groupId),
      this.members.find(groupId, memberRowKey(userId)),
    ]);
    if (!view) return undefined;
    const member = isBanned(row) ? undefined : row;
    // The requester's own role is the member row's, read now (it changes with adminIds in one transaction).
    const adminIds = options.groupMaxAgeMs
      ? [...view.adminIds.filter((id) => id !== userId), ...(member?.role === 'admin' ? [userId] : [])]
      : view.adminIds;
    return {
      groupId,
      groupName: view.name,
      adminIds,
      settings: view.settings,
      member: member
        ? {
            userId: member.userId,
            name: member.userName,
            role: member.role,
            joinedAt: member.joinedAt,
            muted: member.muted === true,
            version: member.etag,
          }
        : undefined,
    };
  }

  /** The group's row as read at most `maxAgeMs` ago on this instance (one read for a burst of answers). */
  private recentGroupView(groupId: string, maxAgeMs: number): Promise<GroupView | undefined> {
    const hit = this.views.get(groupId);
    if (hit && Date.now() - hit.at < maxAgeMs) return hit.value;
    const value = this.groupView(groupId);
    value.catch(() => this.views.delete(groupId));
    this.views.delete(groupId); // Map order doubles as least-recently-used order
    this.views.set(groupId, { at: Date.now(), value });
    if (this.views.size > GROUP_VIEW_CACHE_LIMIT) this.views.delete(this.views.keys().next().value!);
    return value;
  }

  async setSettings(groupId: string, settings: GroupPostSettings): Promise<void> {
    this.views.delete(groupId);
    try {
      // Merge at '*': the settings are independent of everything else on the row; a deleted group stays deleted.
      await this.tables.groups.updateEntity({ partitionKey: groupId, rowKey: GROUP_ROW, ...settingsColumns(settings) }, 'Merge', {
        etag: '*',
      });
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError('This group does not exist any more.');
      throw err;
    }
  }

  async setMuted(groupId: string, userId: string, muted: boolean): Promise<boolean> {
    // Conditional on the member row as read, so a removal in between (its tombstone replaces the row) wins; a
    // post's lastPostAt written meanwhile only makes it read again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = await this.members.find(groupId, memberRowKey(userId));
      if (!row || isBanned(row)) return false;
      try {
        await this.tables.groups.updateEntity({ partitionKey: groupId, rowKey: memberRowKey(userId), muted }, 'Merge', { etag: row.etag });
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        if (!isPreconditionFailed(err)) throw err;
      }
    }
    throw new ConcurrentWriteError();
  }

  /**
   * After the embedded storage was replaced (it may lack its last unsaved writes): the cached counters and their
   * eTags may be ahead of what storage holds, so the next post of each group reads its counter again.
   */
  dropCaches(): void {
    this.acceptor.dropCaches();
    this.views.clear();
  }

  /** The group was deleted here: no answer on this instance goes by its row as read before. */
  forgetGroupView(groupId: string): void {
    this.views.delete(groupId);
  }

  // ---- accepting ------------------------------------------------------------------------------------------

  accept(post: NewPost): Promise<{ seq: number; created: boolean }> {
    return this.acceptor.accept(post);
  }

  // ---- reading and changing -------------------------------------------------------------------------------

  async get(groupId: string, seq: number): Promise<Post | undefined> {
    const row = await this.rows.find(groupId, postRowKey(seq));
    return row ? fromPostEntity(groupId, row) : undefined;
  }

  async findBySource(sourceKey: string): Promise<{ groupId: string; seq: number } | undefined> {
    const index = await this.sources.find(sourceKey, SOURCE_INDEX_ROW);
    if (!index) return undefined;
    const row = await this.rows.find(index.groupId, `${SOURCE_PREFIX}${sourceKey}`);
    return row ? { groupId: index.groupId, seq: Number((row as unknown as { seq: number }).seq) } : undefined;
  }

  async groupOfSource(sourceKey: string): Promise<string | undefined> {
    return (await this.sources.find(sourceKey, SOURCE_INDEX_ROW))?.groupId;
  }

  async change(groupId: string, seq: number, change: PostChange): Promise<{ post: Post; applied: boolean } | undefined> {
    for (let attempt = 0; attempt < CHANGE_ATTEMPTS; attempt++) {
      const row = await this.rows.find(groupId, postRowKey(seq));
      if (!row) return undefined;
      const post = fromPostEntity(groupId, row);
      // Edits and deletes come more than once and out of order: only a later change than the last one applies.
      if (change.at <= row.changedAt) return { post, applied: false };
      // A deleted post stays deleted: an undelete is a fresh post, and an edit has nothing left to change.
      if (post.deletedAt) return { post, applied: false };
      try {
        if (change.kind === 'delete') {
          return { post: fromPostEntity(groupId, await this.deleter.tombstone(groupId, row, change)), applied: true };
        }
        const patch: Partial<PostEntity> = { changedAt: change.at, version: post.version + 1, text: change.text, editedAt: change.at };
        await this.rows.update({ partitionKey: groupId, rowKey: postRowKey(seq), ...patch, etag: row.etag } as never);
        return { post: fromPostEntity(groupId, { ...row, ...patch } as PostEntity), applied: true };
      } catch (err) {
        if (!(err instanceof ConcurrentWriteError)) throw err;
        await sleep(randomInt(1, 10));
      }
    }
    throw new ConflictError('Someone else changed this post at the same moment. Please try again.');
  }

  async page(groupId: string, options: { before?: number; pageSize: number; visibleFrom?: string }): Promise<PostPage> {
    const top = options.before !== undefined ? options.before - 1 : (await this.acceptor.readCounter(groupId)).seq;
    if (top < 1) return { posts: [] };
    const low = Math.max(1, top - options.pageSize + 1);
    const [firstVisible, rows] = await Promise.all([
      this.firstVisibleSeq(groupId, options.visibleFrom),
      this.range(groupId, postRowKey(low), postRowKey(top + 1)),
    ]);
    if (firstVisible === undefined) return { posts: [] };
    const posts = rows.map((row) => fromPostEntity(groupId, row)).filter((p) => p.seq >= firstVisible);
    return low > firstVisible ? { posts, earlier: low } : { posts };
  }

  /** The oldest post still kept that the viewer may see (posts from `visibleFrom` on, when given). */
  private async firstVisibleSeq(groupId: string, visibleFrom: string | undefined): Promise<number | undefined> {
    const filter = visibleFrom
      ? odata`PartitionKey eq ${groupId} and RowKey ge ${POST_PREFIX} and RowKey lt ${POST_RANGE_END} and createdAt ge ${visibleFrom}`
      : odata`PartitionKey eq ${groupId} and RowKey ge ${POST_PREFIX} and RowKey lt ${POST_RANGE_END}`;
    for await (const page of this.tables.groups
      .listEntities<PostEntity>({ queryOptions: { filter, select: ['seq'] } })
      .byPage({ maxPageSize: 1 })) {
      if (page.length > 0) return Number(page[0]!.seq);
    }
    return undefined;
  }

  private async range(groupId: string, from: string, to: string): Promise<Array<PostEntity & { rowKey: string }>> {
    const out: Array<PostEntity & { rowKey: string }> = [];
    const filter = odata`PartitionKey eq ${groupId} and RowKey ge ${from} and RowKey lt ${to}`;
    for await (const row of this.tables.groups.listEntities<PostEntity>({ queryOptions: { filter } }))
      out.push(row as PostEntity & { rowKey: string });
    return out;
  }

  async *all(groupId: string): AsyncIterable<Post> {
    for await (const row of this.rows.all(groupId, POST_PREFIX)) yield fromPostEntity(groupId, row);
  }

  /**
   * Retention (MESSAGE_RETENTION_DAYS): a scan of the posts of every group older than the cutoff, then their
   * post and idempotency rows in transactions per group, then their index rows. The counter stays, so numbers
   * never repeat.
   */
  async deleteOlderThan(cutoff: string, afterGroup?: (groupId: string, seqs: number[]) => Promise<void>): Promise<number> {
    const byGroup = new Map<string, Array<{ rowKey: string; sourceKey: string; sourceRow: boolean; index: boolean }>>();
    const filter = odata`RowKey ge ${POST_PREFIX} and RowKey lt ${POST_RANGE_END} and createdAt lt ${cutoff}`;
    for await (const row of this.tables.groups.listEntities<PostEntity>({
      queryOptions: { filter, select: ['PartitionKey', 'RowKey', 'sourceKey', 'deletedAt'] },
    })) {
      const list = byGroup.get(row.partitionKey!) ?? [];
      // A tombstone's request key may belong to the post its undelete made since (a fresh post, same key): its
      // idempotency and index rows then stay for that post.
      // A tombstone's own idempotency row went with its deletion (rows deleted before tombstones kept theirs).
      const own = Number(row.rowKey!.slice(POST_PREFIX.length));
      const found = row.deletedAt && row.sourceKey ? await this.findBySource(row.sourceKey) : undefined;
      const successor = found !== undefined && found.seq !== own;
      list.push({ rowKey: row.rowKey!, sourceKey: row.sourceKey, sourceRow: !row.deletedAt || found?.seq === own, index: !successor });
      byGroup.set(row.partitionKey!, list);
    }
    let deleted = 0;
    for (const [groupId, rows] of byGroup) {
      // What others keep about these posts (the engine's delivery rows) goes first: should that fail, the posts
      // are still here for the next sweep to try again.
      await afterGroup?.(
        groupId,
        rows.map((r) => Number(r.rowKey.slice(POST_PREFIX.length))),
      );
      const keys = rows.flatMap((r) => (r.sourceRow ? [r.rowKey, `${SOURCE_PREFIX}${r.sourceKey}`] : [r.rowKey]));
      await deleteRows(this.tables.groups, groupId, keys);
      await Promise.all(rows.filter((r) => r.index).map((r) => this.sources.delete(r.sourceKey, SOURCE_INDEX_ROW, '*')));
      deleted += rows.length;
    }
    return deleted;
  }

  // ---- FanoutSource (the delivery engine's view) ----------------------------------------------------------

  async getPost(groupId: string, seq: number): Promise<PostForDelivery | undefined> {
    const post = await this.get(groupId, seq);
    if (!post) return undefined;
    return {
      groupId,
      seq,
      senderUserId: post.sender.userId,
      createdAt: post.createdAt,
      deleted: Boolean(post.deletedAt),
      version: post.version,
      ...(post.thread ? { onlyAdminsAnd: post.thread.userId } : {}),
    };
  }

  async listRecipients(groupId: string, after: string | undefined, limit: number): Promise<{ recipients: Recipient[]; next?: string }> {
    const from = after ?? MEMBER_PREFIX;
    const filter = odata`PartitionKey eq ${groupId} and RowKey gt ${from} and RowKey lt ${MEMBER_RANGE_END}`;
    const recipients: Recipient[] = [];
    let lastKey: string | undefined;
    let more = false;
    for await (const page of this.tables.groups.listEntities<MemberEntity>({ queryOptions: { filter } }).byPage({ maxPageSize: limit })) {
      for (const row of page) {
        if (recipients.length >= limit) {
          more = true;
          break;
        }
        lastKey = row.rowKey!;
        if (!isBanned(row)) recipients.push(toRecipient(row));
      }
      if (recipients.length >= limit) {
        more = more || Boolean(page.continuationToken);
        break;
      }
    }
    return more && lastKey ? { recipients, next: lastKey } : { recipients };
  }

  async getRecipient(groupId: string, userId: string): Promise<Recipient | undefined> {
    const row = await this.members.find(groupId, memberRowKey(userId));
    return row && !isBanned(row) ? toRecipient(row) : undefined;
  }
}
