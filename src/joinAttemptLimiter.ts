import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitedError } from './errors';

/**
 * Anti-automation for joining (ASVS 2.4.1): join codes are 50 bits, short enough to type and so worth guessing
 * without a limit. Each user gets `failures` wrong links or codes per window; then joins are refused until the
 * window passes. Counts live in memory (rate-limiter-flexible): they protect, they are not data, and a restart
 * forgiving a few attempts is harmless next to 2^50.
 */
export class JoinAttemptLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(options: { failures?: number; windowSeconds?: number } = {}) {
    this.limiter = new RateLimiterMemory({ points: options.failures ?? 10, duration: options.windowSeconds ?? 600 });
  }

  async check(userId: string): Promise<void> {
    const state = await this.limiter.get(userId);
    if (state && state.remainingPoints <= 0) throw tooMany(state);
  }

  async failed(userId: string): Promise<void> {
    try {
      await this.limiter.consume(userId);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw tooMany(err);
      throw err;
    }
  }
}

function tooMany(state: RateLimiterRes): RateLimitedError {
  const minutes = Math.max(1, Math.ceil(state.msBeforeNext / 60_000));
  return new RateLimitedError(
    `Too many invite links or codes that did not work. Please wait ${minutes} minute${minutes === 1 ? '' : 's'} and check the link with the person who sent it.`,
    Math.ceil(state.msBeforeNext / 1000),
  );
}
