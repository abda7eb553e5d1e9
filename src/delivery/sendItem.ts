import { postPartition, type DeliveryRow, type StoredDelivery } from './deliveryStore';
import type { Lane, LaneOp } from './lane';
import type { PostForDelivery, Recipient } from './ports';
import type { WorkBody } from './workBody';
import type { WorkMessage } from './workQueue';
import { BaseItem, conversationIdOf, type Attempt, type ItemContext } from './deliveryItem';
import { FreshRead } from './freshRead';

interface PreparedCopy {
  row: StoredDelivery;
  recipient: Recipient;
  conversationId: string;
  activity: Record<string, unknown>;
  /** The post version the activity was rendered from (an edit after that is applied by the change's update). */
  version: number;
}

/**
 * One post's sends to one tenant lane. Pages through the post's delivery rows of this lane that are `queued` or
 * `sending` (a recovered `sending` is resent: only sends in flight at a crash can repeat), claims each page as
 * `sending` in one transaction, re-checks each member (getRecipient) when it prepares the copy and the post's
 * version just before each send, and records outcomes in batches. Done when the post is fully expanded and no
 * row of this lane is left; the last lane of a post deletes its outbox row and lets the group's next post start.
 */
export class SendItem extends BaseItem {
  private post?: PostForDelivery;
  private ready: PreparedCopy[] = [];
  private cursor = '';
  private passHadRows = false;
  private readonly inProgress = new Set<string>();
  private unreachableBefore = new Set<string>();
  /** The post as it is now, read once per round trip for all the sends about to go (see send). */
  private readonly current = new FreshRead(() => this.ctx.source.getPost(this.groupId, this.seq));

  constructor(
    ctx: ItemContext,
    lane: Lane,
    message: WorkMessage<WorkBody>,
    private readonly groupId: string,
    private readonly seq: number,
  ) {
    super(`send|${groupId}|${seq}|${lane.tenant}`, ctx, lane, message, postPartition(groupId, seq));
  }

  start(): void {
    void (async () => {
      this.unreachableBefore = await this.ctx.store.unreachableUsers(this.groupId).catch(() => new Set<string>());
      await this.fill();
    })();
  }

  protected nextFresh(now: number): LaneOp | undefined {
    // Keep a chunk ahead, so that a page query and its claim never leave the lane without work.
    if (this.ready.length < this.ctx.chunkSize && !this.fetching) void this.fill();
    while (this.ready.length) {
      const copy = this.ready.shift()!;
      const op = this.parkOrOp(now, copy.conversationId, (attempt) => this.send(copy, attempt));
      if (op) return op;
    }
    return undefined;
  }

  private fill(): Promise<void> {
    return this.fetchPage('delivery', async () => {
      this.post = await this.ctx.source.getPost(this.groupId, this.seq);
      const rows = (
        await this.ctx.store.page(this.groupId, this.seq, this.lane.tenant, ['queued', 'sending'], this.cursor, this.ctx.chunkSize)
      ).filter((r) => !this.inProgress.has(r.rowKey));
      if (rows.length === 0) {
        await this.endOfPass();
        return;
      }
      this.passHadRows = true;
      if (!(await this.ctx.store.claim(this.groupId, this.seq, rows))) {
        // Someone changed these rows: another holder after a lease takeover. Look again shortly.
        await new Promise((resolve) => setTimeout(resolve, 200));
        return;
      }
      this.cursor = rows[rows.length - 1]!.rowKey;
      for (const row of rows) this.inProgress.add(row.rowKey);
      await this.prepare(rows);
    });
  }

