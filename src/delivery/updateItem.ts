import { postPartition, type StoredDelivery } from './deliveryStore';
import type { Lane, LaneOp } from './lane';
import type { PostForDelivery } from './ports';
import type { WorkBody } from './workBody';
import type { WorkMessage } from './workQueue';
import { BaseItem, conversationIdOf, type Attempt, type ItemContext } from './deliveryItem';

/**
 * After an edit or delete: every copy of this lane showing an older version is updated (or deleted), with the
 * conversation reference and activity id kept on its row. A deleted post's rows go after this pass (afterUpdate).
 */
export class UpdateItem extends BaseItem {
  private post?: PostForDelivery;
  private rows: StoredDelivery[] = [];
  private exhausted = false;

  constructor(
    ctx: ItemContext,
    lane: Lane,
    message: WorkMessage<WorkBody>,
    private readonly groupId: string,
    private readonly seq: number,
  ) {
    super(`update|${groupId}|${seq}|${lane.tenant}`, ctx, lane, message, postPartition(groupId, seq));
  }

  start(): void {
    void this.fill();
  }

  private fill(): Promise<void> {
    return this.fetchPage('update', async () => {
      this.post = await this.ctx.source.getPost(this.groupId, this.seq);
      if (!this.post) {
        this.exhausted = true;
        return;
      }
      const rows = await this.ctx.store.page(
        this.groupId,
        this.seq,
        this.lane.tenant,
        ['sent'],
        '',
        this.ctx.chunkSize,
        `v lt ${this.post.version}`,
      );
      this.rows = rows;
      this.exhausted = rows.length === 0;
    });
  }

  protected nextFresh(now: number): LaneOp | undefined {
    while (this.rows.length && this.post) {
      const row = this.rows.shift()!;
      const ref = row.ref ? (JSON.parse(row.ref) as unknown) : undefined;
      const conversationId = conversationIdOf(ref);
      if (!conversationId || !row.id) {
        this.record({ rowKey: row.rowKey, v: this.post.version });
        continue;
      }
      const post = this.post;
      const op = this.parkOrOp(now, conversationId, (attempt) => this.apply(post, row, ref, conversationId, attempt));
      if (op) return op;
    }
    return undefined;
  }

  private async apply(post: PostForDelivery, row: StoredDelivery, ref: unknown, conversationId: string, attempt: Attempt): Promise<void> {
    if (this.halted) return;
    try {
      if (post.deleted) {
        if (!row.del) await this.ctx.sender.delete(ref, row.id!);
        this.wentThrough();
        this.record({ rowKey: row.rowKey, v: post.version, del: true });
        return;
      }
      const recipient = await this.ctx.source.getRecipient(this.groupId, row.userId);
      const activity = recipient ? await this.ctx.render(this.groupId, this.seq, { ...recipient, conversationRef: ref }) : undefined;
      if (!activity) {
        this.record({ rowKey: row.rowKey, v: post.version });
        return;
      }
      // A deleted post never comes back (an undelete is a fresh post, issue 17), so a copy to update is never
      // one that was deleted.
      await this.ctx.sender.update(ref, row.id!, activity);
      this.wentThrough();
      this.record({ rowKey: row.rowKey, v: post.version });
    } catch (err) {
      const final = this.onFailure(err, conversationId, attempt, (next) => this.apply(post, row, ref, conversationId, next));
      if (final) this.record({ rowKey: row.rowKey, v: post.version });
    }
  }

  /** Done; for a deleted post, the engine's hook may then forget its records (when every lane is done). */
  private async completeDeleted(): Promise<void> {
    const first = !this.halted;
    await this.complete();
    if (first && this.post?.deleted) await this.ctx.afterUpdate?.(this.groupId, this.seq);
  }

  protected afterCall(): void {
    if (this.halted || this.fetching || this.rows.length || !this.idle) return;
    if (this.exhausted) void this.completeDeleted();
    else void this.flush().then(() => this.fill());
  }
}
