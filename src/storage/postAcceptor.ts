import type { TableClient, TransactionAction } from '@azure/data-tables';
import { ConflictError, ForbiddenError } from '../errors';
import type { NewPost } from '../groups/posts';
import { backoff } from './counterShards';
import { GroupCommit } from './groupCommit';
import { memberRowKey } from './groupPartition';
import { BANNED } from './groupEntities';
import { COUNTER_ROW, postRowKey, SOURCE_INDEX_ROW, SOURCE_PREFIX, toPostEntity, type PostEntity } from './postEntities';
import { failedActionOf, statusOf, type TableRepository } from './tables';

const MAX_POSTS_PER_TRANSACTION = 33;
const ACCEPT_ATTEMPTS = 16;
const COUNTER_CACHE_LIMIT = 1000;

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

/**
 * Accepting posts: each gets the next sequence number of its group from the counter row, in the same
 * transaction as its rows. Posts of one group that arrive together are committed together (group commit, up to
 * 33 per transaction: two rows each, the senders' member rows and the counter stay within 100 operations), in
 * arrival order.
 */
export class PostAcceptor {
  private readonly counters = new Map<string, Counter>();
  private readonly queues = new GroupCommit<PendingPost>(MAX_POSTS_PER_TRANSACTION, (groupId, posts) => this.commit(groupId, posts));

  constructor(
    private readonly tables: { groups: TableClient; postsources: TableClient },
    private readonly rows: TableRepository<PostEntity>,
  ) {}

  /** Forgets the counters last seen (storage may have gone back in time). */
  dropCaches(): void {
    this.counters.clear();
  }

  async accept(post: NewPost): Promise<{ seq: number; created: boolean }> {
    const done = new Promise<{ seq: number; created: boolean }>((resolve, reject) =>
      this.queues.add(post.groupId, { post, resolve, reject }),
    );
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
    const memberships = new Map<string, string>();
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
        // Conditional on the membership the rules checked: a removal since (its tombstone replaces the row) fails
        // the write with 412 instead of letting a removed member's post in.
        const version = memberships.get(userId) ?? pending.find((p) => p.post.sender.userId === userId)?.post.senderMembership ?? '*';
        actions.push([
          'update',
          { partitionKey: groupId, rowKey: memberRowKey(userId), lastPostAt: pending[0]!.post.createdAt },
          'Merge',
          { etag: version },
        ]);
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
        if (failed !== undefined && failed >= memberIndex && status === 412) {
          // The sender's member row changed since the check: still a member (another post's lastPostAt, a
          // mute) means try again at the new version; a removal means refuse, as below.
          const userId = senders[failed - memberIndex]!;
          const row = await this.rows.find(groupId, memberRowKey(userId));
          if (row && (row as unknown as { role?: string }).role !== BANNED) {
            memberships.set(userId, row.etag);
            await backoff(attempt++);
            continue;
          }
        }
        if (failed !== undefined && failed >= memberIndex && (status === 404 || status === 412)) {
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
        await backoff(attempt++);
      }
    }
  }

  /** The group's counter row as stored now (seq 0 and no eTag: no post yet). */
  async readCounter(groupId: string): Promise<Counter> {
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
}
