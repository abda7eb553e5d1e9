import { isAppError } from '../errors';
import type { Logger } from '../logger';
import type { ActionPosts } from './actionPosts';
import type { ActionService } from './actionService';

/** How often polls past their closing time are looked for: results go out within a minute or so of it. */
export const POLL_CLOSING_EVERY_MS = 60 * 1000;

/**
 * Closes polls at their closing time (issue 19): a sweep at start-up and every minute finds the polls whose
 * time has passed and whose results were not posted, locks each and posts its results once (ActionPosts:
 * one source key per poll). Two instances sweeping at once, or a sweep after a crash halfway, post nothing
 * twice. Overlapping sweeps of one instance share one run. Announcements past their "confirm by" need nothing.
 */
export class PollClosing {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    readonly deps: { service: Pick<ActionService, 'dueToClose' | 'resultsPosted'>; posts: Pick<ActionPosts, 'closeAtItsTime'> },
    private readonly logger: Logger,
    private readonly everyMs = POLL_CLOSING_EVERY_MS,
  ) {}

  start(): void {
    const tick = () => void this.sweep().catch((err: Error) => this.logger.warn({ err: err.message }, 'poll closing sweep failed'));
    tick();
    this.timer = setInterval(tick, this.everyMs);
    this.timer.unref();
  }

  /** One sweep as of `now` (overlapping calls share it); how many polls it closed and posted. */
  sweep(now: Date = new Date()): Promise<number> {
    this.running ??= this.closeDue(now).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  private async closeDue(now: Date): Promise<number> {
    let closed = 0;
    for await (const { groupId, actionId } of this.deps.service.dueToClose(now)) {
      try {
        if (await this.deps.posts.closeAtItsTime(groupId, actionId, now)) closed++;
      } catch (err) {
        // Its creator may no longer post there (left, or only admins post now): the poll is locked; no results post.
        if (isAppError(err) && (err.code === 'forbidden' || err.code === 'not_found')) {
          this.logger.warn({ groupId, actionId, reason: err.code }, "poll closed; its results could not be posted in its creator's name");
          await this.deps.service.resultsPosted(groupId, actionId);
        } else {
          // Storage or rate: the next sweep tries again.
          this.logger.warn({ groupId, actionId, err: (err as Error).message }, 'closing a poll at its time failed');
        }
      }
    }
    if (closed > 0) this.logger.info({ closed }, 'polls closed at their closing time');
    return closed;
  }
}
