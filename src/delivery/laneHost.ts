import { createHash } from 'node:crypto';
import type { Logger } from '../logger';
import type { ItemContext } from './deliveryItem';
import { itemFor } from './items';
import { Lane } from './lane';
import { isLease, type LaneLeases } from './leases';
import type { ConversationWindows } from './rateLimits';
import type { LaneWork, WorkBody } from './workBody';
import type { WorkMessage, WorkQueue } from './workQueue';

export interface LaneHostOptions {
  /** The shared queue (lane queues are its siblings). */
  queue: WorkQueue<WorkBody>;
  leases: LaneLeases;
  windows: ConversationWindows;
  ctx: ItemContext;
  /** The engine's messages received and not yet finished, with the queue each came from. */
  held: Map<WorkMessage<WorkBody>, WorkQueue<WorkBody>>;
  logger: Logger;
  maxHeld: number;
  pollMs: number;
  tenantBudgetRps: number;
  maxInFlight: number;
  laneIdleMs: number;
  /** First and longest pause of a lane in a channel outage. */
  outageBaseMs: number;
  outageCapMs: number;
  isRunning(): boolean;
  /** Queues work on the shared queue (a doorbell). */
  enqueue(body: WorkBody): Promise<void>;
}

/**
 * The tenant lanes of one engine instance: each lane's own queue, taking a lane's lease (once per tenant at a
 * time), and the holder's loop that turns the lane queue's messages into the lane's items.
 */
export class LaneHost {
  private readonly lanes = new Map<string, Lane>();
  private readonly acquiring = new Map<string, Promise<Lane | undefined>>();
  private readonly laneQueues = new Map<string, { queue: WorkQueue<WorkBody>; ready: Promise<void> }>();
  /** Until when another live instance holds a tenant's lane (from its lease). */
  private readonly foreignUntil = new Map<string, number>();

  constructor(private readonly o: LaneHostOptions) {}

  /** The lanes this instance holds. */
  held(): Lane[] {
    return [...this.lanes.values()];
  }

  /** When another instance's lease on the tenant's lane ends, if it was seen. */
  heldElsewhereUntil(tenant: string): number | undefined {
    return this.foreignUntil.get(tenant);
  }

  /** Lane queues are ensured again when next used (the queue service may have been replaced). */
  forgetQueues(): void {
    this.laneQueues.clear();
  }

  /** A lane's own queue (created once per process), named by a hash of the tenant id. */
  private laneQueue(tenant: string): { queue: WorkQueue<WorkBody>; ready: Promise<void> } {
    let entry = this.laneQueues.get(tenant);
    if (!entry) {
      const queue = this.o.queue.sibling(`l${createHash('sha256').update(tenant).digest('hex').slice(0, 16)}`);
      entry = { queue, ready: queue.ensure() };
      entry.ready.catch(() => this.laneQueues.delete(tenant));
      this.laneQueues.set(tenant, entry);
    }
    return entry;
  }

  /**
   * Lane work goes to the lane's queue, and a doorbell to the shared queue so that someone takes the lane;
   * none when this instance holds the lane (it polls the lane's queue itself: three queue calls saved per piece
   * of work). A lane that ends meanwhile rings for what is left in its queue (see onEnd below).
   */
  async toLaneQueue(body: LaneWork): Promise<void> {
    const { queue, ready } = this.laneQueue(body.t);
    await ready;
    await queue.send(body);
    if (this.lanes.get(body.t)?.isActive) return;
    await this.o.enqueue({ k: 'lane', t: body.t });
  }

  /** The holder's loop over one lane's queue: each message becomes an item of the lane. */
  private async pollLane(lane: Lane): Promise<void> {
    const { queue, ready } = this.laneQueue(lane.tenant);
    const ctx: ItemContext = { ...this.o.ctx, queue };
    await ready.catch(() => undefined);
    while (this.o.isRunning() && lane.isActive) {
      let got = 0;
      try {
        const room = this.o.maxHeld - this.o.held.size;
        const messages = room > 0 ? await queue.receive(Math.min(32, room)) : [];
        got = messages.length;
        for (const message of messages) {
          const body = message.body as LaneWork;
          if (!lane.isActive || !this.o.isRunning()) {
            // The lane just ended: back to its queue at once, and a doorbell for whoever takes the lane next.
            await queue.release(message, 0);
            await this.o.enqueue({ k: 'lane', t: lane.tenant });
            continue;
          }
          this.o.held.set(message, queue);
          const item = itemFor(ctx, lane, message, body);
          if (lane.has(item.key)) {
            // A duplicate (a re-run expansion, a redelivery): the item in the lane covers it.
            this.o.held.delete(message);
            await queue.delete(message);
          } else if (!lane.add(item)) {
            this.o.held.delete(message);
            await queue.release(message, 0);
          }
        }
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message, tenant: lane.tenant }, 'lane queue receive failed');
      }
      if (got === 0) await new Promise((resolve) => setTimeout(resolve, this.o.pollMs));
    }
  }

  private async ringIfWaiting(tenant: string): Promise<void> {
    try {
      if ((await this.laneQueue(tenant).queue.approximateCount()) > 0) await this.o.enqueue({ k: 'lane', t: tenant });
    } catch (err) {
      // The sweep's re-queue of the post (or the lane's expired lease) covers it.
      this.o.logger.warn({ err: (err as Error).message, tenant }, 'lane queue not checked after the lane ended');
    }
  }

  laneFor(tenant: string): Promise<Lane | undefined> {
    const existing = this.lanes.get(tenant);
    if (existing?.isActive) return Promise.resolve(existing);
    // A lane of ours still ending holds the lease (and renews it) until its calls are recorded: a second lane of
    // the tenant here would send them again. The doorbell comes back; the ending lane rings for what is left.
    if (existing?.isEnding) return Promise.resolve(undefined);
    let pending = this.acquiring.get(tenant);
    if (!pending) {
      pending = (async () => {
        const result = await this.o.leases.acquire(tenant);
        if (!isLease(result)) {
          this.foreignUntil.set(tenant, result.heldUntil);
          return undefined;
        }
        const lane = new Lane({
          tenant,
          lease: result,
          leases: this.o.leases,
          budgetRps: this.o.tenantBudgetRps,
          maxInFlight: this.o.maxInFlight,
          windows: this.o.windows,
          logger: this.o.logger,
          idleMs: this.o.laneIdleMs,
          outageBaseMs: this.o.outageBaseMs,
          outageCapMs: this.o.outageCapMs,
          // Messages a dead holder left invisible count too: the lane is kept (and polled) until they are done.
          mayEnd: async () => (await this.laneQueue(tenant).queue.approximateCount()) === 0,
          onEnd: (ended, items) => {
            if (this.lanes.get(tenant) === ended) this.lanes.delete(tenant);
            for (const item of items) this.o.held.delete(item.message as WorkMessage<WorkBody>);
            // Work sent while the lane was still active rang no doorbell: ring one if any is left.
            if (this.o.isRunning()) void this.ringIfWaiting(tenant);
          },
        });
        this.lanes.set(tenant, lane);
        void this.pollLane(lane);
        return lane;
      })().finally(() => this.acquiring.delete(tenant));
      this.acquiring.set(tenant, pending);
    }
    return pending;
  }
}
