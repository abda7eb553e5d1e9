import type { Logger } from '../logger';
import { classify, type ChannelError, type ChannelSender } from './channelSender';
import type { DeliveryStore, Outcome } from './deliveryStore';
import type { Lane, LaneItem, LaneOp } from './lane';
import type { OutboxStore } from './outboxStore';
import type { FanoutSource, RenderCopy } from './ports';
import { backoffMs } from './rateLimits';
import type { WorkBody } from './workBody';
import type { WorkMessage, WorkQueue } from './workQueue';

export interface ItemContext {
  store: DeliveryStore;
  outbox: OutboxStore;
  source: FanoutSource;
  render: RenderCopy;
  sender: ChannelSender;
  queue: WorkQueue<WorkBody>;
  logger: Logger;
  chunkSize: number;
  /** Tries of a call that fails while other calls of its lane go through (its own conversation's trouble). */
  maxAttempts: number;
  backoffBaseMs: number;
  /** A call the channel keeps failing transiently (an outage) is given up after this long (hours). */
  giveUpMs: number;
  flushMs: number;
  flushSize: number;
  /** A deleted post's update pass is over in this lane (issue 17: its records may go). */
  afterUpdate?(groupId: string, seq: number): Promise<void>;
  /** The item no longer holds its message (deleted or given back). */
  forget(message: WorkMessage<WorkBody>): void;
  /** Counts for the bench and tests. */
  stats: { sends: number; throttled: number; retried: number; unreachable: number; failed: number; gaveUp: number };
}

/** Where a call stands in its retries: `n` tries spent, and when it first failed. */
export interface Attempt {
  readonly n: number;
  readonly firstFailureAt?: number;
}

export const FIRST_ATTEMPT: Attempt = { n: 1 };

type Run = (attempt: Attempt) => Promise<void>;

/** The conversation id inside an opaque conversation reference (the windows are per conversation). */
export function conversationIdOf(ref: unknown): string | undefined {
  const id = (ref as { conversation?: { id?: unknown } } | undefined)?.conversation?.id;
  return typeof id === 'string' && id ? id : undefined;
}

/**
 * What every item shares: the queue message it works for, buffered outcome writes (one transaction per
 * `flushSize` rows or `flushMs`), parked calls (a conversation window or a retry backoff) and what to do when a
 * call fails.
 */
export abstract class BaseItem implements LaneItem {
  protected halted = false;
  protected crashed = false;
  protected inFlight = 0;
  /** A page fetch is on its way (see fetchPage). */
  protected fetching = false;
  protected parked: Array<{ readyAt: number; conversationId: string; attempt: Attempt; run: Run }> = [];
  private outcomes: Outcome[] = [];
  private flushTimer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  /** Sends done whose outcome is not yet written. */
  private pendingSends = 0;
  private progressAt = Date.now();
  /** Outcome rows in a write on its way (or waiting to be retried). */
  private writing = 0;
  private writingSends = 0;

  constructor(
    readonly key: string,
    protected readonly ctx: ItemContext,
    protected readonly lane: Lane,
    readonly message: WorkMessage<WorkBody>,
    protected readonly partitionKey: string,
  ) {}

  abstract start(): void;
  protected abstract nextFresh(now: number): LaneOp | undefined;

  take(now: number): LaneOp | undefined {
    if (this.halted) return undefined;
    for (let i = 0; i < this.parked.length; i++) {
      const p = this.parked[i]!;
      if (p.readyAt <= now && this.lane.windows.waitMs(p.conversationId, now) === 0) {
        this.parked.splice(i, 1);
        return this.op(p.conversationId, () => p.run(p.attempt));
      }
    }
    return this.nextFresh(now);
  }

  /** Wraps a call so that the item knows what is in flight. */
  protected op(conversationId: string, run: () => Promise<void>): LaneOp {
    this.inFlight++;
    return {
      conversationId,
      execute: async () => {
        try {
          await run();
        } finally {
          this.inFlight--;
          this.afterCall();
        }
      },
    };
  }

