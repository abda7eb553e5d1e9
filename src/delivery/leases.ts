import type { TableClient } from '@azure/data-tables';
import { isAlreadyExists, isNotFound, isPreconditionFailed } from '../storage/tables';

interface LeaseRow {
  owner: string;
  expiresAt: number;
}

/** A held lease: until when this instance may act on the lane (renew before). */
export interface Lease {
  readonly lane: string;
  expiresAt: number;
  etag: string;
}

/**
 * One expiring lease per tenant lane in the `lanes` table, so that several instances on one storage account
 * together stay within a tenant's budget: only the holder sends to that tenant. Takeover of an expired lease
 * and every renewal are eTag-conditional, so two instances never both believe they hold it (beyond the margin
 * the holder keeps: it stops sending `marginMs` before its own expiry unless renewed).
 */
export class LaneLeases {
  constructor(
    private readonly table: TableClient,
    private readonly owner: string,
    readonly durationMs = 15_000,
  ) {}

  /** Takes the lane when free or expired (or renews it when ours); undefined when someone else holds it. */
  async acquire(lane: string, now = Date.now()): Promise<Lease | { heldUntil: number }> {
    const rowKey = laneKey(lane);
    let current: (LeaseRow & { etag: string }) | undefined;
    try {
      current = (await this.table.getEntity<LeaseRow>('lane', rowKey)) as LeaseRow & { etag: string };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const expiresAt = now + this.durationMs;
    if (!current) {
      try {
        const result = await this.table.createEntity<LeaseRow>({ partitionKey: 'lane', rowKey, owner: this.owner, expiresAt });
        return { lane, expiresAt, etag: result.etag ?? '' };
      } catch (err) {
        if (isAlreadyExists(err)) return { heldUntil: now + 1_000 };
        throw err;
      }
    }
    if (current.owner !== this.owner && current.expiresAt > now) return { heldUntil: current.expiresAt };
    try {
      const result = await this.table.updateEntity<LeaseRow>({ partitionKey: 'lane', rowKey, owner: this.owner, expiresAt }, 'Replace', {
        etag: current.etag,
      });
      return { lane, expiresAt, etag: result.etag ?? '' };
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err)) return { heldUntil: now + 1_000 };
      throw err;
    }
  }

  /**
   * Extends a held lease; false when it was lost (someone took it over after it expired). A renewal that timed
   * out may still have landed (a stalled store answers late), leaving us an old eTag: a 412 on a row that still
   * names us is our own earlier write, so the lease is kept with the row's eTag, not given up (giving it up
   * would hand its items to a successor that resends what they sent).
   */
  async renew(lease: Lease, now = Date.now()): Promise<boolean> {
    const expiresAt = now + this.durationMs;
    const rowKey = laneKey(lease.lane);
    for (let tries = 0; tries < 2; tries++) {
      try {
        const result = await this.table.updateEntity<LeaseRow>({ partitionKey: 'lane', rowKey, owner: this.owner, expiresAt }, 'Replace', {
          etag: lease.etag,
        });
        lease.etag = result.etag ?? '';
        lease.expiresAt = expiresAt;
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        if (!isPreconditionFailed(err)) throw err;
      }
      let current: LeaseRow & { etag?: string };
      try {
        current = await this.table.getEntity<LeaseRow>('lane', rowKey);
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
      if (current.owner !== this.owner || !current.etag) return false;
      lease.etag = current.etag;
    }
    return false;
  }

  /**
   * Gives the lane up at once (clean stop, idle), so another instance need not wait for the expiry. The row
   * goes: a lane row exists only while held or after its holder died (which the sweep looks for).
   */
  async release(lease: Lease): Promise<void> {
    try {
      await this.table.deleteEntity('lane', laneKey(lease.lane), { etag: lease.etag });
    } catch (err) {
      if (!isPreconditionFailed(err) && !isNotFound(err)) throw err;
    }
  }
}

/** Lanes whose holder let the lease expire without giving it up (it died): the sweep rings their doorbells. */
export async function* expiredLanes(table: TableClient, now = Date.now()): AsyncGenerator<string> {
  for await (const row of table.listEntities<LeaseRow>({ queryOptions: { filter: `PartitionKey eq 'lane' and expiresAt lt ${now}` } })) {
    yield row.rowKey === '_unknown' ? '' : decodeURIComponent(row.rowKey!);
  }
}

export function isLease(value: Lease | { heldUntil: number }): value is Lease {
  return 'etag' in value;
}

/** Table keys may not hold / \ # ? or control characters; an unknown tenant is its own lane. */
export function laneKey(tenantId: string): string {
  return tenantId ? encodeURIComponent(tenantId) : '_unknown';
}
