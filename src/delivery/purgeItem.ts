import { isNotFound } from '../storage/tables';
import { postPartition, type StoredDelivery } from './deliveryStore';
import type { Lane, LaneOp } from './lane';
import type { WorkBody } from './workBody';
import type { WorkMessage } from './workQueue';
import { BaseItem, conversationIdOf, type Attempt, type ItemContext } from './deliveryItem';

/** Organization groups: a removed member's delivered copies are deleted in Teams. */
export class PurgeItem extends BaseItem {
  private copies: Array<{ seq: number } & StoredDelivery> = [];
  private loaded = false;

  constructor(
    ctx: ItemContext,
    lane: Lane,
    message: WorkMessage<WorkBody>,
    private readonly groupId: string,
    private readonly userId: string,
  ) {
    super(`purge|${groupId}|${userId}|${lane.tenant}`, ctx, lane, message, '');
  }

  start(): void {
    void (async () => {
      try {
        this.copies = (await this.ctx.store.copiesOf(this.groupId, this.userId)).filter((c) => c.t === this.lane.tenant && c.id && !c.del);
      } catch (err) {
        this.ctx.logger.warn({ err: (err as Error).message, item: this.key }, 'purge lookup failed');
      }
      this.loaded = true;
      this.lane.wake();
      this.afterCall();
    })();
  }

  protected nextFresh(now: number): LaneOp | undefined {
    while (this.copies.length) {
      const copy = this.copies.shift()!;
      const ref = copy.ref ? (JSON.parse(copy.ref) as unknown) : undefined;
      const conversationId = conversationIdOf(ref);
      if (!conversationId) continue;
      const op = this.parkOrOp(now, conversationId, (attempt) => this.remove(copy, ref, conversationId, attempt));
      if (op) return op;
    }
    return undefined;
  }

  private async remove(copy: { seq: number } & StoredDelivery, ref: unknown, conversationId: string, attempt: Attempt): Promise<void> {
    try {
      await this.ctx.sender.delete(ref, copy.id!);
      this.wentThrough();
      await this.forget(copy);
    } catch (err) {
      const final = this.onFailure(err, conversationId, attempt, (next) => this.remove(copy, ref, conversationId, next));
      // Given up (the chat is gone, or the app was removed there): nothing more can be done with the row either.
      if (final) await this.forget(copy);
    }
  }

  /** The copy's row (its activity id and the member's conversation reference) goes with the copy. */
  private async forget(copy: { seq: number } & StoredDelivery): Promise<void> {
    await this.ctx.store.deliveries.deleteEntity(postPartition(this.groupId, copy.seq), copy.rowKey).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }

  protected afterCall(): void {
    if (this.loaded && !this.halted && this.copies.length === 0 && this.idle) void this.complete();
  }
}
