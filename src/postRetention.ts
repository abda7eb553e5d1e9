import type { Logger } from './logger';

const DAY_MS = 24 * 60 * 60 * 1000;
const SWEEP_EVERY_MS = 60 * 60 * 1000;

export interface RetentionTarget {
  deleteOlderThan(cutoff: string): Promise<number>;
}

/**
 * MESSAGE_RETENTION_DAYS: posts older than that many days are deleted, by a sweep at start-up and every hour
 * (not exactly at the minute a post turns old: retention is a policy of days). Empty = keep posts for ever.
 */
export class PostRetentionSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly target: RetentionTarget,
    private readonly retentionDays: number,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  start(): void {
    const tick = () => void this.sweep().catch((err: Error) => this.logger.warn({ err: err.message }, 'post retention sweep failed'));
    tick();
    this.timer = setInterval(tick, SWEEP_EVERY_MS);
    this.timer.unref();
  }

  /** One sweep (overlapping calls share it); how many posts it deleted. */
  sweep(): Promise<number> {
    this.running ??= (async () => {
      try {
        const cutoff = new Date(this.now().getTime() - this.retentionDays * DAY_MS).toISOString();
        const deleted = await this.target.deleteOlderThan(cutoff);
        if (deleted > 0) this.logger.info({ deleted, cutoff }, 'posts past retention deleted');
        return deleted;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }
}
