import type { Logger } from '../logger';
import { isLease, type Lease, type LaneLeases } from './leases';
import { backoffMs, ConversationWindows, TokenBucket } from './rateLimits';

/** One channel call, ready to go now: its conversation is within Teams' windows. */
export interface LaneOp {
  readonly conversationId: string;
  execute(): Promise<void>;
}

/** Work in a lane (a post's sends to one tenant, an edit's updates, a one-off). Groups take turns item by item. */
export interface LaneItem {
  readonly key: string;
  /** The queue message the item works for. */
  readonly message: unknown;
  /** The next call that may go now, or undefined (nothing ready: fetching, waiting on a window or done). */
  take(now: number): LaneOp | undefined;
  /** Starts fetching; the item calls lane.wake() when it has work and lane.remove() when done. */
  start(): void;
  /** The lane is lost or stopping: stop taking work; `crash` = write nothing more. */
  halt(crash: boolean): Promise<void>;
  /** Sends made whose outcome is not yet in the table (what a crash now could repeat). */
  unrecorded(): number;
  /** When the item last moved on (a page read, an outcome written, a call that went through). */
  readonly lastProgress: number;
}

export interface LaneOptions {
  tenant: string;
  lease: Lease;
  leases: LaneLeases;
  budgetRps: number;
  maxInFlight: number;
  windows: ConversationWindows;
  logger: Logger;
  /** Called when the lane ends (lease lost, idle, stopped). */
  onEnd(lane: Lane, items: LaneItem[]): void;
  idleMs: number;
  /** Whether the lane may be given up when idle (its queue holds nothing, not even invisible messages). */
  mayEnd(): Promise<boolean>;
  /** First pause of an outage (the channel not answering); each further failed probe doubles it, up to the cap. */
  outageBaseMs?: number;
  outageCapMs?: number;
}

/**
 * The one place that sends to a tenant on this instance, while it holds the tenant's lease: paces calls with
 * the tenant's token bucket, keeps each conversation within its windows, pauses on 429, and serves its items in
 * turn (round-robin), so that a post to 10,000 members does not hold back a post to 5.
 */
export class Lane {
  readonly tenant: string;
  readonly windows: ConversationWindows;
  private readonly bucket: TokenBucket;
  private items: LaneItem[] = [];
  private turn = 0;
  private inFlight = 0;
  private pausedUntil = 0;
  private throttles = 0;
  /** Failed probes in a row while the channel does not answer (0: no outage). */
  private outageStreak = 0;
  private outageStartedAt = 0;
  /** Conversations that failed transiently since the last call that went through. */
  private readonly failingConversations = new Set<string>();
  private lastSuccess = Date.now();
  private active = true;
  /** Ending cleanly: the lease is kept (renewed) until the calls in flight are recorded. */
  private ending = false;
  private wakeUp?: () => void;
  private renewTimer?: NodeJS.Timeout;
  private idleSince = Date.now();
  /** When the lane last went from no work to some. */
  private busySince = Date.now();
  private pumping?: Promise<void>;
  private readonly flights = new Set<Promise<void>>();

  constructor(private readonly options: LaneOptions) {
    this.tenant = options.tenant;
    this.windows = options.windows;
    this.bucket = new TokenBucket(options.budgetRps);
    this.renewTimer = setInterval(() => void this.renew(), Math.max(200, options.leases.durationMs / 3));
    this.pumping = this.pump();
  }

  get lease(): Lease {
    return this.options.lease;
  }

  has(key: string): boolean {
    return this.items.some((item) => item.key === key);
  }

  /** False when the lane has just ended (idle or lease lost): the caller looks for the lane again. */
  add(item: LaneItem): boolean {
    if (!this.active) return false;
    if (this.items.length === 0) this.busySince = Date.now();
    this.items.push(item);
    item.start();
    this.wake();
    return true;
  }

  remove(item: LaneItem): void {
    this.items = this.items.filter((i) => i !== item);
    if (this.items.length === 0) this.idleSince = Date.now();
    this.wake();
  }

  wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }

  /** 429 from Teams: nothing goes to this tenant until the pause ends. */
  pause(ms: number): void {
    this.throttles++;
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
    this.options.logger.warn({ tenant: this.tenant, pauseMs: ms }, 'tenant lane paused after 429');
  }

  get throttleCount(): number {
    return this.throttles;
  }

  /**
   * A transient failure (5xx, timeout, connection refused or reset). Once two or more conversations have failed
   * so since the last call that went through, the channel itself is not answering: like a 429, the whole lane
   * waits, so that an outage costs the copies none of their tries. After the pause a single call goes as a
   * probe; each failed probe doubles the pause (up to the cap), the first call that goes through ends the outage.
   * Calls already in flight when the outage began fail together and count once. Returns whether it is an outage
   * (false: so far only this conversation fails, which is its own trouble).
   *
   * `unproven`: a conversation the bot has never delivered to (a chat it has just created for someone bulk add
   * reached, or a member it could not reach before). Such chats fail on their own (Teams or the playground
   * answer 5xx to a chat that is not ready), so they are no evidence of an outage: a burst of welcomes refused
   * would otherwise pause the whole tenant's delivery behind probes that keep failing. They neither start an
   * outage nor lengthen one; during an outage they wait like the rest, paced at the first pause so that they
   * cannot hammer a channel that is down.
   */
  transientFailure(conversationId: string, unproven = false): boolean {
    const now = Date.now();
    if (unproven) {
      if (this.outageStreak === 0) return false;
      this.pausedUntil = Math.max(this.pausedUntil, now + (this.options.outageBaseMs ?? 1_000));
      return true;
    }
    this.failingConversations.add(conversationId);
    if (this.failingConversations.size < 2) return false;
    if (this.pausedUntil > now && this.outageStreak > 0) return true;
    if (this.outageStreak === 0) {
      this.outageStartedAt = now;
      this.options.logger.warn({ tenant: this.tenant }, 'channel not answering; tenant lane paused, copies wait');
    }
    this.outageStreak++;
    const ms = backoffMs(this.outageStreak, this.options.outageBaseMs ?? 1_000, this.options.outageCapMs ?? 60_000);
    this.pausedUntil = Math.max(this.pausedUntil, now + ms);
    this.options.logger.debug({ tenant: this.tenant, pauseMs: ms, probes: this.outageStreak }, 'tenant lane paused for an outage');
    return true;
  }

  /** A call went through: an outage, if any, is over. */
  succeeded(): void {
    this.lastSuccess = Date.now();
    this.failingConversations.clear();
    if (this.outageStreak > 0) {
      this.options.logger.info(
        { tenant: this.tenant, outageMs: this.lastSuccess - this.outageStartedAt, probes: this.outageStreak },
        'channel answers again; tenant lane resumed',
      );
      this.outageStreak = 0;
      this.wake();
    }
  }

  /** Waiting out a pause it chose (429 or an outage): the lane is not stalled meanwhile. */
  isPaused(now = Date.now()): boolean {
    return this.pausedUntil > now || this.outageStreak > 0;
  }

  /** Since when the lane has had work and sent nothing (undefined: it has none, or sends). */
  noProgressSince(): number | undefined {
    if (this.items.length === 0) return undefined;
    return Math.max(this.lastSuccess, this.busySince);
  }

  /** An item that made no progress: out of the lane, its message given back (a fresh item takes it up). */
  async drop(item: LaneItem): Promise<void> {
    if (!this.items.includes(item)) return;
    this.items = this.items.filter((i) => i !== item);
    if (this.items.length === 0) this.idleSince = Date.now();
    await item.halt(false);
  }

  /** The items in the lane (the engine checks their progress). */
  get work(): readonly LaneItem[] {
    return this.items;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(
        () => {
          this.wakeUp = undefined;
          resolve();
        },
        Math.max(1, ms),
      );
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async pump(): Promise<void> {
    while (this.active) {
      const now = Date.now();
      // Stop sending a little before our own lease expires unless renewed: another instance may take over then.
      if (now >= this.options.lease.expiresAt - Math.min(2_000, this.options.leases.durationMs / 5)) {
        await this.sleep(50);
        continue;
      }
      if (this.pausedUntil > now) {
        await this.sleep(this.pausedUntil - now);
        continue;
      }
      // During an outage one call at a time probes the channel.
      if (this.inFlight >= (this.outageStreak > 0 ? 1 : this.options.maxInFlight)) {
        await this.sleep(1_000);
        continue;
      }
      const wait = this.bucket.waitMs(now);
      if (wait > 0) {
        await this.sleep(wait);
        continue;
      }
      const op = this.next(now);
      if (!op) {
        if (this.items.length === 0 && now - this.idleSince > this.options.idleMs) {
          if (await this.options.mayEnd().catch(() => false)) {
            await this.end(false);
            return;
          }
          this.idleSince = Date.now();
        }
        await this.sleep(this.items.length ? 50 : this.options.idleMs);
        continue;
      }
      this.bucket.take(now);
      this.windows.record(op.conversationId, now);
      this.inFlight++;
      const flight = op
        .execute()
        .catch((err: Error) => this.options.logger.error({ err: err.message, tenant: this.tenant }, 'lane operation failed'))
        .finally(() => {
          this.inFlight--;
          this.flights.delete(flight);
          this.wake();
        });
      this.flights.add(flight);
    }
  }

  private next(now: number): LaneOp | undefined {
    const count = this.items.length;
    for (let i = 0; i < count; i++) {
      const index = (this.turn + i) % count;
      const op = this.items[index]!.take(now);
      if (op) {
        this.turn = (index + 1) % Math.max(1, this.items.length);
        return op;
      }
    }
    return undefined;
  }

  private async renew(): Promise<void> {
    if (!this.active && !this.ending) return;
    try {
      const kept = await this.options.leases.renew(this.options.lease);
      // A renewal that crossed the lane's own end (its release deleted the row) lost nothing.
      if (!kept && this.active) {
        this.options.logger.warn({ tenant: this.tenant }, 'tenant lane lease lost; another instance took it over');
        await this.end(false);
      }
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message, tenant: this.tenant }, 'tenant lane lease renewal failed');
    }
  }

  /**
   * Ends the lane: items halt (flushing what they sent unless `crash`), the lease is given up unless `crash`.
   * On a clean end the lease is still renewed until the calls in flight are back and recorded: on a loaded
   * machine they can take seconds, and a successor that took the lane meanwhile would send them again (out of
   * the member's order, too).
   */
  async end(crash: boolean): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.ending = !crash;
    if (crash) clearInterval(this.renewTimer);
    this.wake();
    const items = this.items;
    this.items = [];
    try {
      if (!crash) await Promise.all([...this.flights]);
      await Promise.all(items.map((item) => item.halt(crash)));
    } finally {
      clearInterval(this.renewTimer);
      this.ending = false;
    }
    if (!crash) await this.options.leases.release(this.options.lease).catch(() => undefined);
    this.options.onEnd(this, items);
  }

  unrecorded(): number {
    return this.items.reduce((sum, item) => sum + item.unrecorded(), 0);
  }

  get isActive(): boolean {
    return this.active;
  }

  /** Ending cleanly: its calls in flight are still coming back (no other lane of this tenant may start here yet). */
  get isEnding(): boolean {
    return this.ending;
  }

  async stopped(): Promise<void> {
    await this.pumping;
  }
}

export { isLease };
