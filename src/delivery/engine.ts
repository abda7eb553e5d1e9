import { randomUUID } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import type { Logger } from '../logger';
import type { ChannelSender } from './channelSender';
import { DeliveryStore, postPartition } from './deliveryStore';
import type { ItemContext } from './items';
import type { Lane, LaneItem } from './lane';
import { expiredLanes, LaneLeases } from './leases';
import type { DeliveryEngine, FanoutSource, Recipient, RenderCopy } from './ports';
import { ConversationWindows, CONVERSATION_WINDOWS } from './rateLimits';
import type { LaneWork, WorkBody } from './workBody';
import { WorkQueue, type WorkMessage } from './workQueue';
import { LaneHost } from './laneHost';
import { requeueGiveUps } from './giveUpSweep';
import { deliveryHealth, type DeliveryHealth } from './health';
import { receivesCopy } from './audience';

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
 * The delivery engine on a storage queue and three tables (see deliveryStore.ts for the rows, workBody.ts for
 * the messages). Any instance expands posts; per tenant lane one instance (the lease holder) sends. A group's
 * posts are fanned out one after another in sequence order (the next starts when the last lane of the previous
 * one finishes), which gives each member the group's posts in order; within a lane, items take turns.
 */
export class QueueDeliveryEngine implements DeliveryEngine {
  readonly instanceId: string;
  readonly stats = { sends: 0, throttled: 0, retried: 0, unreachable: 0, failed: 0, gaveUp: 0, foreignReleases: 0, stalled: 0 };
  private readonly store: DeliveryStore;
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
  /** Unfinished posts whose work showed no progress for stallReportMs, as the last sweep found them. */
  private stalledPosts: Array<{ groupId: string; seq: number; sinceMs: number }> = [];
  private keepingAlive = false;
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
    this.store = new DeliveryStore(options.tables.deliveries, options.tables.outbox);
    this.leases = new LaneLeases(options.tables.lanes, this.instanceId, this.o.leaseMs);
    this.windows = new ConversationWindows(options.conversationWindows ?? CONVERSATION_WINDOWS);
    this.ctx = {
      store: this.store,
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
      postDone: (g, s) => this.startNextPost(g, s),
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
  }

  // ---- the contract ----

