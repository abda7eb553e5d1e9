import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitedError } from '../errors';
import { POSTS_PER_MINUTE, type PostRateLimiter } from './posts';

/**
 * At most 10 posts a minute per member. Counted per process, in memory (rate-limiter-flexible): the limit
 * protects the members' chats from a flood, it is not data; with several instances a member could post up to
 * 10 a minute on each, which Teams' own per-conversation limits still bound.
 */
export class MemoryPostRateLimiter implements PostRateLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(options: { points?: number; durationSeconds?: number } = {}) {
    this.limiter = new RateLimiterMemory({ points: options.points ?? POSTS_PER_MINUTE, duration: options.durationSeconds ?? 60 });
  }

  async take(userId: string): Promise<void> {
    try {
      await this.limiter.consume(userId);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      const seconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      throw new RateLimitedError(
        `You can post at most ${POSTS_PER_MINUTE} times a minute. Please wait ${seconds} seconds and send it again.`,
        seconds,
      );
    }
  }
}
