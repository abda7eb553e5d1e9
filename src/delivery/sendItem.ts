import { postPartition, type DeliveryRow, type StoredDelivery } from './deliveryStore';
import type { Lane, LaneOp } from './lane';
import type { PostForDelivery, Recipient } from './ports';
import type { WorkBody } from './workBody';
import type { WorkMessage } from './workQueue';
import { BaseItem, conversationIdOf, type Attempt, type ItemContext } from './deliveryItem';
import { FreshRead } from './freshRead';
import { wavesOf, type CopyKnowledge, type WaveItem, type Waves } from './waves';

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
 * `sending` (a recovered `sending` is resent: only sends in flight at a crash can repeat) and claims each page as
 * `sending` in one transaction. A claimed copy waits until the member has every earlier post of the group (see
 * waves.ts: the posts flow as waves behind each other), then the member is re-checked (getRecipient) and the copy
 * prepared, and the post's version is read again just before the send; outcomes are recorded in batches. Done
 * when a pass begun after the post was expanded finds no row of this lane left; the last lane of a post deletes
 * its outbox row.
 */
export class SendItem extends BaseItem implements WaveItem {
  private post?: PostForDelivery;
  /** Claimed copies waiting for the member's earlier posts (in row key order). */
  private waiting: StoredDelivery[] = [];
  private preparing = 0;
  private ready: PreparedCopy[] = [];
  private cursor = '';
  private passHadRows = false;
  /** The pass reached its end while copies of ours were still in progress: no new page until they are settled. */
  private passEnded = false;
  private readonly inProgress = new Set<string>();
  private unreachableBefore = new Set<string>();
  /** The post as it is now, read once per round trip for all the sends about to go (see send). */
  private readonly current = new FreshRead(() => this.ctx.source.getPost(this.groupId, this.seq));
  // ---- the waves (see waves.ts) ----
  private readonly waves: Waves;
  /** Whether the earlier posts are known (read from the outbox when the item starts). */
  private placed = false;
  /** Earlier posts of the group still open in this lane, nearest first. */
  private earlier: number[] = [];
  /** Copies read by this item: true once settled in the table. */
  private readonly copies = new Map<string, boolean>();
  /** The post was seen expanded: a pass begun after that reads every row this lane will ever have. */
  private expandedSeen = false;
  private counting = false;
  private countedTo = '';
  private countedAll = false;
  private readTo = '';
  private readAll = false;
  /** The waves' version at the last look at the waiting copies. */
  private scanned = -1;

  constructor(
    ctx: ItemContext,
    lane: Lane,
    message: WorkMessage<WorkBody>,
    readonly groupId: string,
    readonly seq: number,
  ) {
    super(`send|${groupId}|${seq}|${lane.tenant}`, ctx, lane, message, postPartition(groupId, seq));
    this.waves = wavesOf(lane);
  }

  start(): void {
    this.waves.join(this);
    void this.fill();
  }

  protected nextFresh(now: number): LaneOp | undefined {
    // Keep a chunk ahead, so that a page query and its claim never leave the lane without work.
    if (!this.fetching && !this.passEnded && this.waiting.length + this.preparing + this.ready.length < this.ctx.chunkSize)
      void this.fill();
    this.release();
    while (this.ready.length) {
      const copy = this.ready.shift()!;
      const op = this.parkOrOp(now, copy.conversationId, (attempt) => this.send(copy, attempt));
      if (op) return op;
    }
    return undefined;
  }

  private fill(): Promise<void> {
    return this.fetchPage('delivery', async () => {
      if (!this.placed) await this.place();
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
      if (this.cursor > this.readTo) this.readTo = this.cursor;
      if (this.counting) this.countedTo = this.cursor;
      for (const row of rows) {
        this.inProgress.add(row.rowKey);
        this.copies.set(row.rowKey, false);
      }
      this.waiting.push(...rows);
      this.waves.moved();
    });
  }

  /** Which earlier posts of the group this one follows in this lane, and whether it is expanded yet. */
  private async place(): Promise<void> {
    const [unreachable, open] = await Promise.all([
      this.ctx.store.unreachableUsers(this.groupId).catch(() => new Set<string>()),
      this.ctx.outbox.openPostsThrough(this.groupId, this.seq),
    ]);
    this.unreachableBefore = unreachable;
    const own = open.find((p) => p.seq === this.seq);
    // No row: the post is finished (or forgotten) already; its rows, if any, are all written.
    this.expandedSeen = this.counting = !own || own.expanded;
    // An earlier post not yet expanded was accepted after this one expanded (turns racing): it does not hold this one.
    this.earlier = open
      .filter((p) => p.seq < this.seq && p.expanded && p.tenants.includes(this.lane.tenant))
      .map((p) => p.seq)
      .sort((a, b) => b - a);
    this.placed = true;
  }

