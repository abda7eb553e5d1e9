import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors';
import type { FanoutSource, PostForDelivery, Recipient } from '../delivery/ports';
import type { Role } from '../groups/model';
import {
  DEFAULT_POST_SETTINGS,
  type GroupPostSettings,
  type NewPost,
  type Post,
  type PostChange,
  type PostingContext,
  type PostPage,
  type PostStore,
} from '../groups/posts';
import { failedActionOf, isNotFound, statusOf, TableRepository, type TableClients } from './tables';
import { GroupCommit } from './groupCommit';
import { GROUP_ROW, MEMBER_PREFIX, MEMBER_RANGE_END, memberRowKey } from './groupPartition';

/*
 * Layout (issue 10). A group's conversation lives in the group's own partition of `groups`, beside its members:
 *
 *   RowKey 'postseq'                  { seq }: the last sequence number given out. Every acceptance updates it
 *                                     with If-Match, in the same entity-group transaction as the post rows, so
 *                                     numbers come from storage, never from clocks, and never repeat or skip.
 *   RowKey 'post|<seq, 10 digits>'    the post: sender (user id, tenant, object id, name), text, createdAt, seq,
 *                                     reply-to (seq, name, preview), edits (editedAt, version), deletion
 *                                     (deletedAt, deletedBy), changedAt (last applied change), sourceKey.
 *   RowKey 'postsrc|<sourceKey>'      { seq }: insert-only; a second acceptance of the same request fails on it
 *                                     with 409 and answers the first one's seq (a redelivered post is one post).
 *   RowKey 'group'                    (GroupStore's row) also carries onlyAdminsPost and historyForNewMembers.
 *   RowKey 'member|<userKey>'         (GroupStore's row) also carries muted and lastPostAt. Each acceptance
 *                                     touches the sender's row (Merge, If-Match *): a removed member's or a
 *                                     deleted group's post fails instead of being written.
 *
 * Elsewhere: `postsources` PK sourceKey, RK 'post' -> groupId (Teams' edit and delete events name the
 * original message, not the group; written beside the post's transaction, and again by a retry).
 *
 * Posts of one group that arrive together are committed together (group commit, up to 33 per transaction: two
 * rows each, the senders' member rows and the counter stay within 100 operations), in arrival order.
 */

const COUNTER_ROW = 'postseq';
const POST_PREFIX = 'post|';
const POST_RANGE_END = 'post}';
const SOURCE_PREFIX = 'postsrc|';
const SOURCE_INDEX_ROW = 'post';
const MAX_POSTS_PER_TRANSACTION = 33;
const ACCEPT_ATTEMPTS = 16;
const MAX_BATCH = 100;
const COUNTER_CACHE_LIMIT = 1000;

export const postRowKey = (seq: number) => `${POST_PREFIX}${String(seq).padStart(10, '0')}`;

interface PostEntity {
  seq: number;
  senderId: string;
  senderName: string;
  senderTenantId: string;
  senderObjectId?: string;
  text: string;
  createdAt: string;
  replyToSeq?: number;
  replyToName?: string;
  replyPreview?: string;
  editedAt?: string;
  version: number;
  deletedAt?: string;
  deletedById?: string;
  deletedByName?: string;
  changedAt: string;
  sourceKey: string;
}

interface GroupViewEntity {
  name: string;
  adminIds: string;
  photoVersion?: string;
  photoContentType?: string;
  onlyAdminsPost?: boolean;
  historyForNewMembers?: boolean;
}

interface MemberEntity {
  userId: string;
  userName: string;
  role: Role;
  joinedAt: string;
  conversationRef?: string;
  muted?: boolean;
}

/** The group as a post's card needs it. */
export interface GroupView {
  groupId: string;
  name: string;
  photo?: { version: string; contentType: string };
  adminIds: readonly string[];
  settings: GroupPostSettings;
}

interface Counter {
  seq: number;
  /** Absent: the group has no counter row yet (its first post creates it). */
  etag?: string;
}

interface PendingPost {
  post: NewPost;
  resolve(outcome: { seq: number; created: boolean }): void;
  reject(err: unknown): void;
}