  /**
   * The end of a pass over the rows. Rows can appear behind the cursor (the expansion still running, a row
   * returned to `sending`), so the item is done only after a full pass from the start finds nothing, once
   * nothing of its own is in flight and the post is expanded.
   */
  private async endOfPass(): Promise<void> {
    if (this.inProgress.size > 0 || !this.idle || this.ready.length) return;
    const fromStart = this.cursor === '' && !this.passHadRows;
    this.cursor = '';
    this.passHadRows = false;
    if (!fromStart) return;
    const outbox = await this.ctx.store.getPost(this.groupId, this.seq);
    if (outbox && !outbox.expanded) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return;
    }
    await this.finish();
  }

  private async prepare(rows: StoredDelivery[]): Promise<void> {
    const post = this.post;
    const at = (i: number) => rows.slice(i, i + 16);
    for (let i = 0; i < rows.length; i += 16) {
      await Promise.all(
        at(i).map((row) =>
          this.prepareOne(post, row).catch((err: unknown) => {
            // Storage failed us (a read timed out): the row leaves this pass and is claimed again in the next one.
            this.inProgress.delete(row.rowKey);
            this.ctx.logger.warn({ err: (err as Error).message, item: this.key }, 'copy not prepared; it is tried again');
          }),
        ),
      );
      this.lane.wake();
    }
  }

  private async prepareOne(post: PostForDelivery | undefined, row: StoredDelivery): Promise<void> {
    const recipient = post && !post.deleted ? await this.ctx.source.getRecipient(this.groupId, row.userId) : undefined;
    if (
      !post ||
      post.deleted ||
      !recipient ||
      recipient.muted ||
      recipient.userId === post.senderUserId ||
      recipient.joinedAt > post.createdAt
    ) {
      this.done(row, { st: 'skipped' });
      return;
    }
    let conversationId = conversationIdOf(recipient.conversationRef);
    const serviceUrl = this.serviceUrlFor(recipient);
    if (!conversationId && serviceUrl && this.ctx.sender.createConversation) {
      // No personal chat with the bot yet (joined in a group chat, a channel or the tab): one is created
      // just before the send, in the send's turn (Teams counts it against the same limits).
      conversationId = `new:${recipient.userId}`;
    }
    if (!conversationId) {
      this.done(row, { st: 'unreachable' });
      this.ctx.stats.unreachable++;
      await this.ctx.store.markUnreachable(this.groupId, row.userId);
      return;
    }
    const activity = await this.ctx.render(this.groupId, this.seq, recipient);
    if (!activity) {
      this.done(row, { st: 'skipped' });
      return;
    }
    this.ready.push({ row, recipient, conversationId, activity, version: post.version });
  }

  /** The row stays in progress until its outcome is written: until then the table still says `sending`. */
  private done(row: StoredDelivery, outcome: Partial<DeliveryRow>, wasSend = false): void {
    this.record({ rowKey: row.rowKey, ...outcome }, wasSend);
    // A copy the sweep queued again is settled now (unless it failed again): it no longer counts as not reached.
    if (row.rt && outcome.st !== 'failed')
      void this.ctx.store.clearRetry(this.groupId, this.seq, row.userId).catch((err: unknown) => this.indexNotWritten(err));
  }

  protected override recorded(rowKeys: string[]): void {
    for (const key of rowKeys) this.inProgress.delete(key);
    this.afterCall();
  }

  /** Where a conversation can be created for a member without one: a service URL seen in this lane's copies. */
  private serviceUrlFor(recipient: Recipient): string | undefined {
    const own = (recipient.conversationRef as { serviceUrl?: unknown } | undefined)?.serviceUrl;
    if (typeof own === 'string' && own) {
      this.lastServiceUrl = own;
      return own;
    }
    return this.lastServiceUrl;
  }

  private lastServiceUrl?: string;

  /**
   * Nothing stale goes out: just before the call the post is read again (a read begun after this call was
   * taken, shared with the sends around it), a deleted post sends nothing, and a copy rendered from an older
   * version is rendered again from the current one. Only calls already on their way when an edit or delete is
   * accepted can carry the old version (the change's update then brings them up to date).
   */
  private async send(copy: PreparedCopy, attempt: Attempt): Promise<void> {
    if (this.halted) return;
    let post: PostForDelivery | undefined;
    try {
      post = await this.current.get();
      if (post && !post.deleted && post.version !== copy.version) {
        const activity = await this.ctx.render(this.groupId, this.seq, copy.recipient, post.version);
        if (activity) Object.assign(copy, { activity, version: post.version });
        else post = undefined;
      }
    } catch (err) {
      // Storage, not the channel, failed: the copy waits a moment, its tries untouched.
      this.ctx.logger.debug({ err: (err as Error).message, item: this.key }, 'post not read before a send; the copy waits');
      this.parkFor(1_000, copy.conversationId, attempt, (next) => this.send(copy, next));
      return;
    }
    if (!post || post.deleted) {
      this.done(copy.row, { st: 'skipped' });
      return;
    }
    this.ctx.stats.sends++;
    try {
      if (!conversationIdOf(copy.recipient.conversationRef)) {
        const ref = await this.ctx.sender.createConversation!(copy.recipient.userId, copy.recipient.tenantId, this.lastServiceUrl!);
        copy.recipient = { ...copy.recipient, conversationRef: ref };
      }
      const { id } = await this.ctx.sender.send(copy.recipient.conversationRef, copy.activity);
      if (this.crashed) return;
      this.wentThrough();
      this.done(copy.row, { st: 'sent', id, v: copy.version, ref: JSON.stringify(copy.recipient.conversationRef) }, true);
    } catch (err) {
      if (this.crashed) return;
      const final = this.onFailure(err, copy.conversationId, attempt, (next) => this.send(copy, next));
      if (final) this.done(copy.row, { st: final === 'unreachable' ? 'unreachable' : 'failed' });
      // Storage writes after the outcome: a failure here is logged, never taken for a failed send (which would send again).
      await this.afterFailure(final, copy.row.userId);
      return;
    }
    if (this.unreachableBefore.delete(copy.row.userId))
      await this.ctx.store.clearUnreachable(this.groupId, copy.row.userId).catch((err: unknown) => this.indexNotWritten(err));
  }

  private async afterFailure(final: 'unreachable' | 'failed' | 'gaveUp' | undefined, userId: string): Promise<void> {
    if (final === 'unreachable')
      await this.ctx.store.markUnreachable(this.groupId, userId).catch((err: unknown) => this.indexNotWritten(err));
    if (final === 'gaveUp')
      await this.ctx.store.markRetry(this.groupId, this.seq, userId, this.lane.tenant).catch((err: unknown) => this.indexNotWritten(err));
  }

  private indexNotWritten(err: unknown): void {
    this.ctx.logger.warn({ err: (err as Error).message, item: this.key }, 'delivery index row not written');
  }

  protected afterCall(): void {
    if (!this.halted && !this.fetching && this.ready.length === 0 && this.idle && this.inProgress.size === 0) void this.fill();
  }

  private async finish(): Promise<void> {
    if (this.halted) return;
    await this.flush();
    const tenant = this.lane.tenant;
    const result = await this.ctx.store.changePost(this.groupId, this.seq, (row) => {
      const tenants = (JSON.parse(row.tenants) as string[]).filter((t) => t !== tenant);
      return row.expanded && tenants.length === 0 ? 'delete' : { ...row, tenants: JSON.stringify(tenants) };
    });
    await this.complete();
    // Undefined: the row was gone (a delete of ours that timed out but landed): the next post's turn all the same.
    if (result === 'deleted' || result === undefined) await this.ctx.postDone(this.groupId, this.seq);
  }
}