  async postAccepted(groupId: string, seq: number): Promise<void> {
    await this.store.openPost(groupId, seq);
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

  async sendOneOff(key: string, recipient: Recipient, activity: Record<string, unknown>): Promise<void> {
    await this.lanes.toLaneQueue({ k: 'oneoff', key, t: recipient.tenantId, r: recipient, a: activity });
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
    return deliveryHealth(this.lanes.held(), this.stalledPosts, this.o.stallReportMs, this.o.queue.races.count, now);
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.o.queue.ensure();
    this.running = true;
    await this.sweep(true);
    this.timers.push(setInterval(() => void this.sweep(false), this.o.sweepMs));
    this.timers.push(setInterval(() => void this.keepAlive(), this.keepAliveMs));
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
      if (body.k === 'post') await this.expand(message, body.g, body.s);
      else if (body.k === 'change') await this.change(message, body.g, body.s);
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

  /**
   * Keeps held messages invisible while their work makes progress, and heartbeats the posts they are about (the
   * heartbeat means progress: the sweep re-queues a post without one). Lane work that made no progress for
   * `staleMs` (and is not waiting out a pause its lane chose) is not kept alive: it is taken out of its lane and
   * its message given back, so a fresh item takes it up.
   */
  private async keepAlive(): Promise<void> {
    // One pass at a time: a pass that outlasts the interval (slow storage) must not be doubled up.
    if (this.keepingAlive) return;
    this.keepingAlive = true;
    try {
      await this.keepAlivePass();
    } finally {
      this.keepingAlive = false;
    }
  }

  private async keepAlivePass(): Promise<void> {
    const now = Date.now();
    const items = new Map<WorkMessage<WorkBody>, { lane: Lane; item: LaneItem }>();
    for (const lane of this.lanes.held()) for (const item of lane.work) items.set(item.message as WorkMessage<WorkBody>, { lane, item });
    const posts = new Map<string, [string, number]>();
    const extending: Array<() => Promise<void>> = [];
    for (const [message, queue] of this.held) {
      const work = items.get(message);
      if (work && !work.lane.isPaused(now) && now - work.item.lastProgress > this.o.staleMs) {
        this.stats.stalled++;
        this.o.logger.warn(
          { item: work.item.key, tenant: work.lane.tenant, noProgressMs: now - work.item.lastProgress },
          'delivery work made no progress; given back to its queue',
        );
        void work.lane.drop(work.item).catch(() => undefined);
        continue;
      }
      if ('s' in message.body) posts.set(`${message.body.g}|${message.body.s}`, [message.body.g, message.body.s]);
      extending.push(() => queue.extend(message).catch(() => undefined));
    }
    // Extends 16 at a time: one after another, a few hundred held messages on slow storage took longer than their
    // visibility, which then lapsed (the message went to another receiver: a receipt race and repeated work).
    await inParallel(extending, 16);
    await inParallel(
      [...posts.values()].map(
        ([g, s]) =>
          () =>
            this.store.heartbeat(g, s).catch(() => undefined),
      ),
      16,
    );
  }

  // ---- fan-out ----

  /**
   * Expands a post into delivery rows, page by page (insert-if-absent, one transaction per page), and queues
   * a `send` for each tenant lane the first time it appears, so sending starts while the expansion goes on.
   * Only the group's lowest unfinished post expands; a later one is dropped here and started by its
   * predecessor's completion (or the sweep).
   */
  private async expand(message: WorkMessage<WorkBody>, groupId: string, seq: number): Promise<void> {
    const outbox = await this.store.getPost(groupId, seq);
    if (!outbox) return this.finished(message);
    const first = await this.store.firstOpenPost(groupId);
    if (first !== undefined && first < seq) return this.finished(message);
    if (outbox.expanded) {
      for (const t of JSON.parse(outbox.tenants) as string[]) await this.lanes.toLaneQueue({ k: 'send', g: groupId, s: seq, t });
      if ((JSON.parse(outbox.tenants) as string[]).length === 0) {
        if ((await this.store.changePost(groupId, seq, () => 'delete')) === 'deleted') await this.startNextPost(groupId, seq);
      }
      return this.finished(message);
    }
    const post = await this.o.source.getPost(groupId, seq);
    const tenants = new Set<string>();
    let after: string | undefined;
    if (post && !post.deleted) {
      do {
        const page = await this.o.source.listRecipients(groupId, after, this.ctx.chunkSize);
        const rows = page.recipients.filter((r) => receivesCopy(post, r)).map((r) => ({ userId: r.userId, tenant: r.tenantId }));
        await this.store.insertQueued(groupId, seq, rows);
        for (const { tenant } of rows) {
          if (tenants.has(tenant)) continue;
          tenants.add(tenant);
          await this.lanes.toLaneQueue({ k: 'send', g: groupId, s: seq, t: tenant });
        }
        after = page.next;
      } while (after !== undefined && this.running);
      if (!this.running) return;
    }
    const result = await this.store.changePost(groupId, seq, (row) => {
      // Lanes cannot finish before `expanded`, so the tenants written here are all still pending.
      const all = [...new Set([...(JSON.parse(row.tenants) as string[]), ...tenants])];
      return all.length === 0 ? 'delete' : { expanded: true, tenants: JSON.stringify(all), hb: Date.now() };
    });
    await this.finished(message);
    // Undefined: the row was gone (our delete timed out but landed): the next post's turn all the same.
    if (result === 'deleted' || result === undefined) await this.startNextPost(groupId, seq);
  }

  private async startNextPost(groupId: string, after: number): Promise<void> {
    const next = await this.store.firstOpenPost(groupId, after);
    if (next !== undefined) await this.enqueue({ k: 'post', g: groupId, s: next });
  }

  /** Queues work and polls at once (this instance is likely to take it, so it need not wait for the next poll). */
  private async enqueue(body: WorkBody): Promise<void> {
    await this.o.queue.send(body);
    this.sleeping?.();
  }

  /**
   * An edit or delete: once the post's own fan-out is done (until then unsent copies go out with the latest
   * version anyway), one `update` per lane with copies showing an older version.
   */
  private async change(message: WorkMessage<WorkBody>, groupId: string, seq: number): Promise<void> {
    if (await this.store.getPost(groupId, seq)) return this.later(message, 2);
    const post = await this.o.source.getPost(groupId, seq);
    if (!post) return this.finished(message);
    const tenants = new Set<string>();
    let cursor = '';
    for (;;) {
      const rows = await this.store.deliveries
        .listEntities<{ t: string }>({
          queryOptions: {
            filter: odata`PartitionKey eq ${postPartition(groupId, seq)} and st eq ${'sent'} and v lt ${post.version} and RowKey gt ${cursor}`,
            select: ['RowKey', 't'],
          },
        })
        .byPage({ maxPageSize: 1000 })
        .next();
      if (rows.done || rows.value.length === 0) break;
      for (const row of rows.value) tenants.add(row.t);
      cursor = rows.value[rows.value.length - 1]!.rowKey!;
    }
    for (const t of tenants) await this.lanes.toLaneQueue({ k: 'update', g: groupId, s: seq, t });
    await this.finished(message);
    if (post.deleted && tenants.size === 0) await this.afterUpdate(groupId, seq);
  }

  /** The hook after a deleted post's update pass; a failure is left to its sweep. */
  private async afterUpdate(groupId: string, seq: number): Promise<void> {
    await this.deletedHook?.(groupId, seq).catch((err: unknown) =>
      this.o.logger.warn({ err: (err as Error).message, groupId, seq }, 'records of a deleted post not deleted yet; the sweep will'),
    );
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

  /** How often held messages are extended and the posts they are about heartbeaten. */
  private get keepAliveMs(): number {
    return Math.max(250, Math.min(this.o.queue.visibilitySeconds * 500, this.o.staleMs / 3));
  }

  /** The posts this instance holds work for (received messages, lane items). */
  private heldPosts(): Set<string> {
    const posts = new Set<string>();
    for (const message of this.held.keys()) if ('s' in message.body) posts.add(`${message.body.g}|${message.body.s}`);
    return posts;
  }

  // ---- the sweep ----

  /**
   * Tables are the truth: every unfinished post whose work shows no heartbeat for `staleMs` (at start-up: every
   * one) is queued again, the lowest of each group only (the rest follow in order). A lost message loses nothing.
   */
  private async sweep(startup: boolean): Promise<void> {
    if (!this.running) return;
    try {
      const seen = new Set<string>();
      const now = Date.now();
      const stalled: typeof this.stalledPosts = [];
      const held = this.heldPosts();
      for await (const post of this.store.openPosts()) {
        if (seen.has(post.groupId)) continue;
        seen.add(post.groupId);
        if (post.hb < now - this.o.stallReportMs) stalled.push({ groupId: post.groupId, seq: post.seq, sinceMs: now - post.hb });
        // Work held here is judged by its progress (keepAlive gives stalled work back). Work held nowhere (its
        // message lost, e.g. to a receipt race) shows no heartbeat after two keep-alive passes: queued again at
        // the next sweep, so a lost message delays a post by about a sweep interval, not staleMs. Work held by
        // another instance heartbeats more often than that; a needless re-queue would be harmless anyway.
        const quiet = held.has(`${post.groupId}|${post.seq}`) ? this.o.staleMs : Math.max(this.o.sweepMs, 2 * this.keepAliveMs);
        if (!startup && post.hb > now - quiet) continue;
        await this.store.heartbeat(post.groupId, post.seq, now);
        await this.o.queue.send({ k: 'post', g: post.groupId, s: post.seq });
        this.o.logger.info({ groupId: post.groupId, seq: post.seq, startup }, 'unfinished fan-out queued again');
      }
      this.stalledPosts = stalled;
      // A lane whose holder died may still have work in its queue: ring its doorbell.
      for await (const tenant of expiredLanes(this.o.tables.lanes, now)) await this.enqueue({ k: 'lane', t: tenant });
      await requeueGiveUps(
        this.store,
        (work) => this.lanes.toLaneQueue(work),
        { retryAfterMs: this.o.retryGiveUpsAfterMs, maxGiveUps: this.o.maxGiveUps },
        this.o.logger,
        now,
      );
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'outbox sweep failed');
    }
  }
}

/** Runs the calls with at most `limit` in flight. */
async function inParallel(calls: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, calls.length) }, async () => {
      while (next < calls.length) await calls[next++]!();
    }),
  );
}
