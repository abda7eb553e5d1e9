import type { Logger } from '../logger';
import { classify, type ChannelError, type ChannelSender } from './channelSender';
import { postPartition, type DeliveryRow, type DeliveryStore, type StoredDelivery } from './deliveryStore';
import type { Lane, LaneItem, LaneOp } from './lane';
import type { FanoutSource, PostForDelivery, Recipient, RenderCopy } from './ports';
import { backoffMs } from './rateLimits';
import type { WorkBody } from './workBody';
import type { WorkMessage, WorkQueue } from './workQueue';

export interface ItemContext {
  store: DeliveryStore;
  source: FanoutSource;
  render: RenderCopy;
  sender: ChannelSender;
  queue: WorkQueue<WorkBody>;
  logger: Logger;
  chunkSize: number;
  maxAttempts: number;
  backoffBaseMs: number;
  flushMs: number;
  flushSize: number;
  /** A post's fan-out is finished for every lane: the group's next post may start. */
  postDone(groupId: string, seq: number): Promise<void>;
  /** The item no longer holds its message (deleted or given back). */
  forget(message: WorkMessage<WorkBody>): void;
  /** Counts for the bench and tests. */
  stats: { sends: number; throttled: number; retried: number; unreachable: number; failed: number };
}

/** The conversation id inside an opaque conversation reference (the windows are per conversation). */
export function conversationIdOf(ref: unknown): string | undefined {
  const id = (ref as { conversation?: { id?: unknown } } | undefined)?.conversation?.id;
  return typeof id === 'string' && id ? id : undefined;
}

type Outcome = { rowKey: string } & Partial<DeliveryRow>;

/**
 * What every item shares: the queue message it works for, buffered outcome writes (one transaction per
 * `flushSize` rows or `flushMs`), parked calls (a conversation window or a retry backoff) and what to do when a
 * call fails.
 */
abstract class BaseItem implements LaneItem {
  protected halted = false;
  protected crashed = false;
  protected inFlight = 0;
  protected parked: Array<{ readyAt: number; conversationId: string; attempt: number; run: (attempt: number) => Promise<void> }> = [];
  private outcomes: Outcome[] = [];
  private flushTimer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  /** Sends done whose outcome is not yet written. */
  private pendingSends = 0;

  constructor(
    readonly key: string,
    protected readonly ctx: ItemContext,
    protected readonly lane: Lane,
    readonly message: WorkMessage<WorkBody>,
    protected readonly partitionKey: string,
  ) {}

  abstract start(): void;
  protected abstract nextFresh(now: number): LaneOp | undefined;

  take(now: number): LaneOp | undefined {
    if (this.halted) return undefined;
    for (let i = 0; i < this.parked.length; i++) {
      const p = this.parked[i]!;
      if (p.readyAt <= now && this.lane.windows.waitMs(p.conversationId, now) === 0) {
        this.parked.splice(i, 1);
        return this.op(p.conversationId, () => p.run(p.attempt));
      }
    }
    return this.nextFresh(now);
  }

  /** Wraps a call so that the item knows what is in flight. */
  protected op(conversationId: string, run: () => Promise<void>): LaneOp {
    this.inFlight++;
    return {
      conversationId,
      execute: async () => {
        try {
          await run();
        } finally {
          this.inFlight--;
          this.afterCall();
        }
      },
    };
  }

  /** Called after each call and each fetch: the subclass checks whether it is finished. */
  protected abstract afterCall(): void;

  /** A conversation not within its windows: the call waits, the lane serves others meanwhile. */
  protected parkOrOp(now: number, conversationId: string, run: (attempt: number) => Promise<void>): LaneOp | undefined {
    const wait = this.lane.windows.waitMs(conversationId, now);
    if (wait > 0) {
      this.parked.push({ readyAt: now + wait, conversationId, attempt: 1, run });
      return undefined;
    }
    return this.op(conversationId, () => run(1));
  }

