import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { odata, type TableClient } from '@azure/data-tables';
import { forEachLimited } from './partitionSweep';
import { isAlreadyExists, isNotFound, isPreconditionFailed } from './tables';

/** Names this process in lease owners (host, pid and a random part, so a restarted process is someone else). */
const INSTANCE_ID = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;

/** Parallel deletes of a lease sweep: enough to keep up with the turns, few enough to leave the account to them. */
const SWEEP_DELETE_CONCURRENCY = 8;

/** A turn's hold on an activity id, from acquireLease; complete or release it with the eTag it was taken at. */
export interface Lease {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly owner: string;
  readonly etag: string;
  /** True when an earlier delivery's lease had expired without "done" and this one took it over. */
  readonly takenOver: boolean;
}

/**
 * What a delivery finds: the lease is its own (run the turn), another delivery holds a live lease (busy: that
 * one is still running, or died less than a lease ago), or the turn's effects are written (done).
 */
export type LeaseOutcome = { kind: 'acquired'; lease: Lease } | { kind: 'busy'; owner: string; expiresAt: string } | { kind: 'done' };

interface LeaseEntity {
  /** 'leased' while a turn runs; 'done' once its effects are written. Rows of claim() have no state: done. */
  state?: 'leased' | 'done';
  owner?: string;
  expiresAt?: string;
  claimedAt?: string;
  doneAt?: string;
}

/**
 * Per-id rows in the dedup table, of two kinds:
 * - insert-only markers (claim): "this SSO exchange / this welcome has been handled". The first claim inserts a
 *   row and wins; every later claim gets 409 from the service and loses.
 * - leases (acquireLease): "a turn for this activity is running, until expiresAt", then "done". A crash leaves
 *   a lease that expires, so the channel's redelivery runs the turn again; once done it never runs again.
 * Every decision is an insert or a write conditional on the eTag just read (never a blind read-then-write), so
 * concurrent deliveries cannot both win, on Azure or on Azurite. Expiry compares with this instance's clock: instances whose clocks
 * differ by a good part of a lease may take over early.
 */
export class DedupStore {
  constructor(
    private readonly table: TableClient,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** True the first time (scope, id) is claimed, false ever after. */
  async claim(scope: string, id: string): Promise<boolean> {
    try {
      await this.table.createEntity({
        partitionKey: hashKey(scope),
        rowKey: hashKey(id),
        claimedAt: this.now().toISOString(),
      });
      return true;
    } catch (err) {
      if (isAlreadyExists(err)) return false;
      throw err;
    }
  }

  /**
   * Takes the lease of (scope, id) for `leaseMs`. The first delivery inserts the row (insert-if-absent, one
   * write). A later one reads it: done stays done, a live lease is busy, and an expired lease is taken over by
   * an update at the eTag just read, so of two simultaneous takeovers exactly one wins (the other gets 412 and
   * reads as busy).
   */
  async acquireLease(scope: string, id: string, leaseMs: number): Promise<LeaseOutcome> {
    const partitionKey = hashKey(scope);
    const rowKey = hashKey(id);
    const owner = `${INSTANCE_ID}-${randomBytes(4).toString('hex')}`;
    const fresh = (): LeaseEntity & { partitionKey: string; rowKey: string } => {
      const now = this.now();
      return {
        partitionKey,
        rowKey,
        state: 'leased',
        owner,
        expiresAt: new Date(now.getTime() + leaseMs).toISOString(),
        claimedAt: now.toISOString(),
      };
    };
    // A row deleted between our insert and our read (a failed turn released it) means try again; twice is plenty.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const created = await this.table.createEntity(fresh());
        return { kind: 'acquired', lease: { partitionKey, rowKey, owner, etag: created.etag ?? '*', takenOver: false } };
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      let existing: LeaseEntity & { etag: string };
      try {
        existing = await this.table.getEntity<LeaseEntity>(partitionKey, rowKey);
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      if (existing.state !== 'leased') return { kind: 'done' };
      const expiresAt = existing.expiresAt ?? '';
      if (Date.parse(expiresAt) > this.now().getTime()) return { kind: 'busy', owner: existing.owner ?? '', expiresAt };
      try {
        const taken = await this.table.updateEntity(fresh(), 'Replace', { etag: existing.etag });
        return { kind: 'acquired', lease: { partitionKey, rowKey, owner, etag: taken.etag ?? '*', takenOver: true } };
      } catch (err) {
        if (isPreconditionFailed(err)) return { kind: 'busy', owner: '(another takeover)', expiresAt };
        if (isNotFound(err)) continue;
        throw err;
      }
    }
    return { kind: 'busy', owner: '(released and claimed meanwhile)', expiresAt: '' };
  }

  /**
   * Marks the leased turn done: later deliveries of the id do nothing. False when the lease was no longer ours
   * (it expired and another delivery took it over; that one finishes the work and marks it).
   */
  async completeLease(lease: Lease): Promise<boolean> {
    try {
      const done: LeaseEntity & { partitionKey: string; rowKey: string } = {
        partitionKey: lease.partitionKey,
        rowKey: lease.rowKey,
        state: 'done',
        owner: lease.owner,
        doneAt: this.now().toISOString(),
      };
      await this.table.updateEntity(done, 'Merge', { etag: lease.etag });
      return true;
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err)) return false;
      throw err;
    }
  }

  /** Gives a lease back (its turn failed), so that a redelivery runs the turn again at once; only if still ours. */
  async releaseLease(lease: Lease): Promise<void> {
    await this.deleteUnchanged(lease.partitionKey, lease.rowKey, lease.etag);
  }

  /**
   * Deletes the leases (done, or expired long ago) claimed before `cutoff`, never the claims: a welcome already
   * sent or a token exchange already handled stays marked for ever. Without this every turn ever taken would keep
   * its row, and the embedded store, which saves all its rows on every autosave, would save more each time. Each
   * delete is conditional on the eTag listed, so a lease taken over meanwhile stays. How many rows went.
   */
  async deleteLeasesClaimedBefore(cutoff: string): Promise<number> {
    const filter = odata`claimedAt lt ${cutoff} and (state eq 'done' or state eq 'leased')`;
    let deleted = 0;
    const pages = this.table
      .listEntities<LeaseEntity>({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } })
      .byPage({ maxPageSize: 1000 });
    for await (const page of pages) {
      await forEachLimited(page, SWEEP_DELETE_CONCURRENCY, async (row) => {
        if (await this.deleteUnchanged(row.partitionKey!, row.rowKey!, row.etag)) deleted++;
      });
    }
    return deleted;
  }

  /** Deletes the row if it is still at `etag`; false when it changed (someone took it over) or is gone. */
  private async deleteUnchanged(partitionKey: string, rowKey: string, etag: string): Promise<boolean> {
    try {
      await this.table.deleteEntity(partitionKey, rowKey, { etag });
      return true;
    } catch (err) {
      if (isNotFound(err) || isPreconditionFailed(err)) return false;
      throw err;
    }
  }

  /** Gives a claim back, so that a redelivery of work that failed half-way is handled again. */
  async release(scope: string, id: string): Promise<void> {
    try {
      // Unconditional on purpose: only the claimant releases, and a missing marker is the goal.
      await this.table.deleteEntity(hashKey(scope), hashKey(id));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** Scopes and ids come from the channel (any characters, any length); a hash is always a valid table key. */
function hashKey(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