function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export class TablePostStore implements PostStore, FanoutSource {
  private readonly rows: TableRepository<PostEntity>;
  private readonly members: TableRepository<MemberEntity>;
  private readonly sources: TableRepository<{ groupId: string }>;
  private readonly counters = new Map<string, Counter>();
  private readonly queues = new GroupCommit<PendingPost>(MAX_POSTS_PER_TRANSACTION, (groupId, posts) => this.commit(groupId, posts));

  constructor(private readonly tables: Pick<TableClients, 'groups' | 'postsources'>) {
    this.rows = new TableRepository(tables.groups);
    this.members = new TableRepository(tables.groups);
    this.sources = new TableRepository(tables.postsources);
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
      settings: {
        onlyAdminsPost: row.onlyAdminsPost ?? DEFAULT_POST_SETTINGS.onlyAdminsPost,
        historyForNewMembers: row.historyForNewMembers ?? DEFAULT_POST_SETTINGS.historyForNewMembers,
      },
    };
  }

  async postingContext(groupId: string, userId: string): Promise<PostingContext | undefined> {
    const [view, member] = await Promise.all([this.groupView(groupId), this.members.find(groupId, memberRowKey(userId))]);
    if (!view) return undefined;
    return {
      groupId,
      groupName: view.name,
      adminIds: view.adminIds,
      settings: view.settings,
      member: member
        ? { userId: member.userId, name: member.userName, role: member.role, joinedAt: member.joinedAt, muted: member.muted === true }
        : undefined,
    };
  }

  async setSettings(groupId: string, settings: GroupPostSettings): Promise<void> {
    try {
      // Merge at '*': the two flags are independent of everything else on the row; a deleted group stays deleted.
      await this.tables.groups.updateEntity({ partitionKey: groupId, rowKey: GROUP_ROW, ...settings }, 'Merge', { etag: '*' });
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError('This group does not exist any more.');
      throw err;
    }
  }

  async setMuted(groupId: string, userId: string, muted: boolean): Promise<boolean> {
    try {
      await this.tables.groups.updateEntity({ partitionKey: groupId, rowKey: memberRowKey(userId), muted }, 'Merge', { etag: '*' });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * After the embedded storage was replaced (it may lack its last unsaved writes): the cached counters and their
   * eTags may be ahead of what storage holds, so the next post of each group reads its counter again.
   */
  dropCaches(): void {
    this.counters.clear();
  }

  // ---- accepting ------------------------------------------------------------------------------------------

  async accept(post: NewPost): Promise<{ seq: number; created: boolean }> {
    const done = new Promise<{ seq: number; created: boolean }>((resolve, reject) => this.queues.add(post.groupId, { post, resolve, reject }));
    // The index beside the transaction, by upsert (its content is a function of its key). Either may fail
    // alone: an index row without its post is read as "no post"; a post whose index write failed fails the
    // request, and its retry finds the post (409 on its idempotency row) and writes the index again.
    const [outcome] = await Promise.all([
      done,
      this.tables.postsources.upsertEntity({ partitionKey: post.sourceKey, rowKey: SOURCE_INDEX_ROW, groupId: post.groupId }, 'Replace'),
    ]);
    return outcome;
  }

  private async commit(groupId: string, batch: PendingPost[]): Promise<void> {
    // The same request twice in one batch (a redelivery racing its first delivery): one write, two answers.
    const seen = new Map<string, PendingPost>();
    let pending: PendingPost[] = [];
    for (const p of batch) {
      const first = seen.get(p.post.sourceKey);
      if (!first) {
        seen.set(p.post.sourceKey, p);
        pending.push(p);
        continue;
      }
      const { resolve, reject } = first;
      first.resolve = (outcome) => {
        resolve(outcome);
        p.resolve({ ...outcome, created: false });
      };
      first.reject = (err) => {
        reject(err);
        p.reject(err);
      };
    }
    let attempt = 0;
    while (pending.length > 0) {
      if (attempt >= ACCEPT_ATTEMPTS) throw new ConflictError('Many people are posting in this group right now. Please try again.');
      const counter = this.counters.get(groupId) ?? (await this.readCounter(groupId));
      const next = counter.seq + pending.length;
      const actions: TransactionAction[] = [
        counter.etag
          ? ['update', { partitionKey: groupId, rowKey: COUNTER_ROW, seq: next }, 'Merge', { etag: counter.etag }]
          : ['create', { partitionKey: groupId, rowKey: COUNTER_ROW, seq: next }],
      ];
      pending.forEach((p, i) => {
        const seq = counter.seq + i + 1;
        actions.push(['create', { partitionKey: groupId, rowKey: `${SOURCE_PREFIX}${p.post.sourceKey}`, seq }]);
        actions.push(['create', { partitionKey: groupId, rowKey: postRowKey(seq), ...toPostEntity(p.post, seq) }]);
      });
      const senders = [...new Set(pending.map((p) => p.post.sender.userId))];
      const memberIndex = actions.length;
      for (const userId of senders) {
        actions.push(['update', { partitionKey: groupId, rowKey: memberRowKey(userId), lastPostAt: pending[0]!.post.createdAt }, 'Merge', { etag: '*' }]);
      }
      try {
        const response = await this.tables.groups.submitTransaction(actions);
        // By position, not by key: Azurite's batch answer names no RowKey for an update (getResponseForEntity
        // finds nothing), and the counter is always action 0.
        this.rememberCounter(groupId, { seq: next, etag: response.subResponses[0]?.etag });
        pending.forEach((p, i) => p.resolve({ seq: counter.seq + i + 1, created: true }));
        return;
      } catch (err) {
        const status = statusOf(err);
        const failed = failedActionOf(err);
        this.counters.delete(groupId);
        if (failed !== undefined && failed >= 1 && failed < memberIndex) {
          const index = Math.floor((failed - 1) / 2);
          const isSourceRow = (failed - 1) % 2 === 0;
          if (status === 409 && isSourceRow) {
            // This request was accepted before: answer with that post, commit the others.
            const duplicate = pending[index]!;
            const existing = await this.rows.find(groupId, `${SOURCE_PREFIX}${duplicate.post.sourceKey}`);
            if (existing) duplicate.resolve({ seq: Number((existing as unknown as { seq: number }).seq), created: false });
            else duplicate.reject(new ConflictError('Please send that again.'));
            pending = pending.filter((p) => p !== duplicate);
            continue;
          }
        }
        if (failed !== undefined && failed >= memberIndex && status === 404) {
          // That sender is no longer a member (or the group is gone): refuse their posts, commit the others.
          const gone = senders[failed - memberIndex]!;
          pending
            .filter((p) => p.post.sender.userId === gone)
            .forEach((p) => p.reject(new ForbiddenError('You are not a member of this group any more, so your post was not sent.')));
          pending = pending.filter((p) => p.post.sender.userId !== gone);
          continue;
        }
        // 412 / 409 on the counter (someone else took the number), 409 on a post row (a stale counter): re-read.
        if (status !== 412 && status !== 409) throw err;
        await sleep(randomInt(1, 5 + 5 * Math.min(attempt, 8)));
        attempt++;
      }
    }
  }

  private async readCounter(groupId: string): Promise<Counter> {
    const row = await this.rows.find(groupId, COUNTER_ROW);
    const counter = row ? { seq: Number((row as unknown as { seq: number }).seq), etag: row.etag } : { seq: 0 };
    return counter;
  }

  private rememberCounter(groupId: string, counter: Counter): void {
    this.counters.delete(groupId);
    if (!counter.etag) return; // no eTag in the response: do not guess (the next post reads the row)
    this.counters.set(groupId, counter);
    if (this.counters.size > COUNTER_CACHE_LIMIT) this.counters.delete(this.counters.keys().next().value!);
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

  async change(groupId: string, seq: number, change: PostChange): Promise<{ post: Post; applied: boolean } | undefined> {
    for (let attempt = 0; attempt < ACCEPT_ATTEMPTS; attempt++) {
      const row = await this.rows.find(groupId, postRowKey(seq));
      if (!row) return undefined;
      const post = fromPostEntity(groupId, row);
      // Edits and deletes come more than once and out of order: only a later change than the last one applies.
      if (change.at <= row.changedAt) return { post, applied: false };
      const patch: Partial<PostEntity> = { changedAt: change.at, version: post.version + 1 };
      if (change.kind === 'edit') Object.assign(patch, { text: change.text, editedAt: change.at });
      if (change.kind === 'delete') Object.assign(patch, { deletedAt: change.at, deletedById: change.by.id, deletedByName: change.by.name });
      if (change.kind === 'undelete') Object.assign(patch, { deletedAt: '', deletedById: '', deletedByName: '' });
      try {
        await this.rows.update({ partitionKey: groupId, rowKey: postRowKey(seq), ...patch, etag: row.etag } as never);
        return { post: fromPostEntity(groupId, { ...row, ...patch } as PostEntity), applied: true };
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        await sleep(randomInt(1, 10));
      }
    }
    throw new ConflictError('Someone else changed this post at the same moment. Please try again.');
  }

  async page(groupId: string, options: { before?: number; pageSize: number; visibleFrom?: string }): Promise<PostPage> {
    const top = options.before !== undefined ? options.before - 1 : (await this.readCounter(groupId)).seq;
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
    for await (const page of this.tables.groups.listEntities<PostEntity>({ queryOptions: { filter, select: ['seq'] } }).byPage({ maxPageSize: 1 })) {
      if (page.length > 0) return Number(page[0]!.seq);
    }
    return undefined;
  }

  private async range(groupId: string, from: string, to: string): Promise<Array<PostEntity & { rowKey: string }>> {
    const out: Array<PostEntity & { rowKey: string }> = [];
    const filter = odata`PartitionKey eq ${groupId} and RowKey ge ${from} and RowKey lt ${to}`;
    for await (const row of this.tables.groups.listEntities<PostEntity>({ queryOptions: { filter } })) out.push(row as PostEntity & { rowKey: string });
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
  async deleteOlderThan(cutoff: string): Promise<number> {
    const byGroup = new Map<string, Array<{ rowKey: string; sourceKey: string }>>();
    const filter = odata`RowKey ge ${POST_PREFIX} and RowKey lt ${POST_RANGE_END} and createdAt lt ${cutoff}`;
    for await (const row of this.tables.groups.listEntities<PostEntity>({ queryOptions: { filter, select: ['PartitionKey', 'RowKey', 'sourceKey'] } })) {
      const list = byGroup.get(row.partitionKey!) ?? [];
      list.push({ rowKey: row.rowKey!, sourceKey: row.sourceKey });
      byGroup.set(row.partitionKey!, list);
    }
    let deleted = 0;
    for (const [groupId, rows] of byGroup) {
      const keys = rows.flatMap((r) => [r.rowKey, `${SOURCE_PREFIX}${r.sourceKey}`]);
      await deleteRows(this.tables.groups, groupId, keys);
      await Promise.all(rows.map((r) => this.sources.delete(r.sourceKey, SOURCE_INDEX_ROW, '*')));
      deleted += rows.length;
    }
    return deleted;
  }

  // ---- FanoutSource (the delivery engine's view) ----------------------------------------------------------

  async getPost(groupId: string, seq: number): Promise<PostForDelivery | undefined> {
    const post = await this.get(groupId, seq);
    if (!post) return undefined;
    return { groupId, seq, senderUserId: post.sender.userId, createdAt: post.createdAt, deleted: Boolean(post.deletedAt), version: post.version };
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
        recipients.push(toRecipient(row));
        lastKey = row.rowKey!;
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
    return row ? toRecipient(row) : undefined;
  }
}

function toRecipient(row: MemberEntity): Recipient {
  let conversationRef: unknown;
  let tenantId = '';
  if (row.conversationRef) {
    try {
      conversationRef = JSON.parse(row.conversationRef);
      const conversation = (conversationRef as { conversation?: { tenantId?: unknown } }).conversation;
      if (typeof conversation?.tenantId === 'string') tenantId = conversation.tenantId.toLowerCase();
    } catch {
      conversationRef = undefined;
    }
  }
  return { userId: row.userId, tenantId, conversationRef, muted: row.muted === true, joinedAt: row.joinedAt };
}

function toPostEntity(post: NewPost, seq: number): PostEntity {
  return defined({
    seq,
    senderId: post.sender.userId,
    senderName: post.sender.name,
    senderTenantId: post.sender.tenantId,
    senderObjectId: post.sender.objectId,
    text: post.text,
    createdAt: post.createdAt,
    replyToSeq: post.replyTo?.seq,
    replyToName: post.replyTo?.senderName,
    replyPreview: post.replyTo?.preview,
    version: 1,
    changedAt: post.createdAt,
    sourceKey: post.sourceKey,
  });
}

function fromPostEntity(groupId: string, row: PostEntity): Post {
  return defined({
    groupId,
    seq: Number(row.seq),
    sender: defined({ userId: row.senderId, name: row.senderName, tenantId: row.senderTenantId, objectId: row.senderObjectId }),
    text: row.text,
    createdAt: row.createdAt,
    replyTo: row.replyToSeq !== undefined ? { seq: Number(row.replyToSeq), senderName: row.replyToName ?? '', preview: row.replyPreview ?? '' } : undefined,
    editedAt: row.editedAt,
    version: Number(row.version),
    // Table Storage has no null: an undelete writes '' over the deletion fields.
    deletedAt: row.deletedAt || undefined,
    deletedBy: row.deletedAt && row.deletedById ? { id: row.deletedById, name: row.deletedByName ?? '' } : undefined,
    sourceKey: row.sourceKey,
  });
}

function parseIds(json: string | undefined): string[] {
  try {
    const parsed: unknown = JSON.parse(json ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}

/** Unconditional deletes in transactions of 100; rows someone else deleted meanwhile are fine. */
async function deleteRows(table: TableClient, partitionKey: string, rowKeys: readonly string[]): Promise<void> {
  for (let i = 0; i < rowKeys.length; i += MAX_BATCH) {
    const chunk = rowKeys.slice(i, i + MAX_BATCH);
    try {
      await table.submitTransaction(chunk.map((rowKey) => ['delete', { partitionKey, rowKey }]));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const repository = new TableRepository<object>(table);
      for (const rowKey of chunk) await repository.delete(partitionKey, rowKey, '*');
    }
  }
}

