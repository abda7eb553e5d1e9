import type { WindowTake } from './windowCounter';

/**
 * TableWindowCounter's fixed windows, in one process's memory (for domain tests and a single instance): a key's
 * window starts at its first use after the previous one ended; `take` counts one use and says whether it was
 * within the limit. Both pass the same cases in test/storage/bansAndCounters.test.ts.
 */
export class MemoryWindowCounter {
  private readonly windows = new Map<string, { windowStart: number; count: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async take(key: string, limit: number, windowMs: number): Promise<WindowTake> {
    const now = this.now();
    const row = this.windows.get(key);
    const open = row !== undefined && now < row.windowStart + windowMs;
    const windowStart = open ? row.windowStart : now;
    const count = open ? row.count : 0;
    const msBeforeNext = windowStart + windowMs - now;
    if (count >= limit) return { allowed: false, msBeforeNext };
    this.windows.set(key, { windowStart, count: count + 1 });
    return { allowed: true, msBeforeNext };
  }
}