  /** Called after each call and each fetch: the subclass checks whether it is finished. */
  protected abstract afterCall(): void;

  /** A conversation not within its windows: the call waits, the lane serves others meanwhile. */
  protected parkOrOp(now: number, conversationId: string, run: Run): LaneOp | undefined {
    const wait = this.lane.windows.waitMs(conversationId, now);
    if (wait > 0) {
      this.parked.push({ readyAt: now + wait, conversationId, attempt: FIRST_ATTEMPT, run });
      return undefined;
    }
    return this.op(conversationId, () => run(FIRST_ATTEMPT));
  }

  /** The call waits `ms` and runs again with the same attempt (nothing spent: storage, not the channel, failed). */
  protected parkFor(ms: number, conversationId: string, attempt: Attempt, run: Run): void {
    this.parked.push({ readyAt: Date.now() + ms, conversationId, attempt, run });
  }

  /** A channel call went through: the lane's outage (if any) is over, and the item moved on. */
  protected wentThrough(): void {
    this.lane.succeeded();
    this.progressed();
  }

  protected progressed(): void {
    this.progressAt = Date.now();
  }

  /**
   * Calls waiting on purpose (a window, a backoff), calls in flight (bounded by the sender's timeout) and
   * outcomes being written (retried until storage answers; dropping the item then would resend them) are not a
   * stall: the item counts as moving.
   */
  get lastProgress(): number {
    if (this.parked.length || this.inFlight || this.outcomes.length || this.writing) return Date.now();
    return this.progressAt;
  }

  /**
   * What a failed call means. 429 pauses the tenant lane (Retry-After, else exponential with jitter) and the call
   * waits. A transient failure (5xx, timeout, network) of more than one conversation is an outage: the lane
   * pauses and probes (see Lane.transientFailure) and the call waits without spending a try, for up to
   * `giveUpMs` (hours). Only a call whose conversation alone fails spends its tries (maxAttempts, with
   * backoff), and so does a call to an `unproven` chat (never delivered to), which is no evidence of an
   * outage. 403/404 (`unreachable`) and other answers (`failed`) are final. A transient give-up (`gaveUp`) is
   * not: the sweep tries the copy again later. Returns undefined when the call will run again.
   */
  protected onFailure(
    err: unknown,
    conversationId: string,
    attempt: Attempt,
    run: Run,
    unproven = false,
  ): 'unreachable' | 'failed' | 'gaveUp' | undefined {
    const kind = classify(err);
    const status = (err as ChannelError).status;
    const now = Date.now();
    if (kind === 'throttled') {
      this.ctx.stats.throttled++;
      const pause = (err as ChannelError).retryAfterMs ?? backoffMs(this.lane.throttleCount + 1, this.ctx.backoffBaseMs);
      this.lane.pause(pause);
      this.parked.push({ readyAt: now + pause, conversationId, attempt, run });
      return undefined;
    }
    if (kind === 'retry') {
      const firstFailureAt = attempt.firstFailureAt ?? now;
      const outage = this.lane.transientFailure(conversationId, unproven);
      const n = outage ? attempt.n : attempt.n + 1;
      if (n <= this.ctx.maxAttempts && now - firstFailureAt < this.ctx.giveUpMs) {
        this.ctx.stats.retried++;
        // In an outage the lane's pause (and its probe) decide when the call runs again.
        const readyAt = outage ? now : now + backoffMs(n - 1, this.ctx.backoffBaseMs);
        this.parked.push({ readyAt, conversationId, attempt: { n, firstFailureAt }, run });
        return undefined;
      }
      this.ctx.stats.gaveUp++;
      this.ctx.logger.warn(
        { status, item: this.key, tries: n, failingMs: now - firstFailureAt, err: (err as Error).message },
        'delivery given up for now; the sweep tries it again later',
      );
      return 'gaveUp';
    }
    if (kind === 'unreachable') {
      this.ctx.stats.unreachable++;
      return 'unreachable';
    }
    this.ctx.stats.failed++;
    this.ctx.logger.warn({ status, item: this.key, err: (err as Error).message }, 'delivery failed for good');
    return 'failed';
  }

