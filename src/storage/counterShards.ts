import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { odata, type TableClient } from '@azure/data-tables';
import { COUNTER_PREFIX, type CounterEntity } from './groupEntities';

/** One member-count shard of a group as last read or written, with the eTag a write must carry. */
export interface Shard {
  rowKey: string;
  count: number;
  etag: string;
}

const SHARD_CACHE_LIMIT = 1000;

/**
 * The counter shards (with eTags) last seen per group, so a join can go straight to its transaction after
 * the read that checked the invite. A stale entry only costs a 412 and a re-read. Least recently used groups
 * drop out past SHARD_CACHE_LIMIT.
 */
export class CounterShards {
  private readonly cache = new Map<string, Shard[]>();

  constructor(private readonly groups: TableClient) {}

  /** The shards as last seen, or read now. An empty list: the group has no counters (it is gone). */
  async current(groupId: string): Promise<Shard[]> {
    return this.cache.get(groupId) ?? (await this.read(groupId));
  }

  private async read(groupId: string): Promise<Shard[]> {
    const upper = `${COUNTER_PREFIX}\uffff`;
    const filter = odata`PartitionKey eq ${groupId} and RowKey ge ${COUNTER_PREFIX} and RowKey lt ${upper}`;
    const shards: Shard[] = [];
    for await (const row of this.groups.listEntities<CounterEntity>({ queryOptions: { filter } })) {
      shards.push({ rowKey: row.rowKey!, count: Number(row.count), etag: row.etag });
    }
    this.remember(groupId, shards);
    return shards;
  }

  /** Shards read elsewhere (with the group row, in one range read). */
  remember(groupId: string, shards: Shard[]): void {
    if (shards.length === 0) return;
    this.cache.delete(groupId); // re-insert: Map order doubles as least-recently-used order
    this.cache.set(groupId, shards);
    if (this.cache.size > SHARD_CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
  }

  /** A shard this process just wrote, at the eTag the transaction's response gave it. */
  rememberWrite(groupId: string, written: Shard, count: number, etag: string | undefined): void {
    const shards = this.cache.get(groupId);
    if (!shards) return;
    const index = shards.findIndex((s) => s.rowKey === written.rowKey);
    if (index < 0) return;
    if (etag) shards[index] = { rowKey: written.rowKey, count, etag };
    else this.cache.delete(groupId); // no eTag in the response: do not guess
  }

  forget(groupId: string): void {
    this.cache.delete(groupId);
  }

  clear(): void {
    this.cache.clear();
  }
}

/** Waits before another try after a lost race on a shard (or another optimistic write). */
export async function backoff(attempt: number): Promise<void> {
  // Full jitter: concurrent writers that just collided spread out instead of colliding again in step.
  await sleep(randomInt(1, 5 + 5 * Math.min(attempt, 8)));
}
