import { randomUUID } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import type { Logger } from '../logger';
import type { ChannelSender } from './channelSender';
import { DeliveryStore } from './deliveryStore';
import { Expansion } from './expansion';
import type { ItemContext } from './items';
import { LaneLeases } from './leases';
import { OutboxStore } from './outboxStore';
import type { DeliveryEngine, FanoutSource, OneOffOptions, Recipient, RenderCopy } from './ports';
import { ConversationWindows, CONVERSATION_WINDOWS } from './rateLimits';
import type { LaneWork, WorkBody } from './workBody';
import { WorkQueue, type WorkMessage } from './workQueue';
import { LaneHost } from './laneHost';
import { deliveryHealth, type DeliveryHealth } from './health';
import { Upkeep } from './upkeep';

export interface QueueDeliveryEngineOptions {
  source: FanoutSource;
  render: RenderCopy;
  sender: ChannelSender;
  tables: { deliveries: TableClient; outbox: TableClient; lanes: TableClient };
  queue: WorkQueue<WorkBody>;
  logger: Logger;
  /** Sends per second per tenant across all instances (TEAMS_TENANT_BUDGET_RPS). */
  tenantBudgetRps: number;
  instanceId?: string;
  /** Recipients per page and delivery rows per transaction (<= 100). */
  chunkSize?: number;
  /** Calls in flight per lane (covers Teams' latency at the budget). */
  maxInFlight?: number;
  leaseMs?: number;
  /** Idle pause between empty receives. */
  pollMs?: number;
  /** How often unfinished posts with a stale heartbeat are re-queued. */
  sweepMs?: number;
  staleMs?: number;
  /** Tries of a call whose conversation alone fails transiently (an outage spends none). */
  maxAttempts?: number;
  /** First backoff of a retried call, and the first pause of a lane in an outage. */
  backoffBaseMs?: number;
  /** Longest pause of a lane between probes in an outage. */
  outageCapMs?: number;
  /** A call that keeps failing transiently is given up after this long (the sweep tries it again later). */
  giveUpMs?: number;
  /** How long after a give-up the sweep tries the copy again, and how many give-ups before it stops. */
  retryGiveUpsAfterMs?: number;
  maxGiveUps?: number;
  /** A lane with work or an unfinished post without progress for this long is reported by health(). */
  stallReportMs?: number;
  flushMs?: number;
  flushSize?: number;
  /** Messages held at once (received and not yet finished). */
  maxHeld?: number;
  /** A lane with nothing to do gives its lease up after this long. */
  laneIdleMs?: number;
  conversationWindows?: ReadonlyArray<readonly [number, number]>;
  /** A deleted post's copies were deleted by the update pass (or it had none): its records may go (issue 17). */
  afterUpdate?: (groupId: string, seq: number) => Promise<void>;
}

/**
 * The delivery engine on a storage queue and three tables (see deliveryStore.ts and outboxStore.ts for the rows,
 * workBody.ts for the messages). Any instance expands posts (expansion.ts: a group's posts one after another);
 * per tenant lane one instance (the lease holder) sends. Each member gets a group's posts in sequence order, but
 * a later post goes to a member as soon as that member has every earlier one (waves.ts), not after the whole
 * earlier fan-out; within a lane, items take turns. The keep-alive and the sweep are in upkeep.ts.
 */
