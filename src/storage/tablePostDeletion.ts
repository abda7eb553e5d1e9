import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { ConcurrentWriteError } from '../errors';
import type { DeletedPostStore } from '../groups/posts';
import { failedActionOf, isNotFound, isPreconditionFailed, type TableRepository } from './tables';
import { POST_PREFIX, POST_RANGE_END, postRowKey, SOURCE_PREFIX, tombstoneOf, type PostEntity } from './postEntities';

type Stored = PostEntity & { etag: string };

/** Tries of a reply's scrub against others changing that reply at the same moment. */
const SCRUB_ATTEMPTS = 8;

/**
 * A post's deletion in the group's partition (issue 17: nothing about a post outlives its deletion):
 * - `tombstone`: one transaction replaces the post row with its tombstone (no text, sender, reply quote: see
 *   tombstoneOf) and deletes its idempotency row (`postsrc|<key>`), so a Teams undelete can be a fresh post.
 * - `scrubReplies`: the replies quoting it lose the quote (name and preview), with a version bump so their
 *   delivered copies are rendered again.
 * - `unfinished` / `markFinished`: the tombstone says whether the rest (delivery records, quotes) is done; a
 *   sweep finishes what a crash left. A row deleted before tombstones existed (text still on it) is unfinished
 *   too, and becomes a tombstone when finished.
 */
export class TablePostDeletion implements DeletedPostStore {
  constructor(
    private readonly groups: TableClient,
    private readonly rows: TableRepository<PostEntity>,
  ) {}

  /** Writes the tombstone over `row` (as read, at its eTag); throws ConcurrentWriteError when it changed since. */
  async tombstone(groupId: string, row: Stored, change: { at: string; by: { id: string; name: string } }): Promise<PostEntity> {
    const tombstone = tombstoneOf(row, change);
    const replace: TransactionAction = [
      'update',
      { partitionKey: groupId, rowKey: postRowKey(Number(row.seq)), ...tombstone },
      'Replace',
      { etag: row.etag },
    ];
    const source: TransactionAction = ['delete', { partitionKey: groupId, rowKey: `${SOURCE_PREFIX}${row.sourceKey}` }];
    try {
      await this.groups.submitTransaction([replace, source]);
    } catch (err) {
      const sourceMissing = isNotFound(err) && failedActionOf(err) === 1;
      if (!sourceMissing && (isPreconditionFailed(err) || isNotFound(err))) throw new ConcurrentWriteError({ cause: err });
      if (!sourceMissing) throw err;
      // No idempotency row (a post accepted without one): the tombstone alone.
      await this.rows.update({ partitionKey: groupId, rowKey: postRowKey(Number(row.seq)), ...tombstone, etag: row.etag }, 'Replace');
    }
    return tombstone;
  }

  async scrubReplies(groupId: string, seq: number): Promise<number[]> {
    const filter = odata`PartitionKey eq ${groupId} and RowKey ge ${POST_PREFIX} and RowKey lt ${POST_RANGE_END} and replyToSeq eq ${seq}`;
    const changed: number[] = [];
    for await (const reply of this.groups.listEntities<PostEntity>({ queryOptions: { filter, select: ['RowKey'] } })) {
      if (await this.scrubReply(groupId, reply.rowKey!)) changed.push(Number(reply.rowKey!.slice(POST_PREFIX.length)));
    }
    return changed;
  }

  private async scrubReply(groupId: string, rowKey: string): Promise<boolean> {
    for (let attempt = 0; attempt < SCRUB_ATTEMPTS; attempt++) {
      const row = await this.rows.find(groupId, rowKey);
      // Gone, deleted itself (a tombstone quotes nothing) or scrubbed already.
      if (!row || row.replyToSeq === undefined || row.replyDeleted === true) return false;
      try {
        await this.rows.update({
          partitionKey: groupId,
          rowKey,
          replyToName: '',
          replyPreview: '',
          replyDeleted: true,
          version: Number(row.version) + 1,
          etag: row.etag,
        } as never);
        return true;
      } catch (err) {
        if (!(err instanceof ConcurrentWriteError)) throw err;
        await sleep(randomInt(1, 10));
      }
    }
    throw new ConcurrentWriteError();
  }

  async *unfinished(before: string): AsyncIterable<{ groupId: string; seq: number; deletedAt: string }> {
    const filter = odata`RowKey ge ${POST_PREFIX} and RowKey lt ${POST_RANGE_END} and deletedAt gt ${''} and deletedAt lt ${before}`;
    for await (const row of this.groups.listEntities<PostEntity>({
      queryOptions: { filter, select: ['PartitionKey', 'seq', 'deletedAt', 'finished'] },
    })) {
      if (row.finished !== true) yield { groupId: row.partitionKey!, seq: Number(row.seq), deletedAt: row.deletedAt! };
    }
  }

  async markFinished(groupId: string, seq: number): Promise<void> {
    for (let attempt = 0; attempt < SCRUB_ATTEMPTS; attempt++) {
      const row = await this.rows.find(groupId, postRowKey(seq));
      if (!row || !row.deletedAt || row.finished === true) return;
      // A row deleted before tombstones (its text still there) becomes one now; its idempotency row goes too.
      const legacy = row.text !== '' || row.senderId !== '' || row.replyToSeq !== undefined;
      try {
        if (legacy) {
          const by = { id: row.deletedById ?? '', name: row.deletedByName ?? '' };
          await this.tombstone(groupId, row, { at: row.deletedAt, by });
        }
        await this.rows.update({ partitionKey: groupId, rowKey: postRowKey(seq), finished: true, etag: '*' } as never);
        return;
      } catch (err) {
        if (!(err instanceof ConcurrentWriteError)) throw err;
        await sleep(randomInt(1, 10));
      }
    }
    throw new ConcurrentWriteError();
  }
}
