import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitedError } from '../errors';
import type { JoinScope } from './model';
import type { JoinCodeAttempts } from './ports';

/**
 * Anti-automation for joining (ASVS 2.4.1): join codes are 50 bits, short enough to type and so worth guessing
 * without a limit. Each user gets `failures` wrong links or codes per window; then joins are refused until the
 * window passes. Counts live in memory (rate-limiter-flexible): they protect, they are not data, and a restart
 * forgiving a few attempts is harmless next to 2^50. This is the fast first line for one process; the
 * limit that holds across parallel requests and instances is JoinCodeLimiter below.
 */
export class JoinAttemptLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(options: { failures?: number; windowSeconds?: number } = {}) {
    this.limiter = new RateLimiterMemory({ points: options.failures ?? 10, duration: options.windowSeconds ?? 600 });
  }

  async check(userId: string): Promise<void> {
    const state = await this.limiter.get(userId);
    if (state && state.remainingPoints <= 0) throw tooMany(state.msBeforeNext);
  }

  async failed(userId: string): Promise<void> {
    try {
      await this.limiter.consume(userId);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw tooMany(err.msBeforeNext);
      throw err;
    }
  }
}

/** One use of a key counted by a WindowCounter: whether it was within the limit. */
export interface WindowTake {
  allowed: boolean;
  /** Until the current window ends. */
  msBeforeNext: number;
}

/** Shared fixed-window counting (TableWindowCounter in production). */
export interface WindowCounter {
  take(key: string, limit: number, windowMs: number): Promise<WindowTake>;
}

export interface JoinCodeLimiterOptions {
  /** Code checks per user, per conversation, per tenant and per client address in one window. */
  checks?: number;
  windowSeconds?: number;
}

/**
 * Join-code checks, counted in shared storage BEFORE the code is checked (right or wrong): at most `checks`
 * per user, per conversation, per tenant and per client address in each window. Check-then-count would let
 * 100 parallel guesses all pass the check before the first failure is counted; counting first cannot.
 * A new user id per try (easy to fake without channel authentication) is still stopped by the conversation
 * and the tenant. Keys are taken one after another, the user's first: someone over their own limit does not
 * also use up their conversation's or tenant's.
 */
export class JoinCodeLimiter implements JoinCodeAttempts {
  private readonly checks: number;
  private readonly windowMs: number;

  constructor(
    private readonly counter: WindowCounter,
    options: JoinCodeLimiterOptions = {},
  ) {
    this.checks = options.checks ?? 10;
    this.windowMs = (options.windowSeconds ?? 600) * 1000;
  }

  async count(userId: string, scope: JoinScope): Promise<void> {
    const keys: string[] = [`user|${userId}`];
    if (scope.conversationId) keys.push(`conversation|${scope.conversationId}`);
    if (scope.tenantId) keys.push(`tenant|${scope.tenantId.toLowerCase()}`);
    if (scope.clientAddress) keys.push(`address|${scope.clientAddress}`);
    for (const key of keys) {
      const taken = await this.counter.take(`joincode|${key}`, this.checks, this.windowMs);
      if (!taken.allowed) throw tooMany(taken.msBeforeNext);
    }
  }
}

function tooMany(msBeforeNext: number): RateLimitedError {
  const minutes = Math.max(1, Math.ceil(msBeforeNext / 60_000));
  return new RateLimitedError(
    `Too many invite links or codes that did not work. Please wait ${minutes} minute${minutes === 1 ? '' : 's'} and check the link with the person who sent it.`,
    Math.ceil(msBeforeNext / 1000),
  );
}
