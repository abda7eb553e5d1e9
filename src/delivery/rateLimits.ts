/**
 * Teams' limits, kept in process by the one instance that holds a tenant's lane (see leases.ts): a token bucket
 * for the tenant's budget and sliding windows per conversation. Small code on purpose: the windows must say how
 * long to wait (not just "no"), so that the lane can serve other conversations meanwhile.
 */

/** Sends per second with a small burst; `waitMs` says when the next token is there. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    // A burst of 20 ms: the channel's own bucket must never see more than the budget at once (a larger
    // catch-up burst after a stall of the process met 429s in the bench).
    private readonly capacity = Math.max(1, ratePerSecond / 50),
    now = Date.now(),
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
    this.last = now;
  }

  /** 0 when a token can be taken now, else the milliseconds until one can. */
  waitMs(now = Date.now()): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
  }

  take(now = Date.now()): void {
    this.refill(now);
    this.tokens -= 1;
  }
}

/** Teams' per bot per conversation limits: 7 per second, 8 per 2 s, 60 per 30 s, 1,800 per hour. */
export const CONVERSATION_WINDOWS: ReadonlyArray<readonly [limit: number, ms: number]> = [
  [7, 1_000],
  [8, 2_000],
  [60, 30_000],
  [1_800, 3_600_000],
];

/** Sliding windows per conversation (a log of send times within the longest window) plus 429 pauses. */
export class ConversationWindows {
  private readonly log = new Map<string, number[]>();
  private readonly pausedUntil = new Map<string, number>();
  private readonly longest: number;

  constructor(private readonly windows = CONVERSATION_WINDOWS) {
    this.longest = Math.max(...windows.map(([, ms]) => ms));
  }

  /** 0 when one more operation in this conversation stays within every window, else the wait in ms. */
  waitMs(conversationId: string, now = Date.now()): number {
    let wait = Math.max(0, (this.pausedUntil.get(conversationId) ?? 0) - now);
    const times = this.log.get(conversationId);
    if (!times) return wait;
    while (times.length && times[0]! <= now - this.longest) times.shift();
    for (const [limit, ms] of this.windows) {
      if (times.length < limit) continue;
      // The send `limit` places back must leave the window before another fits.
      const oldest = times[times.length - limit]!;
      if (oldest > now - ms) wait = Math.max(wait, oldest + ms - now + 1);
    }
    return wait;
  }

  record(conversationId: string, now = Date.now()): void {
    let times = this.log.get(conversationId);
    if (!times) this.log.set(conversationId, (times = []));
    times.push(now);
  }

  pause(conversationId: string, untilMs: number): void {
    this.pausedUntil.set(conversationId, Math.max(untilMs, this.pausedUntil.get(conversationId) ?? 0));
  }

  /** Forgets conversations with nothing in any window (keeps memory flat across large fan-outs). */
  prune(now = Date.now()): void {
    for (const [id, times] of this.log) if (!times.length || times[times.length - 1]! <= now - this.longest) this.log.delete(id);
    for (const [id, until] of this.pausedUntil) if (until <= now) this.pausedUntil.delete(id);
  }
}

/** Exponential backoff with full jitter: attempt 1 -> up to base, 2 -> up to 2 * base, ... capped. */
export function backoffMs(attempt: number, baseMs = 1_000, capMs = 60_000, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
