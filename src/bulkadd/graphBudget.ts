/**
 * Graph's budget per tenant, shared by every instance (issue 18): GRAPH_TENANT_BUDGET_RPS calls a second (each
 * `$batch` sub-request counts: Graph throttles them one by one) for all instances together. Like the delivery
 * lanes share Teams' budget, the truth is a table: each instance working for a tenant keeps a `share` row there
 * (renewed every couple of seconds, gone stale when it stops), and paces its calls at the budget divided by the
 * live shares. A 429 pauses the tenant for its Retry-After, here at once and in the other instances at their next
 * renewal (the pause is written to the tenant's row). Nothing else retries: the Graph client has no hidden retries.
 */
import { odata, type TableClient } from '@azure/data-tables';

const DEFAULT_REFRESH_MS = 2_000;
/** A share not renewed for this long is an instance that stopped (or died): it no longer counts. */
const STALE_AFTER_REFRESHES = 3;

export interface GraphBudgetOptions {
  /** Rows `graph|<tenant>` of the bulk add table. */
  table: TableClient;
  /** This instance. */
  holder: string;
  /** Calls a second per tenant, all instances together. */
  rps: number;
  refreshMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class GraphBudget {
  private readonly tenants = new Map<string, TenantBudget>();

  constructor(private readonly o: GraphBudgetOptions) {}

  forTenant(tenantId: string): TenantBudget {
    const key = tenantId.toLowerCase();
    let budget = this.tenants.get(key);
    if (!budget) this.tenants.set(key, (budget = new TenantBudget(this.o, key)));
    return budget;
  }
}

export class TenantBudget {
  /** When the next call may go (pacing: no bursts above the share). */
  private nextAt = 0;
  private pausedUntil = 0;
  private shares = 1;
  private refreshedAt = -Infinity;
  private refreshing?: Promise<void>;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly partition: string;

  constructor(
    private readonly o: GraphBudgetOptions,
    tenantId: string,
  ) {
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.partition = `graph|${tenantId}`;
  }

  /** This instance's rate now: the budget over the instances sharing it. */
  get rate(): number {
    return this.o.rps / Math.max(1, this.shares);
  }

  /** Waits until `calls` calls may go, then counts them as gone. */
  async take(calls: number): Promise<void> {
    await this.refresh();
    const now = this.now();
    const start = Math.max(now, this.nextAt, this.pausedUntil);
    this.nextAt = start + (calls * 1000) / this.rate;
    if (start > now) await this.sleep(start - now);
  }

  /** Graph answered 429: nobody calls for this tenant until Retry-After has passed. */
  async pause(ms: number): Promise<void> {
    const until = this.now() + ms;
    if (until > this.pausedUntil) {
      this.pausedUntil = until;
      await this.o.table.upsertEntity({ partitionKey: this.partition, rowKey: 'pause', until }, 'Merge').catch(() => undefined); // the others learn it from their own 429 instead
    }
    await this.sleep(Math.max(0, this.pausedUntil - this.now()));
  }

  private refresh(): Promise<void> {
    const refreshMs = this.o.refreshMs ?? DEFAULT_REFRESH_MS;
    if (this.now() - this.refreshedAt < refreshMs) return Promise.resolve();
    this.refreshing ??= (async () => {
      const now = this.now();
      try {
        await this.o.table.upsertEntity({ partitionKey: this.partition, rowKey: `share|${this.o.holder}`, at: now }, 'Replace');
        let live = 0;
        for await (const row of this.o.table.listEntities<{ at?: number; until?: number }>({
          queryOptions: { filter: odata`PartitionKey eq ${this.partition}` },
        })) {
          if (row.rowKey === 'pause') this.pausedUntil = Math.max(this.pausedUntil, Number(row.until ?? 0));
          else if (now - Number(row.at ?? 0) < refreshMs * STALE_AFTER_REFRESHES) live++;
        }
        this.shares = Math.max(1, live);
      } catch {
        // Storage did not answer: keep the last share (never more than it was).
      } finally {
        this.refreshedAt = now;
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}
