import type { Lane, LaneOp } from './lane';
import type { Recipient } from './ports';
import type { WorkBody } from './workBody';
import type { WorkMessage } from './workQueue';
import { BaseItem, conversationIdOf, type Attempt, type ItemContext } from './deliveryItem';
import type { DeliveryState } from './deliveryStore';

/** Rows a one-off never leaves; `posting` is one: see DeliveryState. */
const SETTLED = new Set<DeliveryState>(['sent', 'posting', 'unreachable', 'failed']);

/** One proactive message (admin notices): once per key, through the same lane and windows. */
export class OneOffItem extends BaseItem {
  private state: 'loading' | 'ready' | 'done' = 'loading';

  constructor(
    ctx: ItemContext,
    lane: Lane,
    message: WorkMessage<WorkBody>,
    private readonly oneOffKey: string,
    private recipient: Recipient,
    private readonly activity: Record<string, unknown>,
    /** The group of a first message to a chat never delivered to (bulk add's welcome); see OneOffOptions. */
    private readonly freshForGroup?: string,
  ) {
    super(`oneoff|${oneOffKey}`, ctx, lane, message, '');
  }

  start(): void {
    void (async () => {
      const row = await this.ctx.store.oneOff(this.oneOffKey).catch(() => undefined);
      this.state = row && SETTLED.has(row.st) ? 'done' : 'ready';
      if (row?.st === 'posting')
        // The process that was sending it died with the request possibly out: Bot Framework cannot tell whether it
        // arrived, and a second welcome or report is worse than none here.
        this.ctx.logger.warn({ item: this.key }, 'one-off in flight at a crash: counted as sent, not sent again');
      if (this.state === 'ready') await this.ctx.store.recordOneOff(this.oneOffKey, { st: 'sending', t: this.lane.tenant });
      this.lane.wake();
      this.afterCall();
    })();
  }

  protected nextFresh(now: number): LaneOp | undefined {
    if (this.state !== 'ready') return undefined;
    let conversationId = conversationIdOf(this.recipient.conversationRef);
    this.state = 'done';
    const serviceUrl = (this.recipient.conversationRef as { serviceUrl?: unknown } | undefined)?.serviceUrl;
    if (!conversationId && typeof serviceUrl === 'string' && serviceUrl && this.ctx.sender.createConversation) {
      // No personal chat known yet (bulk add installed the app for them): created in the send's turn, as a
      // post's copy does, within the same limits.
      conversationId = `new:${this.recipient.userId}`;
    }
    if (!conversationId) {
      void this.ctx.store.recordOneOff(this.oneOffKey, { st: 'unreachable', t: this.lane.tenant });
      return undefined;
    }
    return this.parkOrOp(now, conversationId, (attempt) => this.send(conversationId, attempt));
  }

  private async send(conversationId: string, attempt: Attempt): Promise<void> {
    let posting = false;
    try {
      if (!conversationIdOf(this.recipient.conversationRef)) {
        const serviceUrl = String((this.recipient.conversationRef as { serviceUrl?: unknown }).serviceUrl);
        const ref = await this.ctx.sender.createConversation!(this.recipient.userId, this.recipient.tenantId, serviceUrl);
        this.recipient = { ...this.recipient, conversationRef: ref };
      }
      // Recorded before the request leaves: after a crash this one-off is not sent again (see DeliveryState).
      await this.ctx.store.recordOneOff(this.oneOffKey, { st: 'posting', t: this.lane.tenant });
      posting = true;
      const { id } = await this.ctx.sender.send(this.recipient.conversationRef, this.activity);
      this.wentThrough();
      // A lost write leaves `posting`, which counts as sent: never a reason to send again.
      await this.ctx.store
        .recordOneOff(this.oneOffKey, { st: 'sent', t: this.lane.tenant, id })
        .catch((err: unknown) =>
          this.ctx.logger.warn({ err: (err as Error).message, item: this.key }, 'one-off sent, its record not written'),
        );
    } catch (err) {
      // A storage failure before the request says nothing about the channel: it never counts toward an outage.
      const unproven = !posting || this.freshForGroup !== undefined || conversationId.startsWith('new:');
      const final = this.onFailure(err, conversationId, attempt, (next) => this.send(conversationId, next), unproven);
      if (!final) {
        // The channel answered with a failure: not delivered, so a crash before the retry must not count it as sent.
        if (posting) await this.ctx.store.recordOneOff(this.oneOffKey, { st: 'sending', t: this.lane.tenant }).catch(() => undefined);
        return;
      }
      await this.ctx.store.recordOneOff(this.oneOffKey, { st: final === 'unreachable' ? final : 'failed', t: this.lane.tenant });
      // Their posts would fail the same way: Group Info counts them as not reached until a copy goes through.
      if (this.freshForGroup)
        await this.ctx.store
          .markUnreachable(this.freshForGroup, this.recipient.userId)
          .catch((err: unknown) => this.ctx.logger.warn({ err: (err as Error).message, item: this.key }, 'delivery index row not written'));
    }
  }

  protected afterCall(): void {
    if (this.state === 'done' && this.idle && !this.halted) void this.complete();
  }
}
