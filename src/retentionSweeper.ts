import type { Logger } from './logger';

export const DAY_MS = 24 * 60 * 60 * 1000;
const SWEEP_EVERY_MS = 60 * 60 * 1000;

export interface RetentionTarget {
  /** Deletes what is older than `cutoff` (ISO 8601); how many rows went. */
  deleteOlderThan(cutoff: string): Promise<number>;
}

export interface RetentionPolicy {
  /** What goes, for the log line ("posts past retention"). */
  what: string;
  /** How long rows are kept. */
  keepMs: number;
}

/**
 * Deletes what a target holds past its policy's age, by a sweep at start-up and every hour (not at the minute a
 * row turns old: these policies are of hours and days). Overlapping sweeps share one run.
 * - MESSAGE_RETENTION_DAYS: posts (absent = kept for ever).
 * - Redelivery leases: a day after their turn (see DedupStore.deleteLeasesClaimedBefore).
 */
export class RetentionSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly target: RetentionTarget,
    private readonly policy: RetentionPolicy,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  start(): void {
    const tick = () =>
      void this.sweep().catch((err: Error) => this.logger.warn({ err: err.message, what: this.policy.what }, 'retention sweep failed'));
    tick();
    this.timer = setInterval(tick, SWEEP_EVERY_MS);
    this.timer.unref();
  }

  /** One sweep (overlapping calls share it); how many rows it deleted. */
  sweep(): Promise<number> {
    this.running ??= (async () => {
      try {
        const cutoff = new Date(this.now().getTime() - this.policy.keepMs).toISOString();
        const deleted = await this.target.deleteOlderThan(cutoff);
        if (deleted > 0) this.logger.info({ deleted, cutoff, what: this.policy.what }, 'rows past retention deleted');
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