export class QueueDeliveryEngine implements DeliveryEngine {
  readonly instanceId: string;
  readonly stats = { sends: 0, throttled: 0, retried: 0, unreachable: 0, failed: 0, gaveUp: 0, foreignReleases: 0, stalled: 0 };
  private readonly store: DeliveryStore;
  private readonly outbox: OutboxStore;
  private readonly expansion: Expansion;
  private readonly upkeep: Upkeep;
  private readonly leases: LaneLeases;
  /** Messages received and not yet finished, with the queue each came from (for extending and deleting). */
  private readonly held = new Map<WorkMessage<WorkBody>, WorkQueue<WorkBody>>();
  private readonly windows: ConversationWindows;
  private readonly ctx: ItemContext;
  private readonly lanes: LaneHost;
  private running = false;
  private loop?: Promise<void>;
  private timers: NodeJS.Timeout[] = [];
  private sleeping?: () => void;
  private readonly deletedHook?: (groupId: string, seq: number) => Promise<void>;
  private readonly o: Required<Omit<QueueDeliveryEngineOptions, 'instanceId' | 'conversationWindows' | 'afterUpdate'>>;

  constructor(options: QueueDeliveryEngineOptions) {
    this.o = {
      chunkSize: 100,
      maxInFlight: 32,
      leaseMs: 15_000,
      pollMs: 1_000,
      sweepMs: 30_000,
      staleMs: 60_000,
      maxAttempts: 5,
      backoffBaseMs: 1_000,
      outageCapMs: 60_000,
      giveUpMs: 6 * 3_600_000,
      retryGiveUpsAfterMs: 5 * 60_000,
      maxGiveUps: 12,
      stallReportMs: 3 * 60_000,
      flushMs: 100,
      flushSize: 25,
      maxHeld: 256,
      laneIdleMs: 2_000,
      ...options,
    };
    this.instanceId = options.instanceId ?? randomUUID();
    this.deletedHook = options.afterUpdate;
    this.store = new DeliveryStore(options.tables.deliveries);
    this.outbox = new OutboxStore(options.tables.outbox);
    this.leases = new LaneLeases(options.tables.lanes, this.instanceId, this.o.leaseMs);
    this.windows = new ConversationWindows(options.conversationWindows ?? CONVERSATION_WINDOWS);
    this.ctx = {
      store: this.store,
      outbox: this.outbox,
      source: options.source,
      render: options.render,
      sender: options.sender,
      queue: options.queue,
      logger: options.logger,
      chunkSize: Math.min(100, this.o.chunkSize),
      maxAttempts: this.o.maxAttempts,
      backoffBaseMs: this.o.backoffBaseMs,
      giveUpMs: this.o.giveUpMs,
      flushMs: this.o.flushMs,
      flushSize: this.o.flushSize,
      forget: (message) => this.held.delete(message),
      afterUpdate: (g, s) => this.afterUpdate(g, s),
      stats: this.stats,
    };
    this.lanes = new LaneHost({
      queue: options.queue,
      leases: this.leases,
      windows: this.windows,
      ctx: this.ctx,
      held: this.held,
      logger: options.logger,
      maxHeld: this.o.maxHeld,
      pollMs: this.o.pollMs,
      tenantBudgetRps: this.o.tenantBudgetRps,
      maxInFlight: this.o.maxInFlight,
      laneIdleMs: this.o.laneIdleMs,
      outageBaseMs: this.o.backoffBaseMs,
      outageCapMs: this.o.outageCapMs,
      isRunning: () => this.running,
      enqueue: (body) => this.enqueue(body),
    });
    this.expansion = new Expansion({
      store: this.store,
      outbox: this.outbox,
      source: options.source,
      lanes: this.lanes,
      chunkSize: this.ctx.chunkSize,
      isRunning: () => this.running,
      enqueue: (body) => this.enqueue(body),
      finished: (message) => this.finished(message),
      later: (message, delaySeconds) => this.later(message, delaySeconds),
      afterUpdate: (g, s) => this.afterUpdate(g, s),
    });
    this.upkeep = new Upkeep({
      store: this.store,
      outbox: this.outbox,
      lanesTable: options.tables.lanes,
      lanes: this.lanes,
      queue: options.queue,
      held: this.held,
      logger: options.logger,
      stats: this.stats,
      staleMs: this.o.staleMs,
      sweepMs: this.o.sweepMs,
      stallReportMs: this.o.stallReportMs,
      retryGiveUpsAfterMs: this.o.retryGiveUpsAfterMs,
      maxGiveUps: this.o.maxGiveUps,
      // How often held messages are extended and the posts they are about heartbeaten.
      keepAliveMs: Math.max(250, Math.min(options.queue.visibilitySeconds * 500, this.o.staleMs / 3)),
      isRunning: () => this.running,
      enqueue: (body) => this.enqueue(body),
    });
  }

