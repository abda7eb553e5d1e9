import type { Logger } from '../logger';

/**
 * Work that runs after the turn has answered (notices to other people). Failures are logged, never thrown at
 * the user who is done; shutdown waits for what is in flight.
 */
export class BackgroundWork {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly logger: Logger) {}

  run(description: string, work: () => Promise<void>): void {
    const task = work()
      .catch((err: Error) => this.logger.warn({ err: err.message, work: description }, 'background work failed'))
      .finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }
}
