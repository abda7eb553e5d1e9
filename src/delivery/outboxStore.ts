import { odata, type TableClient } from '@azure/data-tables';
import { isAlreadyExists, isNotFound, isPreconditionFailed } from '../storage/tables';
import { dec, enc, outboxRow, seqOfOutboxRow } from './deliveryKeys';

/**
 * `outbox`, partition = group, row `post|<seq>`: a post whose fan-out is unfinished. `expanded` once every
 * recipient has a delivery row (posts of a group expand one after another, in sequence order); `tenants` =
 * lanes still working on it. Deleted when the fan-out is done.
 */
export interface OutboxRow {
  expanded: boolean;
  /** JSON array of tenant lanes whose sends are unfinished (complete once expanded). */
  tenants: string;
  /** Heartbeat (ms): work on the post is alive; the sweep re-queues posts whose heartbeat is stale. */
  hb: number;
}

/** An unfinished post of a group as its lanes see it (see openPostsThrough). */
export interface OpenPost {
  seq: number;
  expanded: boolean;
  tenants: string[];
}

const FIRST = 'post|';
const LAST = 'post}';

export class OutboxStore {
  constructor(readonly outbox: TableClient) {}

  /** Records a post as unfinished; false when it was recorded already (postAccepted called twice). */
  async openPost(groupId: string, seq: number, now = Date.now()): Promise<boolean> {
    try {
      await this.outbox.createEntity<OutboxRow>({
        partitionKey: enc(groupId),
        rowKey: outboxRow(seq),
        expanded: false,
        tenants: '[]',
        hb: now,
      });
      return true;
    } catch (err) {
      if (isAlreadyExists(err)) return false;
      throw err;
    }
  }

  async getPost(groupId: string, seq: number): Promise<(OutboxRow & { etag: string }) | undefined> {
    try {
      return (await this.outbox.getEntity<OutboxRow>(enc(groupId), outboxRow(seq))) as OutboxRow & { etag: string };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * The group's lowest unfinished post not yet expanded, below `below` or above `above` (exclusive), or undefined.
   * A post expands only when none below it waits for its expansion; each expansion then starts the next one.
   */
  async firstUnexpanded(groupId: string, range: { below?: number; above?: number }): Promise<number | undefined> {
    const from = range.above === undefined ? FIRST : outboxRow(range.above);
    const to = range.below === undefined ? LAST : outboxRow(range.below);
    const filter = odata`PartitionKey eq ${enc(groupId)} and RowKey gt ${from} and RowKey lt ${to} and expanded eq ${false}`;
    // Followed across pages: a filter on a property may answer an empty page with a continuation.
    for await (const row of this.outbox.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) return seqOfOutboxRow(row.rowKey!);
    return undefined;
  }

  /** The group's unfinished posts up to and including `seq` (a lane's send learns which earlier posts it follows). */
  async openPostsThrough(groupId: string, seq: number): Promise<OpenPost[]> {
    const filter = odata`PartitionKey eq ${enc(groupId)} and RowKey gt ${FIRST} and RowKey le ${outboxRow(seq)}`;
    const posts: OpenPost[] = [];
    for await (const row of this.outbox.listEntities<OutboxRow>({ queryOptions: { filter, select: ['RowKey', 'expanded', 'tenants'] } }))
      posts.push({
        seq: seqOfOutboxRow(row.rowKey!),
        expanded: Boolean(row.expanded),
        tenants: JSON.parse(row.tenants || '[]') as string[],
      });
    return posts;
  }

  /** Every unfinished post, for the sweep: group, seq and heartbeat. */
  async *openPosts(): AsyncGenerator<{ groupId: string; seq: number; hb: number }> {
    const filter = odata`RowKey gt ${FIRST} and RowKey lt ${LAST}`;
    for await (const row of this.outbox.listEntities<OutboxRow>({ queryOptions: { filter, select: ['PartitionKey', 'RowKey', 'hb'] } })) {
      yield { groupId: dec(row.partitionKey!), seq: seqOfOutboxRow(row.rowKey!), hb: Number(row.hb ?? 0) };
    }
  }

  /** Read-modify-write of a post's outbox row under its eTag, retried on a race. Returns the row written or undefined (gone / deleted). */
  async changePost(
    groupId: string,
    seq: number,
    change: (row: OutboxRow) => OutboxRow | 'delete',
  ): Promise<OutboxRow | 'deleted' | undefined> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const row = await this.getPost(groupId, seq);
      if (!row) return undefined;
      const next = change({ expanded: row.expanded, tenants: row.tenants, hb: row.hb });
      try {
        if (next === 'delete') {
          await this.outbox.deleteEntity(enc(groupId), outboxRow(seq), { etag: row.etag });
          return 'deleted';
        }
        await this.outbox.updateEntity({ partitionKey: enc(groupId), rowKey: outboxRow(seq), ...next }, 'Replace', { etag: row.etag });
        return next;
      } catch (err) {
        if (isPreconditionFailed(err)) continue;
        if (isNotFound(err)) return undefined;
        throw err;
      }
    }
    throw new Error('outbox row kept changing under us');
  }

  async heartbeat(groupId: string, seq: number, now = Date.now()): Promise<void> {
    try {
      await this.outbox.updateEntity({ partitionKey: enc(groupId), rowKey: outboxRow(seq), hb: now }, 'Merge');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
