/**
 * An action's counters in its partition of `actions` (see actionStore.ts): `tally|<option>|<shard>`,
 * `answered|<shard>`, `confirmed|<shard>`, SHARDS rows per counter, summed when read. A closed poll's shards are
 * all sealed (`closed`): every answer writes a shard under its eTag (or creates it), so an answer that read its
 * shard before the seal fails, and one that reads it after sees the seal. Closing is thus checked at the write
 * itself, whatever an instance remembers of the poll.
 */
import { randomInt } from 'node:crypto';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';

/** Per counter: 50 answers in flight on a few options seldom write the same row. */
export const SHARDS = 64;
export type Counter = number | 'confirmed' | 'answered';

export interface Shard {
  rowKey: string;
  count: number;
  /** Absent: the row does not exist (yet); a write creates it. */
  etag?: string;
  /** The poll was closed: nothing may be added to or taken from this row any more. */
  closed?: boolean;
}

export const counterPrefix = (counter: Counter) =>
  typeof counter === 'string' ? `${counter}|` : `tally|${String(counter).padStart(2, '0')}|`;
const shardKey = (counter: Counter, shard: number) => `${counterPrefix(counter)}${String(shard).padStart(2, '0')}`;

type ShardRow = { count?: number; closed?: boolean };
const shardOf = (row: ShardRow & { rowKey?: string; etag: string }): Shard => ({
  rowKey: row.rowKey!,
  count: Number(row.count ?? 0) || 0,
  etag: row.etag,
  ...(row.closed === true ? { closed: true } : {}),
});

/** Every counter row of the action's partition (one query; the voter rows are not read). */
export async function readShards(table: TableClient, partitionKey: string): Promise<Shard[]> {
  const filter = odata`PartitionKey eq ${partitionKey} and ((RowKey ge ${'answered|'} and RowKey lt ${'answered}'}) or (RowKey ge ${'confirmed|'} and RowKey lt ${'confirmed}'}) or (RowKey ge ${'tally|'} and RowKey lt ${'tally}'}))`;
  const out: Shard[] = [];
  for await (const row of table.listEntities<ShardRow>({ queryOptions: { filter } })) out.push(shardOf(row as ShardRow & { etag: string }));
  return out;
}

/** One counter row by its key ({count 0, no eTag} when it does not exist). */
export async function readShard(
  table: TableClient,
  partitionKey: string,
  rowKey: string,
  isNotFound: (err: unknown) => boolean,
): Promise<Shard> {
  try {
    return shardOf(await table.getEntity<ShardRow>(partitionKey, rowKey));
  } catch (err) {
    if (isNotFound(err)) return { rowKey, count: 0 };
    throw err;
  }
}

/** A random shard of the counter to add to (as `known` has it); to take from, one that has something. */
export function pickShard(
  known: ReadonlyMap<string, Shard>,
  counter: Counter,
  delta: number,
  taken: ReadonlySet<string> = new Set(),
): Shard {
  const prefix = counterPrefix(counter);
  if (delta < 0) {
    const nonEmpty = [...known.values()].filter((s) => s.rowKey.startsWith(prefix) && s.count > 0 && !taken.has(s.rowKey));
    if (nonEmpty.length > 0) return nonEmpty[randomInt(nonEmpty.length)]!;
  }
  let rowKey = shardKey(counter, randomInt(SHARDS));
  for (let i = 0; i < SHARDS && taken.has(rowKey); i++) rowKey = shardKey(counter, randomInt(SHARDS));
  return known.get(rowKey) ?? { rowKey, count: 0 };
}

/** The write of `delta` to a shard: under its eTag, or a create when it did not exist. */
export function counterChange(partitionKey: string, shard: Shard, delta: number): TransactionAction {
  const entity = { partitionKey, rowKey: shard.rowKey, count: shard.count + delta };
  return shard.etag ? ['update', entity, 'Replace', { etag: shard.etag }] : ['create', entity];
}

/** The seal of every shard of these counters (upserts: a shard nobody wrote yet is created sealed). */
export function sealActions(partitionKey: string, counters: readonly Counter[]): TransactionAction[] {
  return counters.flatMap((counter) =>
    Array.from({ length: SHARDS }, (_, s): TransactionAction => [
      'upsert',
      { partitionKey, rowKey: shardKey(counter, s), closed: true },
      'Merge',
    ]),
  );
}

export function countsOf(shards: readonly Shard[]): Map<Counter, number> {
  const counts = new Map<Counter, number>();
  for (const shard of shards) {
    const [head, option] = shard.rowKey.split('|');
    const key: Counter = head === 'tally' ? Number(option) : (head as 'confirmed' | 'answered');
    counts.set(key, (counts.get(key) ?? 0) + shard.count);
  }
  return counts;
}

const SHARD_CACHE_LIMIT = 1_000;

/**
 * The counter shards (with eTags) last seen per action, so that a batch of answers goes straight to its
 * transaction. A stale entry only costs a 412 (or 409) and a read again. Least recently used actions drop out.
 */
export class ActionShards {
  private readonly cache = new Map<string, Map<string, Shard>>();

  constructor(private readonly table: TableClient) {}

  async current(partitionKey: string): Promise<ReadonlyMap<string, Shard>> {
    const hit = this.cache.get(partitionKey);
    if (hit) return hit;
    const read = new Map((await readShards(this.table, partitionKey)).map((s) => [s.rowKey, s]));
    this.cache.delete(partitionKey); // Map order doubles as least-recently-used order
    this.cache.set(partitionKey, read);
    if (this.cache.size > SHARD_CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    return read;
  }

  /** A shard this process just wrote, at the eTag the transaction's response gave it. */
  rememberWrite(partitionKey: string, rowKey: string, count: number, etag: string | undefined): void {
    const shards = this.cache.get(partitionKey);
    if (!shards) return;
    if (etag) shards.set(rowKey, { rowKey, count, etag });
    else this.cache.delete(partitionKey); // no eTag in the response: do not guess
  }

  forget(partitionKey: string): void {
    this.cache.delete(partitionKey);
  }
}