  /**
   * What a failed call means: 429 pauses the tenant lane (Retry-After, else exponential with jitter) and the call
   * waits; 412/5xx/network are retried with backoff up to maxAttempts; 403/404 and the rest are final.
   * Returns the final kind, or undefined when the call will be retried.
   */
  protected onFailure(err: unknown, conversationId: string, attempt: number, run: (attempt: number) => Promise<void>): 'unreachable' | 'failed' | undefined {
    const kind = classify(err);
    const status = (err as ChannelError).status;
    if (kind === 'throttled') {
      this.ctx.stats.throttled++;
      const pause = (err as ChannelError).retryAfterMs ?? backoffMs(this.lane.throttleCount + 1, this.ctx.backoffBaseMs);
      this.lane.pause(pause);
      this.parked.push({ readyAt: Date.now() + pause, conversationId, attempt, run });
      return undefined;
    }
    if (kind === 'retry' && attempt < this.ctx.maxAttempts) {
      this.ctx.stats.retried++;
      this.parked.push({ readyAt: Date.now() + backoffMs(attempt, this.ctx.backoffBaseMs), conversationId, attempt: attempt + 1, run });
      return undefined;
    }
    if (kind === 'unreachable') {
      this.ctx.stats.unreachable++;
      return 'unreachable';
    }
    this.ctx.stats.failed++;
    this.ctx.logger.warn({ status, item: this.key, err: (err as Error).message }, 'delivery failed for good');
    return 'failed';
  }

  protected record(outcome: Outcome, wasSend = false): void {
    if (this.crashed) return;
    this.outcomes.push(outcome);
    if (wasSend) this.pendingSends++;
    if (this.outcomes.length >= this.ctx.flushSize) void this.flush();
    else this.flushTimer ??= setTimeout(() => void this.flush(), this.ctx.flushMs);
  }

  /** Writes buffered outcomes (one transaction per 100); calls are serialized. */
  protected flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const batch = this.outcomes.splice(0);
    const sends = this.pendingSends;
    this.pendingSends = 0;
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0 || this.crashed) return;
      try {
        await this.ctx.store.record(this.partitionKey, batch);
        this.recorded(batch.map((o) => o.rowKey));
      } catch (err) {
        // Not written: those rows stay `sending` and are resent after a restart (a possible duplicate, never a loss).
        this.ctx.logger.error({ err: (err as Error).message, item: this.key, rows: batch.length, sends }, 'delivery outcomes not recorded');
      }
    });
    return this.flushing;
  }

  /** Outcomes are in the table now (the rows are no longer `sending`). */
  protected recorded(rowKeys: string[]): void {
    void rowKeys;
  }

  protected get idle(): boolean {
    return this.inFlight === 0 && this.parked.length === 0;
  }

  unrecorded(): number {
    return this.pendingSends + this.inFlight;
  }

  async halt(crash: boolean): Promise<void> {
    this.halted = true;
    if (crash) {
      this.crashed = true;
      clearTimeout(this.flushTimer);
      return;
    }
    await this.flush();
    // Someone else (the lane's next holder) continues at once.
    this.ctx.forget(this.message);
    await this.ctx.queue.release(this.message, 0).catch(() => undefined);
  }

  /** Done: outcomes written, the message deleted, out of the lane. */
  protected async complete(): Promise<void> {
    if (this.halted) return;
    this.halted = true;
    await this.flush();
    this.ctx.forget(this.message);
    await this.ctx.queue.delete(this.message);
    this.lane.remove(this);
  }
}

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
 * `sending` in one transaction, re-checks each member (getRecipient) before the send, and records outcomes in
 * batches. Done when the post is fully expanded and no row of this lane is left; the last lane of a post
 * deletes its outbox row and lets the group's next post start.
 */
export class SendItem extends BaseItem {
  private post?: PostForDelivery;
  private ready: PreparedCopy[] = [];
  private cursor = '';
  private fetching = false;
  private passHadRows = false;
  private readonly inProgress = new Set<string>();
  private unreachableBefore = new Set<string>();

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

