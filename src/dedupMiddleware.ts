import { ActivityTypes, type Middleware, type TurnContext } from 'botbuilder';
import type { Logger } from './logger';
import type { DedupStore } from './storage/dedupStore';

/** Invokes whose duplicates are handled by their own protocol (the SSO exchange dedupes on its exchange id). */
const SELF_DEDUPLICATING_INVOKES = new Set(['signin/tokenExchange', 'signin/verifyState', 'signin/failure']);

/**
 * Teams redelivers an activity (same id) when the bot answers slowly, about 15 s. The first delivery claims the
 * activity id with an insert-only row; a redelivery loses the claim and does nothing twice. A turn that fails
 * gives its claim back, so a retry of failed work still runs.
 */
export class RedeliveryGuard implements Middleware {
  constructor(
    private readonly dedup: DedupStore,
    private readonly logger: Logger,
    /**
     * Reads the turn will need anyway (conversation state), started together with the claim: the claim is a
     * write that must finish before any side effect, but nothing stops the read from overlapping it.
     */
    private readonly preload: (context: TurnContext) => Promise<unknown> = async () => undefined,
    /** Activities whose handling is idempotent by construction (a join): no marker needed. */
    private readonly idempotent: (context: TurnContext) => boolean = () => false,
  ) {}

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
    const [claimed] = await Promise.all([this.dedup.claim(scope, activity.id!), this.preload(context)]);
    if (!claimed) {
      this.logger.info({ activityId: activity.id, type: activity.type }, 'redelivered activity ignored');
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
    try {
      await next();
    } catch (err) {
      await this.dedup.release(scope, activity.id!).catch(() => undefined);
      throw err;
    }
  }
}