  protected record(outcome: Outcome, wasSend = false): void {
    if (this.crashed) return;
    this.outcomes.push(outcome);
    if (wasSend) this.pendingSends++;
    if (this.outcomes.length >= this.ctx.flushSize) void this.flush();
    else this.flushTimer ??= setTimeout(() => void this.flush(), this.ctx.flushMs);
  }

  /** Writes buffered outcomes (one transaction per 100); calls are serialized. */
  protected flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushing = this.flushing.then(() => this.writeOutcomes());
    return this.flushing;
  }

  /**
   * Until written: a failed or timed-out write (storage stalled) is tried again with backoff, the rows staying in
   * progress meanwhile, so the item neither finishes with rows left `sending` (the group's next post would wait
   * for ever) nor lets them be sent again. Writes are merges of the same values: one that timed out but landed is
   * harmless to repeat. A halted item tries a few times only (its successor would resend what is left: a
   * possible duplicate, never a loss).
   */
  private async writeOutcomes(): Promise<void> {
    for (let failures = 0; ; failures++) {
      if (this.crashed) return;
      const batch = this.outcomes.splice(0);
      const sends = this.pendingSends;
      this.pendingSends = 0;
      if (batch.length === 0) return;
      this.writing = batch.length;
      this.writingSends = sends;
      try {
        await this.ctx.store.record(this.partitionKey, batch);
        this.writing = this.writingSends = 0;
        this.progressed();
        this.recorded(batch.map((o) => o.rowKey));
        if (failures > 0)
          this.ctx.logger.info({ item: this.key, rows: batch.length, failures }, 'delivery outcomes recorded after a retry');
        return;
      } catch (err) {
        this.writing = this.writingSends = 0;
        this.outcomes.unshift(...batch);
        this.pendingSends += sends;
        const giveUp = this.halted && failures >= 2;
        this.ctx.logger[giveUp ? 'error' : 'warn'](
          { err: (err as Error).message, item: this.key, rows: batch.length, sends, failures: failures + 1 },
          giveUp ? 'delivery outcomes not recorded' : 'delivery outcomes not recorded yet; retrying',
        );
        if (giveUp) return;
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** Math.min(failures, 5))));
      }
    }
  }

  /** Outcomes are in the table now (the rows are no longer `sending`). */
  protected recorded(rowKeys: string[]): void {
    void rowKeys;
  }

  protected get idle(): boolean {
    return this.inFlight === 0 && this.parked.length === 0;
  }

  unrecorded(): number {
    return this.pendingSends + this.writingSends + this.inFlight;
  }

  async halt(crash: boolean): Promise<void> {
    this.halted = true;
    if (crash) {
      this.crashed = true;
      clearTimeout(this.flushTimer);
      return;
    }
    await this.flush();
    // Someone else (the lane's next holder) continues at once.
    this.ctx.forget(this.message);
    await this.ctx.queue.release(this.message, 0).catch(() => undefined);
  }

  /** Done: outcomes written, the message deleted, out of the lane. */
  protected async complete(): Promise<void> {
    if (this.halted) return;
    this.halted = true;
    await this.flush();
    this.ctx.forget(this.message);
    await this.ctx.queue.delete(this.message);
    this.lane.remove(this);
  }

  /**
   * One page fetch at a time: a failure is logged and tried again after a pause; either way the lane looks for
   * work again and the item checks whether it is done.
   */
  protected async fetchPage(kind: string, fetch: () => Promise<void>): Promise<void> {
    if (this.fetching || this.halted) return;
    this.fetching = true;
    try {
      await fetch();
      this.progressed();
    } catch (err) {
      this.ctx.logger.warn({ err: (err as Error).message, item: this.key }, `${kind} page failed; retrying`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      this.fetching = false;
      this.lane.wake();
      this.afterCall();
    }
  }
}