  private async fill(): Promise<void> {
    if (this.fetching || this.halted) return;
    this.fetching = true;
    try {
      this.post = await this.ctx.source.getPost(this.groupId, this.seq);
      const rows = (await this.ctx.store.page(this.groupId, this.seq, this.lane.tenant, ['queued', 'sending'], this.cursor, this.ctx.chunkSize)).filter(
        (r) => !this.inProgress.has(r.rowKey),
      );
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
    } catch (err) {
      this.ctx.logger.warn({ err: (err as Error).message, item: this.key }, 'delivery page failed; retrying');
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      this.fetching = false;
      this.lane.wake();
      this.afterCall();
    }
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
        at(i).map(async (row) => {
          const recipient = post && !post.deleted ? await this.ctx.source.getRecipient(this.groupId, row.userId) : undefined;
          if (!post || post.deleted || !recipient || recipient.muted || recipient.userId === post.senderUserId || recipient.joinedAt > post.createdAt) {
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
        }),
      );
      this.lane.wake();
    }
  }

  /** The row stays in progress until its outcome is written: until then the table still says `sending`. */
  private done(row: StoredDelivery, outcome: Partial<DeliveryRow>, wasSend = false): void {
    this.record({ rowKey: row.rowKey, ...outcome }, wasSend);
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

  private async send(copy: PreparedCopy, attempt: number): Promise<void> {
    if (this.halted) return;
    this.ctx.stats.sends++;
    try {
      if (!conversationIdOf(copy.recipient.conversationRef)) {
        const ref = await this.ctx.sender.createConversation!(copy.recipient.userId, copy.recipient.tenantId, this.lastServiceUrl!);
        copy.recipient = { ...copy.recipient, conversationRef: ref };
      }
      const { id } = await this.ctx.sender.send(copy.recipient.conversationRef, copy.activity);
      if (this.crashed) return;
      this.done(copy.row, { st: 'sent', id, v: copy.version, ref: JSON.stringify(copy.recipient.conversationRef) }, true);
      if (this.unreachableBefore.delete(copy.row.userId)) await this.ctx.store.clearUnreachable(this.groupId, copy.row.userId);
    } catch (err) {
      if (this.crashed) return;
      const final = this.onFailure(err, copy.conversationId, attempt, (next) => this.send(copy, next));
      if (final === 'unreachable') {
        this.done(copy.row, { st: 'unreachable' });
        await this.ctx.store.markUnreachable(this.groupId, copy.row.userId);
      } else if (final === 'failed') this.done(copy.row, { st: 'failed' });
    }
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
    if (result === 'deleted') await this.ctx.postDone(this.groupId, this.seq);
  }
}

/**
 * After an edit, delete or undelete: every copy of this lane showing an older version is updated (or deleted,
 * or sent again after an undelete), with the conversation reference and activity id kept on its row.
 */
export class UpdateItem extends BaseItem {
  private post?: PostForDelivery;
  private rows: StoredDelivery[] = [];
  private fetching = false;
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

