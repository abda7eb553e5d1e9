import type { Logger } from '../logger';
import { classify, type ChannelError, type ChannelSender } from './channelSender';
import type { DeliveryRow, DeliveryStore } from './deliveryStore';
import type { Lane, LaneItem, LaneOp } from './lane';
import type { FanoutSource, RenderCopy } from './ports';
import { backoffMs } from './rateLimits';
import type { WorkBody } from './workBody';
import type { WorkMessage, WorkQueue } from './workQueue';

export interface ItemContext {
  store: DeliveryStore;
  source: FanoutSource;
  render: RenderCopy;
  sender: ChannelSender;
  queue: WorkQueue<WorkBody>;
  logger: Logger;
  chunkSize: number;
  maxAttempts: number;
  backoffBaseMs: number;
  flushMs: number;
  flushSize: number;
  /** A post's fan-out is finished for every lane: the group's next post may start. */
  postDone(groupId: string, seq: number): Promise<void>;
  /** The item no longer holds its message (deleted or given back). */
  forget(message: WorkMessage<WorkBody>): void;
  /** Counts for the bench and tests. */
  stats: { sends: number; throttled: number; retried: number; unreachable: number; failed: number };
}

/** The conversation id inside an opaque conversation reference (the windows are per conversation). */
export function conversationIdOf(ref: unknown): string | undefined {
  const id = (ref as { conversation?: { id?: unknown } } | undefined)?.conversation?.id;
  return typeof id === 'string' && id ? id : undefined;
}

type Outcome = { rowKey: string } & Partial<DeliveryRow>;

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
  protected parked: Array<{ readyAt: number; conversationId: string; attempt: number; run: (attempt: number) => Promise<void> }> = [];
  private outcomes: Outcome[] = [];
  private flushTimer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  /** Sends done whose outcome is not yet written. */
  private pendingSends = 0;

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
  protected parkOrOp(now: number, conversationId: string, run: (attempt: number) => Promise<void>): LaneOp | undefined {
    const wait = this.lane.windows.waitMs(conversationId, now);
    if (wait > 0) {
      this.parked.push({ readyAt: now + wait, conversationId, attempt: 1, run });
      return undefined;
    }
    return this.op(conversationId, () => run(1));
  }

  /**
   * What a failed call means: 429 pauses the tenant lane (Retry-After, else exponential with jitter) and the call
   * waits; 412/5xx/network are retried with backoff up to maxAttempts; 403/404 and the rest are final.
   * Returns the final kind, or undefined when the call will be retried.
   */
  protected onFailure(
    err: unknown,
    conversationId: string,
    attempt: number,
    run: (attempt: number) => Promise<void>,
  ): 'unreachable' | 'failed' | undefined {
    const kind = classify(err);
    const status = (err as ChannelError).status;
    if (kind === 'throttled') {
      this.ctx.stats.throttled++;
      const pause = (err as ChannelError).retryAfterMs ?? backoffMs(this.lane.throttleCount + 1, this.ctx.backoffBaseMs);
      this.lane.pause(pause);
      this.parked.push({ readyAt: Date.now() + pause, conversationId, attempt, run });
      return undefined;
    }
    if (kind === 'retry' && attempt < this.ctx.maxAttempts) {
      this.ctx.stats.retried++;
      this.parked.push({ readyAt: Date.now() + backoffMs(attempt, this.ctx.backoffBaseMs), conversationId, attempt: attempt + 1, run });
      return undefined;
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
    const batch = this.outcomes.splice(0);
    const sends = this.pendingSends;
    this.pendingSends = 0;
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0 || this.crashed) return;
      try {
        await this.ctx.store.record(this.partitionKey, batch);
        this.recorded(batch.map((o) => o.rowKey));
      } catch (err) {
        // Not written: those rows stay `sending` and are resent after a restart (a possible duplicate, never a loss).
        this.ctx.logger.error({ err: (err as Error).message, item: this.key, rows: batch.length, sends }, 'delivery outcomes not recorded');
      }
    });
    return this.flushing;
  }

  /** Outcomes are in the table now (the rows are no longer `sending`). */
  protected recorded(rowKeys: string[]): void {
    void rowKeys;
  }

  protected get idle(): boolean {
    return this.inFlight === 0 && this.parked.length === 0;
  }

  unrecorded(): number {
    return this.pendingSends + this.inFlight;
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
