import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { isAlreadyExists, isNotFound, isPreconditionFailed } from '../storage/tables';
import { dec, enc, postPartition, seqKey } from './deliveryKeys';

/**
 * The delivery engine's tables, which are the truth (the queue only says "look here"):
 * - `deliveries`, partition `<group>|<seq>` (one per post), row = recipient: state, tenant lane, the sent
 *   activity id, the version it showed and the conversation reference it went to (for edits and deletes).
 *   Partition `unreachable`, row `<group>|<user>`: members Teams refused (403/404). Partition `retry`, row
 *   `<group>|<seq>|<user>`: copies given up after the channel failed them transiently for long (the sweep tries
 *   them again). Partition `oneoff`: one-off sends by key.
 * The `outbox` rows (unfinished posts) are in outboxStore.ts.
 */
/**
 * `posting` (one-off messages only): the send is leaving or has left, its answer is not recorded yet. A one-off found
 * in it after a crash counts as sent: a notice or welcome goes at most once (a post's copy may repeat instead).
 */
export type DeliveryState = 'queued' | 'sending' | 'posting' | 'sent' | 'skipped' | 'unreachable' | 'failed' | 'removed';

export interface DeliveryRow {
  st: DeliveryState;
  /** Tenant lane of the recipient's conversation. */
  t: string;
  /** Sent activity id. */
  id?: string;
  /** Post version the copy shows. */
  v?: number;
  /** The copy was deleted in Teams (post deleted): a repeated update pass does not delete it again. */
  del?: boolean;
  /** Conversation reference JSON the copy went to. */
  ref?: string;
  /** Queued again by the sweep after a give-up (its `retry` row goes once the copy is settled). */
  rt?: boolean;
}

/** A copy given up for now (see DeliveryStore.markRetry). */
export interface RetryEntry {
  groupId: string;
  seq: number;
  userId: string;
  tenant: string;
  /** Give-ups so far. */
  n: number;
  /** When it was last given up or queued again (ms). */
  at: number;
}

export interface StoredDelivery extends DeliveryRow {
  userId: string;
  rowKey: string;
  etag: string;
}

export { dec, enc, outboxRow, postPartition, seqKey } from './deliveryKeys';
export type { OutboxRow } from './outboxStore';
const retryKey = (groupId: string, seq: number, userId: string) => `${enc(groupId)}|${seqKey(seq)}|${enc(userId)}`;

/** What a copy's row becomes (merged into it). */
export type Outcome = { rowKey: string } & Partial<DeliveryRow>;

/** States a copy does not leave by itself: a row read back as `queued` or `sending` after one of these lost a write. */
const SETTLED = new Set<DeliveryState | undefined>(['sent', 'skipped', 'unreachable', 'failed', 'removed']);

/**
 * How long recorded outcomes are remembered: far longer than the embedded store's save interval (the writes a
 * replaced storage child can lose), short enough to stay small.
 */
const JOURNAL_MS = 120_000;
/** And at most this many (about 25 MB with their conversation references): the oldest go first. */
const JOURNAL_MAX = 50_000;

export class DeliveryStore {
  /**
   * Outcomes written lately, by `<partition>\n<row>`: a storage child replaced from its last save (the embedded
   * store after a stall or crash) loses the writes since, and its rows would say `sending` again for copies
   * that went out. Rows read back so are taken as settled and written again (see page, replayJournal).
   */
  private readonly journal = new Map<string, { at: number; partitionKey: string; outcome: Outcome }>();

  constructor(readonly deliveries: TableClient) {}

  // ---- deliveries ----