  private async fill(): Promise<void> {
    if (this.fetching || this.halted) return;
    this.fetching = true;
    try {
      this.post = await this.ctx.source.getPost(this.groupId, this.seq);
      if (!this.post) {
        this.exhausted = true;
        return;
      }
      const rows = await this.ctx.store.page(this.groupId, this.seq, this.lane.tenant, ['sent'], '', this.ctx.chunkSize, `v lt ${this.post.version}`);
      this.rows = rows;
      this.exhausted = rows.length === 0;
    } catch (err) {
      this.ctx.logger.warn({ err: (err as Error).message, item: this.key }, 'update page failed; retrying');
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      this.fetching = false;
      this.lane.wake();
      this.afterCall();
    }
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

  private async apply(post: PostForDelivery, row: StoredDelivery, ref: unknown, conversationId: string, attempt: number): Promise<void> {
    if (this.halted) return;
    try {
      if (post.deleted) {
        if (!row.del) await this.ctx.sender.delete(ref, row.id!);
        this.record({ rowKey: row.rowKey, v: post.version, del: true });
        return;
      }
      const recipient = await this.ctx.source.getRecipient(this.groupId, row.userId);
      const activity = recipient ? await this.ctx.render(this.groupId, this.seq, { ...recipient, conversationRef: ref }) : undefined;
      if (!activity) {
        this.record({ rowKey: row.rowKey, v: post.version });
        return;
      }
      if (row.del) {
        const { id } = await this.ctx.sender.send(ref, activity);
        this.record({ rowKey: row.rowKey, v: post.version, del: false, id }, true);
      } else {
        await this.ctx.sender.update(ref, row.id!, activity);
        this.record({ rowKey: row.rowKey, v: post.version });
      }
    } catch (err) {
      const final = this.onFailure(err, conversationId, attempt, (next) => this.apply(post, row, ref, conversationId, next));
      if (final) this.record({ rowKey: row.rowKey, v: post.version });
    }
  }

  protected afterCall(): void {
    if (this.halted || this.fetching || this.rows.length || !this.idle) return;
    if (this.exhausted) void this.complete();
    else void this.flush().then(() => this.fill());
  }
}

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

  private async remove(copy: { seq: number } & StoredDelivery, ref: unknown, conversationId: string, attempt: number): Promise<void> {
    try {
      await this.ctx.sender.delete(ref, copy.id!);
      await this.ctx.store.record(postPartition(this.groupId, copy.seq), [{ rowKey: copy.rowKey, st: 'removed', del: true }]);
    } catch (err) {
      const final = this.onFailure(err, conversationId, attempt, (next) => this.remove(copy, ref, conversationId, next));
      if (final) await this.ctx.store.record(postPartition(this.groupId, copy.seq), [{ rowKey: copy.rowKey, st: 'removed' }]);
    }
  }

  protected afterCall(): void {
    if (this.loaded && !this.halted && this.copies.length === 0 && this.idle) void this.complete();
  }
}

/** One proactive message (admin notices): once per key, through the same lane and windows. */
export class OneOffItem extends BaseItem {
  private state: 'loading' | 'ready' | 'done' = 'loading';

  constructor(
    ctx: ItemContext,
    lane: Lane,
    message: WorkMessage<WorkBody>,
    private readonly oneOffKey: string,
    private readonly recipient: Recipient,
    private readonly activity: Record<string, unknown>,
  ) {
    super(`oneoff|${oneOffKey}`, ctx, lane, message, '');
  }

  start(): void {
    void (async () => {
      const row = await this.ctx.store.oneOff(this.oneOffKey).catch(() => undefined);
      this.state = row?.st === 'sent' || row?.st === 'unreachable' || row?.st === 'failed' ? 'done' : 'ready';
      if (this.state === 'ready') await this.ctx.store.recordOneOff(this.oneOffKey, { st: 'sending', t: this.lane.tenant });
      this.lane.wake();
      this.afterCall();
    })();
  }

  protected nextFresh(now: number): LaneOp | undefined {
    if (this.state !== 'ready') return undefined;
    const conversationId = conversationIdOf(this.recipient.conversationRef);
    this.state = 'done';
    if (!conversationId) {
      void this.ctx.store.recordOneOff(this.oneOffKey, { st: 'unreachable', t: this.lane.tenant });
      return undefined;
    }
    return this.parkOrOp(now, conversationId, (attempt) => this.send(conversationId, attempt));
  }

  private async send(conversationId: string, attempt: number): Promise<void> {
    try {
      const { id } = await this.ctx.sender.send(this.recipient.conversationRef, this.activity);
      await this.ctx.store.recordOneOff(this.oneOffKey, { st: 'sent', t: this.lane.tenant, id });
    } catch (err) {
      const final = this.onFailure(err, conversationId, attempt, (next) => this.send(conversationId, next));
      if (final) await this.ctx.store.recordOneOff(this.oneOffKey, { st: final, t: this.lane.tenant });
    }
  }

  protected afterCall(): void {
    if (this.state === 'done' && this.idle && !this.halted) void this.complete();
  }
}