  // ---- the contract ----

  async postAccepted(groupId: string, seq: number): Promise<void> {
    await this.outbox.openPost(groupId, seq);
    // Sent even when the row existed: a caller retrying after a failed send must not leave the post without work.
    await this.enqueue({ k: 'post', g: groupId, s: seq });
  }

  async postChanged(groupId: string, seq: number): Promise<void> {
    await this.o.queue.send({ k: 'change', g: groupId, s: seq });
  }

  async deleteCopiesFor(groupId: string, userId: string): Promise<void> {
    const tenants = new Set((await this.store.copiesOf(groupId, userId)).map((c) => c.t));
    for (const t of tenants) await this.lanes.toLaneQueue({ k: 'purge', g: groupId, u: userId, t });
  }

  async sendOneOff(key: string, recipient: Recipient, activity: Record<string, unknown>, options: OneOffOptions = {}): Promise<void> {
    const fresh = options.firstMessageFor ? { fresh: { g: options.firstMessageFor.groupId } } : {};
    await this.lanes.toLaneQueue({ k: 'oneoff', key, t: recipient.tenantId, r: recipient, a: activity, ...fresh });
  }

  async oneOffOutcomes(prefix: string): Promise<Map<string, string>> {
    return this.store.oneOffStates(prefix);
  }

  async unreachableCount(groupId: string): Promise<number> {
    return (await this.store.unreachableUsers(groupId)).size;
  }

  /** Members the group's posts did not reach: refused by Teams, or given up for now (the sweep retries them). */
  notReachedCount(groupId: string): Promise<{ unreachable: number; retrying: number }> {
    return this.store.notReachedCount(groupId);
  }

  /** Lanes and posts that made no progress for minutes (for /healthz), and the harmless queue races counted. */
  health(now = Date.now()): DeliveryHealth {
    return deliveryHealth(this.lanes.held(), this.upkeep.stalledPosts, this.o.stallReportMs, this.o.queue.races.count, now);
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.o.queue.ensure();
    this.running = true;
    await this.upkeep.sweep(true);
    this.timers.push(setInterval(() => void this.upkeep.sweep(false), this.o.sweepMs));
    this.timers.push(setInterval(() => void this.upkeep.keepAlive(), this.upkeep.keepAliveMs));
    this.timers.push(setInterval(() => this.windows.prune(), 60_000));
    this.loop = this.receiveLoop();
  }

  /**
   * After the embedded queue or table service was replaced (it may lack its last unsaved writes, queues created
   * just before included): queues are ensured again when next used, recent outcomes are written again (see
   * DeliveryStore.page). Lost messages are the sweep's job.
   */
  dropCaches(): void {
    this.lanes.forgetQueues();
    // The table child may have come back without its last writes: our recent outcomes are written again.
    this.store.replayJournal().then(
      (outcomes) => this.o.logger.info({ outcomes }, 'recent delivery outcomes written again after a storage restart'),
      (err: unknown) => this.o.logger.warn({ err: (err as Error).message }, 'recent delivery outcomes not written again'),
    );
    if (this.running)
      this.o.queue.ensure().catch((err: unknown) => this.o.logger.warn({ err: (err as Error).message }, 'work queue not re-created'));
  }

