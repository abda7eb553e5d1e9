import { createHash } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { isAlreadyExists, isNotFound, isPreconditionFailed } from './tables';
import type { WindowTake } from '../groups/joinAttemptLimiter';

// A take's result is the domain's type, beside its port (WindowCounter); still exported here for storage callers.
export type { WindowTake };

/**
 * Fixed-window counters in Table Storage, shared by every instance of the bot: `take` counts one use of a key
 * and says whether it was within the limit of the current window. A key's window starts at its first use after
 * the previous window ended (not at a clock boundary shared by all keys), so a burst cannot straddle a
 * boundary to get two windows' worth at once.
 *
 * One row per key (PartitionKey = sha256 of the key: bounded, and no user or chat id readable in storage;
 * RowKey 'window'): `{ windowStart, count }`, incremented by
 * an eTag-conditional write, so two writers can never both take the last unit. Chosen over one row per attempt
 * (insert, then count) because counting rows cannot order concurrent inserts (two attempts could each see
 * themselves as the tenth), and a counter row leaves no garbage behind: it is reused by the next window.
 *
 * Within one process the takes of a key run one after another (no eTag collisions with ourselves, and a burst
 * of 100 costs about one write per allowed unit), and a key known to be used up answers from memory until its
 * window ends: counts never go down within a window, so that answer cannot be wrong.
 */
interface CounterRow {
  windowStart: number;
  count: number;
  etag: string;
}

const ROW = 'window';
/** eTag collisions with other instances before giving up (a failure, not a refusal). */
const MAX_ATTEMPTS = 20;
const CACHE_LIMIT = 10_000;

export class TableWindowCounter {
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Rows as we last wrote or read them: an increment goes straight to its conditional write. */
  private readonly rows = new Map<string, CounterRow>();
  /** Keys used up, with the end of their window. */
  private readonly exhausted = new Map<string, number>();

  constructor(
    private readonly table: TableClient,
    private readonly now: () => number = Date.now,
  ) {}

  take(key: string, limit: number, windowMs: number): Promise<WindowTake> {
    const partitionKey = createHash('sha256').update(key, 'utf8').digest('base64url');
    const previous = this.queues.get(partitionKey) ?? Promise.resolve();
    const run = previous.then(
      () => this.takeNow(partitionKey, limit, windowMs),
      () => this.takeNow(partitionKey, limit, windowMs),
    );
    this.queues.set(partitionKey, run);
    void run
      .finally(() => {
        if (this.queues.get(partitionKey) === run) this.queues.delete(partitionKey);
      })
      .catch(() => undefined);
    return run;
  }

  /** Forget what this process remembers (after its storage was replaced); the rows stay the truth. */
  dropCaches(): void {
    this.rows.clear();
    this.exhausted.clear();
  }

  private async takeNow(partitionKey: string, limit: number, windowMs: number): Promise<WindowTake> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.now();
      const usedUpUntil = this.exhausted.get(partitionKey);
      if (usedUpUntil !== undefined && usedUpUntil > now) return { allowed: false, msBeforeNext: usedUpUntil - now };

      const row = this.rows.get(partitionKey) ?? (await this.read(partitionKey));
      const open = row !== undefined && now < row.windowStart + windowMs;
      const windowStart = open ? row.windowStart : now;
      const msBeforeNext = windowStart + windowMs - now;
      const current = open ? row.count : 0;
      if (current >= limit) {
        remember(this.exhausted, partitionKey, windowStart + windowMs);
        return { allowed: false, msBeforeNext };
      }
      const next = { windowStart, count: current + 1 };
      // windowStart as text: milliseconds since 1970 do not fit the Int32 a plain number would be stored as.
      const entity = { partitionKey, rowKey: ROW, windowStart: String(windowStart), count: next.count };
      try {
        const etag = row
          ? (await this.table.updateEntity(entity, 'Replace', { etag: row.etag })).etag
          : (await this.table.createEntity(entity)).etag;
        if (etag) remember(this.rows, partitionKey, { ...next, etag });
        else this.rows.delete(partitionKey);
        return { allowed: true, msBeforeNext };
      } catch (err) {
        // Another instance counted in between (or the row went): read again and decide again.
        this.rows.delete(partitionKey);
        if (!isPreconditionFailed(err) && !isAlreadyExists(err) && !isNotFound(err)) throw err;
      }
    }
    throw new Error('window counter: too many concurrent writers');
  }

  private async read(partitionKey: string): Promise<CounterRow | undefined> {
    try {
      const row = await this.table.getEntity<{ windowStart: string; count: number }>(partitionKey, ROW);
      return { windowStart: Number(row.windowStart), count: Number(row.count), etag: row.etag };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

/** A bounded map: past the limit the oldest entry goes. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > CACHE_LIMIT) map.delete(map.keys().next().value!);
}