  /**
   * Insert-if-absent for up to 100 rows of one post: one transaction; when some exist already (a redelivered
   * or re-run expansion), the existing ones are read back and only the missing ones inserted.
   */
  async insertQueued(groupId: string, seq: number, rows: Array<{ userId: string; tenant: string }>): Promise<void> {
    if (rows.length === 0) return;
    const partitionKey = postPartition(groupId, seq);
    const actions: TransactionAction[] = rows.map((r) => [
      'create',
      { partitionKey, rowKey: enc(r.userId), st: 'queued', t: r.tenant } satisfies { partitionKey: string; rowKey: string } & DeliveryRow,
    ]);
    try {
      await this.deliveries.submitTransaction(actions);
      return;
    } catch (err) {
      if (!isAlreadyExists(err) && !isTransactionConflict(err)) throw err;
    }
    const keys = rows.map((r) => enc(r.userId)).sort();
    const existing = new Set<string>();
    const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${keys[0]!} and RowKey le ${keys[keys.length - 1]!}`;
    for await (const row of this.deliveries.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) existing.add(row.rowKey!);
    const missing = actions.filter(([, entity]) => !existing.has((entity as { rowKey: string }).rowKey));
    if (missing.length) await this.deliveries.submitTransaction(missing);
  }

  /** Rows of one post and lane in the given states, in key order after `afterRowKey`. */
  async page(
    groupId: string,
    seq: number,
    tenant: string,
    states: DeliveryState[],
    afterRowKey: string,
    limit: number,
    extra?: string,
  ): Promise<StoredDelivery[]> {
    const partitionKey = postPartition(groupId, seq);
    const stateFilter = states.map((s) => odata`st eq ${s}`).join(' or ');
    const filter = `${odata`PartitionKey eq ${partitionKey} and RowKey gt ${afterRowKey} and t eq ${tenant}`} and (${stateFilter})${extra ? ` and ${extra}` : ''}`;
    const page = await this.deliveries.listEntities<DeliveryRow>({ queryOptions: { filter } }).byPage({ maxPageSize: limit }).next();
    if (page.done) return [];
    const rows = page.value.map((row) => ({
      ...(row as unknown as DeliveryRow),
      userId: dec(row.rowKey!),
      rowKey: row.rowKey!,
      etag: row.etag,
    }));
    // A row still `queued`/`sending` whose outcome we wrote lately lost that write (storage replaced): not resent.
    const lost = rows.filter((r) => (r.st === 'queued' || r.st === 'sending') && SETTLED.has(this.remembered(partitionKey, r.rowKey)?.st));
    if (lost.length === 0) return rows;
    void this.record(
      partitionKey,
      lost.map((r) => this.remembered(partitionKey, r.rowKey)!),
    ).catch(() => undefined);
    return rows.filter((r) => !lost.includes(r));
  }

  private remembered(partitionKey: string, rowKey: string): Outcome | undefined {
    return this.journal.get(`${partitionKey}\n${rowKey}`)?.outcome;
  }

  /** After storage was replaced (it may lack its last writes): every outcome written lately, written again. */
  async replayJournal(): Promise<number> {
    this.prune();
    const byPartition = new Map<string, Outcome[]>();
    for (const { partitionKey, outcome } of this.journal.values()) {
      const list = byPartition.get(partitionKey) ?? [];
      list.push(outcome);
      byPartition.set(partitionKey, list);
    }
    let count = 0;
    let failed: unknown;
    for (const [partitionKey, outcomes] of byPartition) {
      // One partition failing (its rows deleted meanwhile, a timeout) does not stop the others.
      await this.write(partitionKey, outcomes).then(
        () => (count += outcomes.length),
        (err: unknown) => (failed ??= err),
      );
    }
    if (failed) throw failed;
    return count;
  }

  private prune(now = Date.now()): void {
    for (const [key, entry] of this.journal) {
      if (entry.at > now - JOURNAL_MS && this.journal.size <= JOURNAL_MAX) break;
      this.journal.delete(key);
    }
  }

  /** The state of one recipient's copy of a post, or undefined when the post has no row for them. */
  async copyState(groupId: string, seq: number, rowKey: string): Promise<DeliveryState | undefined> {
    try {
      return (await this.deliveries.getEntity<DeliveryRow>(postPartition(groupId, seq), rowKey, { queryOptions: { select: ['st'] } })).st;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Claims rows for sending (state `sending`) under their eTags: one transaction. False when any changed. */
  async claim(groupId: string, seq: number, rows: StoredDelivery[]): Promise<boolean> {
    if (rows.length === 0) return true;
    const partitionKey = postPartition(groupId, seq);
    const actions: TransactionAction[] = rows.map((r) => [
      'update',
      { partitionKey, rowKey: r.rowKey, st: 'sending' },
      'Merge',
      { etag: r.etag },
    ]);
    try {
      await this.deliveries.submitTransaction(actions);
      return true;
    } catch (err) {
      if (isPreconditionFailed(err) || isTransactionConflict(err) || isNotFound(err)) return false;
      throw err;
    }
  }

  /** Writes outcomes of one post's copies: batched, up to 100 a transaction; settled ones are remembered a while. */
  async record(partitionKey: string, outcomes: Outcome[]): Promise<void> {
    await this.write(partitionKey, outcomes);
    const now = Date.now();
    for (const outcome of outcomes) {
      const key = `${partitionKey}\n${outcome.rowKey}`;
      // Re-inserted, so the map stays in time order (prune stops at the first recent entry).
      const previous = this.journal.get(key)?.outcome;
      this.journal.delete(key);
      this.journal.set(key, { at: now, partitionKey, outcome: { ...previous, ...outcome } });
    }
    this.prune(now);
  }

  private async write(partitionKey: string, outcomes: Outcome[]): Promise<void> {
    for (let i = 0; i < outcomes.length; i += 100) {
      const slice = outcomes.slice(i, i + 100);
      // A row may appear twice in one flush (retry then success): the last outcome wins, one action per row.
      const byKey = new Map(slice.map((o) => [o.rowKey, o]));
      const actions: TransactionAction[] = [...byKey.values()].map((o) => ['update', { partitionKey, ...o }, 'Merge']);
      await this.deliveries.submitTransaction(actions);
    }
  }

  async markUnreachable(groupId: string, userId: string): Promise<void> {
    await this.deliveries.upsertEntity({ partitionKey: 'unreachable', rowKey: `${enc(groupId)}|${enc(userId)}` }, 'Replace');
  }

  async clearUnreachable(groupId: string, userId: string): Promise<void> {
    await this.deliveries.deleteEntity('unreachable', `${enc(groupId)}|${enc(userId)}`).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }

  /** A copy given up after transient failures: kept for the sweep (and counted as not reached meanwhile). */
  async markRetry(groupId: string, seq: number, userId: string, tenant: string, now = Date.now()): Promise<void> {
    const rowKey = retryKey(groupId, seq, userId);
    let n = 0;
    try {
      n = Number((await this.deliveries.getEntity<{ n?: number }>('retry', rowKey)).n ?? 0);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await this.deliveries.upsertEntity({ partitionKey: 'retry', rowKey, t: tenant, n: n + 1, at: now }, 'Replace');
  }

  async clearRetry(groupId: string, seq: number, userId: string): Promise<void> {
    await this.deliveries.deleteEntity('retry', retryKey(groupId, seq, userId)).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }

  /** Every copy given up for now (one partition; small unless the channel failed for hours). */
  async *retries(): AsyncGenerator<RetryEntry> {
    const filter = odata`PartitionKey eq ${'retry'}`;
    for await (const row of this.deliveries.listEntities<{ t: string; n: number; at: number }>({ queryOptions: { filter } })) {
      const [g, s, u] = row.rowKey!.split('|') as [string, string, string];
      yield { groupId: dec(g), seq: Number(s), userId: dec(u), tenant: row.t, n: Number(row.n), at: Number(row.at) };
    }
  }

  /**
   * A given-up copy queued again (the sweep, before it sends the lane a `send`): its row goes back to `queued`
   * unless it was settled meanwhile; the retry row records when. False when there was nothing to queue.
   */
  async requeue(entry: RetryEntry, now = Date.now()): Promise<boolean> {
    const partitionKey = postPartition(entry.groupId, entry.seq);
    const rowKey = enc(entry.userId);
    let row: DeliveryRow & { etag: string };
    try {
      row = (await this.deliveries.getEntity<DeliveryRow>(partitionKey, rowKey)) as DeliveryRow & { etag: string };
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.clearRetry(entry.groupId, entry.seq, entry.userId);
      return false;
    }
    if (row.st !== 'failed') {
      if (row.st !== 'queued' && row.st !== 'sending') await this.clearRetry(entry.groupId, entry.seq, entry.userId);
      return row.st === 'queued';
    }
    await this.deliveries.updateEntity({ partitionKey, rowKey, st: 'queued', rt: true }, 'Merge', { etag: row.etag });
    this.journal.delete(`${partitionKey}\n${rowKey}`);
    await this.deliveries.updateEntity(
      { partitionKey: 'retry', rowKey: retryKey(entry.groupId, entry.seq, entry.userId), at: now },
      'Merge',
    );
    return true;
  }

  /** Members a group's posts did not reach: refused by Teams (403/404), or given up for now (retried later). */
  async notReachedCount(groupId: string): Promise<{ unreachable: number; retrying: number }> {
    const unreachable = await this.unreachableUsers(groupId);
    const retrying = new Set<string>();
    const from = `${enc(groupId)}|`;
    const filter = odata`PartitionKey eq ${'retry'} and RowKey gt ${from} and RowKey lt ${`${enc(groupId)}}`}`;
    for await (const row of this.deliveries.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) {
      const user = dec(row.rowKey!.split('|')[2]!);
      if (!unreachable.has(user)) retrying.add(user);
    }
    return { unreachable: unreachable.size, retrying: retrying.size };
  }

  async unreachableUsers(groupId: string): Promise<Set<string>> {
    const from = `${enc(groupId)}|`;
    const filter = odata`PartitionKey eq ${'unreachable'} and RowKey gt ${from} and RowKey lt ${`${enc(groupId)}}`}`;
    const users = new Set<string>();
    for await (const row of this.deliveries.listEntities({ queryOptions: { filter, select: ['RowKey'] } }))
      users.add(dec(row.rowKey!.slice(from.length)));
    return users;
  }

  /** Delivered copies of one member across the group's posts (for organization removals). */
  async copiesOf(groupId: string, userId: string): Promise<Array<{ seq: number } & StoredDelivery>> {
    const filter = odata`PartitionKey gt ${`${enc(groupId)}|`} and PartitionKey lt ${`${enc(groupId)}}`} and RowKey eq ${enc(userId)} and st eq ${'sent'}`;
    const out: Array<{ seq: number } & StoredDelivery> = [];
    for await (const row of this.deliveries.listEntities<DeliveryRow>({ queryOptions: { filter } })) {
      out.push({
        ...(row as unknown as DeliveryRow),
        seq: Number(row.partitionKey!.split('|')[1]),
        userId,
        rowKey: row.rowKey!,
        etag: row.etag,
      });
    }
    return out;
  }

  async oneOff(key: string): Promise<(DeliveryRow & { etag: string }) | undefined> {
    try {
      return (await this.deliveries.getEntity<DeliveryRow>('oneoff', enc(key))) as DeliveryRow & { etag: string };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** The state of every one-off whose key starts with `prefix` (bulk add's welcomes of one group). */
  async oneOffStates(prefix: string): Promise<Map<string, DeliveryRow['st']>> {
    const from = enc(prefix);
    const filter = odata`PartitionKey eq ${'oneoff'} and RowKey ge ${from} and RowKey lt ${`${from}\uffff`}`;
    const states = new Map<string, DeliveryRow['st']>();
    for await (const row of this.deliveries.listEntities<DeliveryRow>({ queryOptions: { filter, select: ['RowKey', 'st'] } }))
      states.set(dec(row.rowKey!), row.st);
    return states;
  }

  async recordOneOff(key: string, row: DeliveryRow): Promise<void> {
    await this.deliveries.upsertEntity({ partitionKey: 'oneoff', rowKey: enc(key), ...row }, 'Replace');
  }
}

/** A failed transaction reports the failing operation's status; 409/412 are "someone was first". */
function isTransactionConflict(err: unknown): boolean {
  return isAlreadyExists(err) || isPreconditionFailed(err);
}