  /** Clean stop: in-flight calls finish and are recorded, held messages go back at once, leases are given up. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.sleeping?.();
    await this.loop;
    await Promise.all(this.lanes.held().map((lane) => lane.end(false)));
  }

  /**
   * Crash stand-in for tests and the bench: everything stops at once, nothing more is written, messages and
   * leases are left to expire. Returns the sends made whose outcome was not recorded (what may repeat).
   */
  async abandon(): Promise<number> {
    this.running = false;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.sleeping?.();
    let unrecorded = 0;
    for (const lane of this.lanes.held()) unrecorded += lane.unrecorded();
    await Promise.all(this.lanes.held().map((lane) => lane.end(true)));
    return unrecorded;
  }

  // ---- the queue ----

  private async receiveLoop(): Promise<void> {
    while (this.running) {
      let got = 0;
      try {
        const room = this.o.maxHeld - this.held.size;
        if (room > 0) {
          const messages = await this.o.queue.receive(Math.min(32, room));
          got = messages.length;
          for (const message of messages) {
            if (!this.running) break;
            this.held.set(message, this.o.queue);
            void this.dispatch(message);
          }
        }
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, 'work queue receive failed');
      }
      if (got === 0 && this.running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.o.pollMs);
          this.sleeping = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  private async dispatch(message: WorkMessage<WorkBody>): Promise<void> {
    const body = message.body;
    try {
      if (body.k === 'post') await this.expansion.expand(message, body.g, body.s);
      else if (body.k === 'change') await this.expansion.change(message, body.g, body.s);
      else if (body.k === 'lane') await this.doorbell(message, body.t);
      else await this.moveToLaneQueue(message, body);
    } catch (err) {
      // Left invisible: it comes back after the visibility timeout (and to the poison queue after too many).
      this.o.logger.warn({ err: (err as Error).message, kind: body.k }, 'work message failed; it will be retried');
      this.held.delete(message);
    }
  }

  private async finished(message: WorkMessage<WorkBody>): Promise<void> {
    this.held.delete(message);
    await this.o.queue.delete(message);
  }

  /**
   * Gives a message back for later without counting towards the poison limit: a fresh copy with a delay, then
   * the old one deleted (a crash in between leaves two copies, which the work tolerates).
   */
  private async later(message: WorkMessage<WorkBody>, delaySeconds: number): Promise<void> {
    this.held.delete(message);
    await this.o.queue.send(message.body, { delaySeconds });
    await this.o.queue.delete(message);
  }

  /** The hook after a deleted post's update pass; a failure is left to its sweep. */
  private async afterUpdate(groupId: string, seq: number): Promise<void> {
    await this.deletedHook?.(groupId, seq).catch((err: unknown) =>
      this.o.logger.warn({ err: (err as Error).message, groupId, seq }, 'records of a deleted post not deleted yet; the sweep will'),
    );
  }

  /** Queues work and polls at once (this instance is likely to take it, so it need not wait for the next poll). */
  private async enqueue(body: WorkBody): Promise<void> {
    await this.o.queue.send(body);
    this.sleeping?.();
  }

  // ---- lanes (held in LaneHost) ----

  /** Lane work that arrived on the shared queue (older messages): moved to the lane's queue. */
  private async moveToLaneQueue(message: WorkMessage<WorkBody>, body: LaneWork): Promise<void> {
    await this.lanes.toLaneQueue(body);
    await this.finished(message);
  }

  /**
   * A lane has work. Taken when free (its queue is then polled here); when another live instance holds it, the
   * holder polls the lane's queue itself, and the doorbell comes back once that lease would have expired, so
   * that a dead holder's lane is taken over.
   */
  private async doorbell(message: WorkMessage<WorkBody>, tenant: string): Promise<void> {
    const lane = await this.lanes.laneFor(tenant);
    if (lane) return this.finished(message);
    this.stats.foreignReleases++;
    const until = this.lanes.heldElsewhereUntil(tenant) ?? Date.now() + 1_000;
    return this.later(message, Math.min(30, Math.max(1, Math.ceil((until - Date.now()) / 1000) + 1)));
  }
}
