import type { Logger } from '../logger';
import type { DeliveryStore } from './deliveryStore';
import { requeueGiveUps } from './giveUpSweep';
import type { Lane, LaneItem } from './lane';
import type { LaneHost } from './laneHost';
import { expiredLanes } from './leases';
import type { OutboxStore } from './outboxStore';
import type { TableClient } from '@azure/data-tables';
import type { WorkBody } from './workBody';
import type { WorkMessage, WorkQueue } from './workQueue';

export interface UpkeepOptions {
  store: DeliveryStore;
  outbox: OutboxStore;
  lanesTable: TableClient;
  lanes: LaneHost;
  queue: WorkQueue<WorkBody>;
  /** The engine's messages received and not yet finished, with the queue each came from. */
  held: Map<WorkMessage<WorkBody>, WorkQueue<WorkBody>>;
  logger: Logger;
  stats: { stalled: number };
  staleMs: number;
  sweepMs: number;
  stallReportMs: number;
  retryGiveUpsAfterMs: number;
  maxGiveUps: number;
  keepAliveMs: number;
  isRunning(): boolean;
  enqueue(body: WorkBody): Promise<void>;
}

export type StalledPost = { groupId: string; seq: number; sinceMs: number };

/**
 * What keeps the engine's work alive and finds what was lost: the keep-alive (held messages extended, their
 * posts heartbeaten, work without progress given back) and the sweep (tables are the truth: unfinished posts
 * without a heartbeat queued again, lanes of dead holders rung, given-up copies queued again).
 */
export class Upkeep {
  /** Unfinished posts whose work showed no progress for stallReportMs, as the last sweep found them. */
  stalledPosts: StalledPost[] = [];
  private keepingAlive = false;

  constructor(private readonly o: UpkeepOptions) {}

  get keepAliveMs(): number {
    return this.o.keepAliveMs;
  }

  /**
   * Keeps held messages invisible while their work makes progress, and heartbeats the posts they are about (the
   * heartbeat means progress: the sweep re-queues a post without one). Lane work that made no progress for
   * `staleMs` (and is not waiting out a pause its lane chose) is not kept alive: it is taken out of its lane and
   * its message given back, so a fresh item takes it up.
   */
  async keepAlive(): Promise<void> {
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
    for (const lane of this.o.lanes.held()) for (const item of lane.work) items.set(item.message as WorkMessage<WorkBody>, { lane, item });
    const posts = new Map<string, [string, number]>();
    const extending: Array<() => Promise<void>> = [];
    for (const [message, queue] of this.o.held) {
      const work = items.get(message);
      if (work && !work.lane.isPaused(now) && now - work.item.lastProgress > this.o.staleMs) {
        this.o.stats.stalled++;
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
            this.o.outbox.heartbeat(g, s).catch(() => undefined),
      ),
      16,
    );
  }

  /** The posts this instance holds work for (received messages, lane items). */
  private heldPosts(): Set<string> {
    const posts = new Set<string>();
    for (const message of this.o.held.keys()) if ('s' in message.body) posts.add(`${message.body.g}|${message.body.s}`);
    return posts;
  }

  /**
   * Tables are the truth: every unfinished post whose work shows no heartbeat for `staleMs` (at start-up: every
   * one) is queued again; a group's posts go out side by side (waves), so each is judged by its own heartbeat. A
   * lost message loses nothing.
   */
  async sweep(startup: boolean): Promise<void> {
    if (!this.o.isRunning()) return;
    try {
      const now = Date.now();
      const stalled: StalledPost[] = [];
      const held = this.heldPosts();
      for await (const post of this.o.outbox.openPosts()) {
        if (post.hb < now - this.o.stallReportMs) stalled.push({ groupId: post.groupId, seq: post.seq, sinceMs: now - post.hb });
        // Work held here is judged by its progress (keepAlive gives stalled work back). Work held nowhere (its
        // message lost, e.g. to a receipt race) shows no heartbeat after two keep-alive passes: queued again at
        // the next sweep, so a lost message delays a post by about a sweep interval, not staleMs. Work held by
        // another instance heartbeats more often than that; a needless re-queue would be harmless anyway.
        const quiet = held.has(`${post.groupId}|${post.seq}`) ? this.o.staleMs : Math.max(this.o.sweepMs, 2 * this.o.keepAliveMs);
        if (!startup && post.hb > now - quiet) continue;
        await this.o.outbox.heartbeat(post.groupId, post.seq, now);
        await this.o.queue.send({ k: 'post', g: post.groupId, s: post.seq });
        this.o.logger.info({ groupId: post.groupId, seq: post.seq, startup }, 'unfinished fan-out queued again');
      }
      this.stalledPosts = stalled;
      // A lane whose holder died may still have work in its queue: ring its doorbell.
      for await (const tenant of expiredLanes(this.o.lanesTable, now)) await this.o.enqueue({ k: 'lane', t: tenant });
      await requeueGiveUps(
        this.o.store,
        (work) => this.o.lanes.toLaneQueue(work),
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