  /**
   * The end of a pass over the rows. Rows can appear behind the cursor (the expansion still running, a row
   * returned to `sending`), so the item is done only when a pass from the start, begun after the post was seen
   * expanded, finds nothing, and nothing of its own is in progress.
   */
  private async endOfPass(): Promise<void> {
    if (this.counting) this.countedAll = true;
    this.readAll = true;
    this.waves.moved();
    if (this.inProgress.size > 0 || !this.idle || this.ready.length || this.waiting.length || this.preparing) {
      this.passEnded = true;
      return;
    }
    const fromStart = this.cursor === '' && !this.passHadRows;
    const wasCounting = this.counting;
    this.cursor = '';
    this.passHadRows = false;
    this.passEnded = false;
    if (!this.expandedSeen) {
      const outbox = await this.ctx.outbox.getPost(this.groupId, this.seq);
      this.expandedSeen = !outbox || outbox.expanded;
    }
    this.counting = this.expandedSeen;
    this.countedTo = '';
    if (fromStart && wasCounting) return this.finish();
    if (fromStart) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  // ---- the waves ----

  knows(rowKey: string): CopyKnowledge {
    const copy = this.copies.get(rowKey);
    if (copy !== undefined) return copy ? 'settled' : 'pending';
    if (this.countedAll || (this.counting && rowKey <= this.countedTo)) return 'none';
    return this.readAll || rowKey <= this.readTo ? 'unsure' : 'unread';
  }

  get ownProgress(): number {
    return super.lastProgress;
  }

  /** Copies waiting for earlier posts that make progress are not stalled. */
  override get lastProgress(): number {
    const own = super.lastProgress;
    return this.waiting.length ? Math.max(own, this.waves.progressOf(this.groupId, this.earlier)) : own;
  }

  /** Waiting copies whose member has every earlier post go to be prepared (as many as there is room for). */
  private release(): void {
    const room = this.ctx.chunkSize - this.ready.length - this.preparing;
    if (this.waiting.length === 0 || room <= 0 || this.scanned === this.waves.version) return;
    const version = this.waves.version;
    const open: StoredDelivery[] = [];
    this.waiting = this.waiting.filter((row) => {
      if (open.length >= room || !this.mayGo(row.rowKey)) return true;
      open.push(row);
      return false;
    });
    this.scanned = open.length < room ? version : -1;
    if (open.length) void this.prepare(open);
  }

  private mayGo(rowKey: string): boolean {
    return this.waves.mayGo(this.groupId, this.earlier, rowKey, (seq) => this.lookUp(seq, rowKey));
  }

  /** An earlier post's row for a member, read in the table (its item could not say). */
  private async lookUp(seq: number, rowKey: string): Promise<'none' | 'pending'> {
    try {
      const state = await this.ctx.store.copyState(this.groupId, seq, rowKey);
      return state === 'queued' || state === 'sending' ? 'pending' : 'none';
    } finally {
      this.lane.wake();
    }
  }

  private async prepare(rows: StoredDelivery[]): Promise<void> {
    const post = this.post;
    this.preparing += rows.length;
    for (let i = 0; i < rows.length; i += 16) {
      const batch = rows.slice(i, i + 16);
      await Promise.all(
        batch.map((row) =>
          this.prepareOne(post, row).catch((err: unknown) => {
            // Storage failed us (a read timed out): the row leaves this pass and is claimed again in the next one.
            this.inProgress.delete(row.rowKey);
            this.ctx.logger.warn({ err: (err as Error).message, item: this.key }, 'copy not prepared; it is tried again');
          }),
        ),
      );
      this.preparing -= batch.length;
      this.lane.wake();
    }
    this.afterCall();
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
    for (const key of rowKeys) {
      this.inProgress.delete(key);
      if (this.copies.has(key)) this.copies.set(key, true);
    }
    // The members' next posts (later items in this lane) may go now.
    this.waves.moved();
    this.lane.wake();
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
      // A chat created for this send, or a member no copy reached before: its failure is its own (see Lane).
      const unproven = copy.conversationId.startsWith('new:') || this.unreachableBefore.has(copy.row.userId);
      const final = this.onFailure(err, copy.conversationId, attempt, (next) => this.send(copy, next), unproven);
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
    if (this.halted || this.fetching) return;
    if (this.ready.length === 0 && this.waiting.length === 0 && this.preparing === 0 && this.idle && this.inProgress.size === 0) {
      this.passEnded = false;
      void this.fill();
    }
  }

  private async finish(): Promise<void> {
    if (this.halted) return;
    await this.flush();
    const tenant = this.lane.tenant;
    await this.ctx.outbox.changePost(this.groupId, this.seq, (row) => {
      const tenants = (JSON.parse(row.tenants) as string[]).filter((t) => t !== tenant);
      return row.expanded && tenants.length === 0 ? 'delete' : { ...row, tenants: JSON.stringify(tenants) };
    });
    // After the outbox says so: a later item that starts now finds this lane's part done either way.
    this.waves.leave(this, true);
    await this.complete();
  }

  override async halt(crash: boolean): Promise<void> {
    this.waves.leave(this, false);
    await super.halt(crash);
  }
}
