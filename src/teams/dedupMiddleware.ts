import { ActivityTypes, type Middleware, type TurnContext } from 'botbuilder';
import { storageUnavailableIn } from '../errors';
import type { Logger } from '../logger';
import type { DedupStore, Lease } from '../storage/dedupStore';

/** Invokes whose duplicates are handled by their own protocol (the SSO exchange dedupes on its exchange id). */
const SELF_DEDUPLICATING_INVOKES = new Set(['signin/tokenExchange', 'signin/verifyState', 'signin/failure']);

export const DEFAULT_REDELIVERY_LEASE_MS = 60_000;

export interface RedeliveryGuardOptions {
  /**
   * Reads the turn will need anyway (conversation state), started together with the lease: the lease is a
   * write that must finish before any side effect, but nothing stops the read from overlapping it.
   */
  preload?: (context: TurnContext) => Promise<unknown>;
  /** Activities whose handling is idempotent by construction (a join): no lease needed. */
  idempotent?: (context: TurnContext) => boolean;
  /** How long a delivery holds its activity before a redelivery may run it again (REDELIVERY_LEASE_MS). */
  leaseMs?: number;
}

/**
 * Storage effects once, replies at least once. Teams redelivers an activity (same id) when the bot answers
 * slowly (about 15 s) or not at all. Each delivery asks for a lease on the activity id in its own row of the
 * dedup table (not conversation state, which a group chat's members share):
 * - the first delivery gets it and runs the turn; when the turn has returned (its effects and state written,
 *   its replies sent) the row is marked done;
 * - a redelivery while the lease is live does nothing (200; an invoke gets "Already done."), since the first
 *   delivery is still at work or died less than a lease ago;
 * - a redelivery after the lease expired without "done" (the process died mid-turn) takes the lease over and
 *   runs the turn again: handlers are written to be safe to repeat (creating a group is keyed by the activity
 *   id), and the user gets the reply the dead process never sent;
 * - a redelivery after "done" does nothing.
 * A turn that throws gives its lease back, so a retry runs at once; a turn whose storage stopped answering is
 * never marked done.
 */
export class RedeliveryGuard implements Middleware {
  private readonly preload: (context: TurnContext) => Promise<unknown>;
  private readonly idempotent: (context: TurnContext) => boolean;
  private readonly leaseMs: number;
  private readonly completing = new Set<Promise<void>>();

  constructor(
    private readonly dedup: DedupStore,
    private readonly logger: Logger,
    options: RedeliveryGuardOptions = {},
  ) {
    this.preload = options.preload ?? (async () => undefined);
    this.idempotent = options.idempotent ?? (() => false);
    this.leaseMs = options.leaseMs ?? DEFAULT_REDELIVERY_LEASE_MS;
  }

  async onTurn(context: TurnContext, next: () => Promise<void>): Promise<void> {
    const activity = context.activity;
    const guarded =
      activity.id &&
      (activity.type === ActivityTypes.Message ||
        activity.type === ActivityTypes.InstallationUpdate ||
        activity.type === ActivityTypes.ConversationUpdate ||
        (activity.type === ActivityTypes.Invoke && !SELF_DEDUPLICATING_INVOKES.has(activity.name ?? '')));
    if (!guarded || this.idempotent(context)) return next();

    const scope = `${activity.channelId}|${activity.conversation?.id ?? ''}|${activity.type}`;
    const [leased, preloaded] = await Promise.allSettled([
      this.dedup.acquireLease(scope, activity.id!, this.leaseMs),
      this.preload(context),
    ]);
    if (leased.status === 'rejected') throw leased.reason;
    const outcome = leased.value;
    if (outcome.kind === 'acquired' && preloaded.status === 'rejected') {
      await this.giveBack(outcome.lease, preloaded.reason);
      throw preloaded.reason;
    }
    if (outcome.kind !== 'acquired') {
      this.logger.info(
        {
          activityId: activity.id,
          type: activity.type,
          lease: outcome.kind,
          ...(outcome.kind === 'busy' ? { leaseExpiresAt: outcome.expiresAt } : {}),
        },
        'redelivered activity ignored',
      );
      if (activity.type === ActivityTypes.Invoke) {
        await context.sendActivity({
          type: ActivityTypes.InvokeResponse,
          value: {
            status: 200,
            body: { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: 'Already done.' },
          },
        });
      }
      return;
    }
    const lease = outcome.lease;
    if (lease.takenOver) {
      this.logger.info(
        { activityId: activity.id, type: activity.type },
        'redelivered activity runs again: the earlier delivery did not finish within its lease',
      );
    }

    try {
      await next();
    } catch (err) {
      await this.giveBack(lease, err);
      throw err;
    }
    // The turn's effects are written (handlers and state saves are inside next()); only now is it done. A
    // failed mark is not the user's problem: the reply is out, and the lease simply expires.
    // The "done" mark goes out beside the answer rather than before it (one storage round trip less per turn).
    // Until it lands the live lease answers any redelivery the same way, and Teams does not redeliver an
    // activity it got its 200 for; a crash in between at worst lets a redelivery after the lease run again.
    const completing = this.dedup
      .completeLease(lease)
      .then((completed) => {
        if (!completed) this.logger.warn({ activityId: activity.id }, 'turn finished after its lease was taken over');
      })
      .catch((err: Error) =>
        this.logger.warn({ activityId: activity.id, err: err.message }, 'could not mark the turn done; its lease will expire'),
      )
      .finally(() => this.completing.delete(completing));
    this.completing.add(completing);
  }

  /** Waits for the "done" marks still being written (at shutdown). */
  async drain(): Promise<void> {
    await Promise.all([...this.completing]);
  }

  /**
   * Releases the lease of a failed turn. When storage itself stopped answering, the release would wait a whole
   * storage timeout before the user hears anything, so it is left to run on its own (or the lease expires).
   */
  private async giveBack(lease: Lease, cause: unknown): Promise<void> {
    const release = this.dedup.releaseLease(lease).catch((err: Error) => {
      this.logger.warn({ err: err.message }, 'could not release the lease of a failed turn; it will expire');
    });
    if (!storageUnavailableIn(cause)) await release;
  }
}
