/**
 * Announcements and polls in Table Storage (`actions`), one partition per action (`<group>|<action>`):
 * - `action`: the action itself (JSON), `closedAt` once closed;
 * - `voter|<user>`: this member answered (a confirmation, or a vote) and when; for a named poll also their
 *   choices. An anonymous poll's voter row has no choice in it: participation is known, choices are not;
 * - `tally|<option>|<shard>`: counters, 64 shards per option, so that thousands answering at once rarely
 *   write the same row; `confirmed|<shard>` for an announcement (counterRows.ts); a closed poll's are sealed;
 * - `answered|<shard>`: how many members voted in a poll (a multiple-choice poll's tallies add up to more);
 * - `remind`: the last reminder: when it began (its window) and whether every one was handed to the engine.
 * The `action` row of a poll with a closing time has `closeDue` (that time) until its results were posted, then
 * `RESULTS_POSTED`, which sorts after every time: the closing sweep asks for `closeDue le <now>`.
 * An answer is one entity-group transaction of its voter row and its counters (first answers arriving together
 * share one: answerBatcher.ts): exact under any number of instances (a conflict is read again and retried), and
 * idempotent per (action, member): the voter row is created once. Answers and card views read the action row
 * through a cache of a second (`cached`); closing is checked at the write by the counters' seal, and this
 * instance forgets the action at once when it closes or deletes it.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { ConflictError } from '../errors';
import { failedActionOf, isAlreadyExists, isNotFound, isPreconditionFailed, statusOf } from '../storage/tables';
import { AnswerBatcher, firstChanges, voterKey, voterRow } from './answerBatcher';
import {
  ActionShards,
  counterChange,
  countsOf,
  pickShard,
  readShard,
  readShards,
  sealActions,
  SHARDS,
  type Counter,
  type Shard,
} from './counterRows';
import type { GroupAction } from './model';
import { ReminderRounds } from './reminderRounds';

const ACTION_ROW = 'action';
/** `closeDue` once a poll's results were posted ('~' sorts after any ISO time). */
const RESULTS_POSTED = '~posted';
const ATTEMPTS = 20;
/** How long answers and card views may use an action as read (closing is checked at the write regardless). */
const ACTION_TTL_MS = 1_000;
const ACTION_CACHE_LIMIT = 1_000;
const partitionOf = (groupId: string, actionId: string) => `${groupId}|${actionId}`;
export type { Counter };

/** An action before it has its id (Omit over each member of the union, not over their common keys). */
export type NewAction = GroupAction extends infer A ? (A extends GroupAction ? Omit<A, 'actionId'> : never) : never;

/** `closed`: the poll was closed (its counters are sealed); nothing was written. */
export type AnswerOutcome = 'counted' | 'changed' | 'unchanged' | 'final' | 'closed';

type ActionRow = { json: string; closedAt?: string; closeDue?: string; etag: string };

export class ActionStore {
  private readonly shardCache: ActionShards;
  private readonly batcher: AnswerBatcher;
  private readonly reminders: ReminderRounds;
  /** Actions as read lately, by partition: one read serves the answers of a second. */
  private readonly actions = new Map<string, { at: number; value: Promise<GroupAction | undefined> }>();

  constructor(private readonly table: TableClient) {
    this.shardCache = new ActionShards(table);
    this.batcher = new AnswerBatcher(table, this.shardCache);
    this.reminders = new ReminderRounds(table);
  }

  /**
   * Keeps a new action. `actionId` (derived from the request that made it) makes a redelivered request find the
   * action it made the first time instead of making a second one.
   */
  async create(action: NewAction, actionId = randomUUID().replace(/-/g, '').slice(0, 20)): Promise<GroupAction> {
    const stored = { ...action, actionId } as GroupAction;
    try {
      await this.table.createEntity({
        partitionKey: partitionOf(action.groupId, actionId),
        rowKey: ACTION_ROW,
        json: JSON.stringify(stored),
        createdAt: action.createdAt,
        ...(action.kind === 'poll' && action.closesAt ? { closeDue: action.closesAt } : {}),
      });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const earlier = await this.get(action.groupId, actionId);
      if (earlier) return earlier;
      throw err;
    }
    this.remember(partitionOf(action.groupId, actionId), Promise.resolve(stored));
    return stored;
  }

  /** The action as stored now. */
  async get(groupId: string, actionId: string): Promise<GroupAction | undefined> {
    const partitionKey = partitionOf(groupId, actionId);
    let row: ActionRow;
    try {
      row = (await this.table.getEntity<Omit<ActionRow, 'etag'>>(partitionKey, ACTION_ROW)) as ActionRow;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const action = JSON.parse(row.json) as GroupAction;
    if (action.kind !== 'poll') return action;
    if (action.closesAt && row.closeDue === undefined && !row.closedAt) await this.markDue(partitionKey, action.closesAt, row.etag);
    return row.closedAt ? { ...action, closedAt: row.closedAt } : action;
  }

  /**
   * The action as read at most a second ago on this instance (answers and card views: thousands of them share
   * a read). Whether a poll was closed meanwhile is checked again when an answer is written (the seal).
   */
  cached(groupId: string, actionId: string): Promise<GroupAction | undefined> {
    const partitionKey = partitionOf(groupId, actionId);
    const hit = this.actions.get(partitionKey);
    if (hit && Date.now() - hit.at < ACTION_TTL_MS) return hit.value;
    return this.remember(partitionKey, this.get(groupId, actionId));
  }

  private remember(partitionKey: string, value: Promise<GroupAction | undefined>): Promise<GroupAction | undefined> {
    value.catch(() => this.actions.delete(partitionKey));
    this.actions.delete(partitionKey); // Map order doubles as least-recently-used order
    this.actions.set(partitionKey, { at: Date.now(), value });
    if (this.actions.size > ACTION_CACHE_LIMIT) this.actions.delete(this.actions.keys().next().value!);
    return value;
  }

  /**
   * A poll kept before polls had `closeDue` (its closing time for the sweep): given it when first read, so the
   * sweep closes it at its time like any other. Conditional on the row as read (a close or a results post
   * meanwhile wins); losing that race changes nothing.
   */
  private async markDue(partitionKey: string, closesAt: string, etag: string): Promise<void> {
    try {
      await this.table.updateEntity({ partitionKey, rowKey: ACTION_ROW, closeDue: closesAt }, 'Merge', { etag });
    } catch (err) {
      if (!isPreconditionFailed(err) && !isNotFound(err)) throw err;
    }
  }

  /**
   * Closes a poll: first every counter shard is sealed, so no answer is written after this returns, whatever
   * any instance remembers of the poll (an answer that read its shard before the seal fails its eTag; one that
   * reads it after sees the seal); then `closedAt` (present: the seal is complete). Safe to repeat.
   */
  async close(groupId: string, actionId: string, at: string): Promise<void> {
    const partitionKey = partitionOf(groupId, actionId);
    const poll = await this.get(groupId, actionId);
    if (poll?.kind === 'poll') {
      const seals = sealActions(partitionKey, [...poll.options.map((_, i) => i), 'answered']);
      for (let i = 0; i < seals.length; i += 100) await this.table.submitTransaction(seals.slice(i, i + 100));
    }
    this.forgetCached(partitionKey);
    await this.table.updateEntity({ partitionKey, rowKey: ACTION_ROW, closedAt: at }, 'Merge');
    this.forgetCached(partitionKey);
  }

  private forgetCached(partitionKey: string): void {
    this.actions.delete(partitionKey);
    this.shardCache.forget(partitionKey);
  }

  /** Polls whose closing time is `now` or earlier and whose results were not posted yet (closed or not). */
  async *dueToClose(now: string): AsyncIterable<{ groupId: string; actionId: string }> {
    const filter = odata`RowKey eq ${ACTION_ROW} and closeDue le ${now}`;
    for await (const row of this.table.listEntities({ queryOptions: { filter, select: ['PartitionKey'] } })) {
      const at = row.partitionKey!.lastIndexOf('|');
      yield { groupId: row.partitionKey!.slice(0, at), actionId: row.partitionKey!.slice(at + 1) };
    }
  }

  /** The poll's results post went to the group: the closing sweep leaves it alone (a deleted poll: nothing to do). */
  async resultsPosted(groupId: string, actionId: string): Promise<void> {
    try {
      await this.table.updateEntity(
        { partitionKey: partitionOf(groupId, actionId), rowKey: ACTION_ROW, closeDue: RESULTS_POSTED },
        'Merge',
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * Records one member's answer: `choices` (option indexes) for a poll, none for a confirmation. A first answer
   * is counted; a named poll's new choices replace the old ones (`changed`, or `unchanged` when the same);
   * an anonymous vote or a confirmation given before is `final` and changes nothing.
   */
  async answer(
    groupId: string,
    actionId: string,
    userId: string,
    options: { choices?: number[]; named: boolean; at: string },
  ): Promise<AnswerOutcome> {
    return (await this.record(groupId, actionId, userId, options)).outcome;
  }

  /**
   * `answer`, and the counters as this answer left them (the card after a vote needs no second read). A first
   * answer goes with the others arriving meanwhile (AnswerBatcher: no read before the write); the member's
   * earlier answer is read only when their voter row turns out to exist, and that answer is decided alone.
   */
  async record(
    groupId: string,
    actionId: string,
    userId: string,
    options: { choices?: number[]; named: boolean; at: string; countVoter?: boolean },
  ): Promise<{ outcome: AnswerOutcome; changes?: Array<[Counter, number]> }> {
    const partitionKey = partitionOf(groupId, actionId);
    const first = await this.batcher.add(partitionKey, { userId, ...options });
    if (first.kind === 'counted') return { outcome: 'counted', changes: first.changes };
    if (first.kind === 'closed') {
      this.forgetCached(partitionKey);
      return { outcome: 'closed' };
    }
    return this.recordAgain(partitionKey, userId, options);
  }

  /** An answer of a member whose voter row exists: a named vote changed, or nothing (final, unchanged). */
  private async recordAgain(
    partitionKey: string,
    userId: string,
    options: { choices?: number[]; named: boolean; at: string; countVoter?: boolean },
  ): Promise<{ outcome: AnswerOutcome; changes?: Array<[Counter, number]> }> {
    const counters: Counter[] = options.choices ?? ['confirmed'];
    let voter = (await this.voter(partitionKey, userId)) ?? null; // null: gone meanwhile, taken to be new
    let shards: Map<string, Shard> | undefined;
    // Shards another answer wrote since they were read: this answer takes others instead of reading them all again.
    const taken = new Set<string>();
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      let before: number[] = [];
      if (voter) {
        if (!options.named || !options.choices) return { outcome: 'final' };
        before = JSON.parse(voter.choices ?? '[]') as number[];
        if (sameSet(before, options.choices)) return { outcome: 'unchanged' };
      }
      const actions: TransactionAction[] = [];
      const row = voterRow(partitionKey, { userId, ...options });
      actions.push(voter ? ['update', row, 'Replace', { etag: voter.etag }] : ['create', row]);
      const add = counters.filter((c) => !before.includes(c as number));
      const remove = before.filter((c) => !counters.includes(c));
      const changes: Array<[Counter, number]> = voter
        ? [...add.map((c): [Counter, number] => [c, +1]), ...remove.map((c): [Counter, number] => [c, -1])]
        : firstChanges(options);
      let picked: Shard[];
      if (remove.length > 0) {
        // Taking a vote back needs a shard that has one: read them all (a change of a named vote; rare).
        if (!shards || taken.size >= SHARDS / 2) {
          shards = new Map((await readShards(this.table, partitionKey)).map((s) => [s.rowKey, s]));
          taken.clear();
        }
        picked = changes.map(([c, delta]) => pickShard(shards!, c, delta, taken));
      } else {
        // Adding: one random shard per counter, read by its key (no query over the action's rows).
        picked = await Promise.all(
          changes.map(([c]) => readShard(this.table, partitionKey, pickShard(new Map(), c, +1, taken).rowKey, isNotFound)),
        );
      }
      if (picked.some((shard) => shard.closed)) {
        this.forgetCached(partitionKey);
        return { outcome: 'closed' };
      }
      picked.forEach((shard, i) => actions.push(counterChange(partitionKey, shard, changes[i]![1])));
      try {
        const response = await this.table.submitTransaction(actions);
        picked.forEach((shard, i) =>
          this.shardCache.rememberWrite(
            partitionKey,
            shard.rowKey,
            shard.count + changes[i]![1],
            response.getResponseForEntity(shard.rowKey)?.etag,
          ),
        );
        return { outcome: voter ? 'changed' : 'counted', changes };
      } catch (err) {
        // Answered meanwhile (a double tap on another device): read that answer and decide again.
        const failed = failedActionOf(err);
        if (!voter && failed === 0 && isAlreadyExists(err)) {
          voter = (await this.voter(partitionKey, userId)) ?? null;
          continue;
        }
        // Someone else wrote that counter (or the voter row) meanwhile: read again, take another shard next time.
        if (!isPreconditionFailed(err) && !isAlreadyExists(err) && statusOf(err) !== 404) throw err;
        if (failed === 0) voter = (await this.voter(partitionKey, userId)) ?? null;
        const lost = failed !== undefined && failed > 0 ? picked[failed - 1] : undefined;
        if (lost) taken.add(lost.rowKey);
        else shards = undefined;
        await new Promise((resolve) => setTimeout(resolve, randomInt(1, 5 + attempt * 5)));
      }
    }
    throw new ConflictError('Many people are answering right now. Please try again.');
  }

  /** Counts per option (a poll), confirmations (an announcement: key 'confirmed'), voters of a poll ('answered'). */
  async tallies(groupId: string, actionId: string): Promise<Map<Counter, number>> {
    return countsOf(await readShards(this.table, partitionOf(groupId, actionId)));
  }

  /** Everyone who answered (participation only), with a named poll's choices. */
  async voters(groupId: string, actionId: string): Promise<Map<string, { at: string; choices?: number[] }>> {
    const partitionKey = partitionOf(groupId, actionId);
    const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${'voter|'} and RowKey lt ${'voter}'}`;
    const out = new Map<string, { at: string; choices?: number[] }>();
    for await (const row of this.table.listEntities<{ at: string; choices?: string }>({ queryOptions: { filter } })) {
      out.set(row.rowKey!.slice('voter|'.length), { at: row.at, ...(row.choices ? { choices: JSON.parse(row.choices) as number[] } : {}) });
    }
    return out;
  }

  /** See ReminderRounds.claim: the round to send (or finish) now, or undefined inside a used window. */
  claimReminder(groupId: string, actionId: string, now: Date, windowMs: number): Promise<string | undefined> {
    return this.reminders.claim(partitionOf(groupId, actionId), now, windowMs);
  }

  /** Every reminder of the round was handed to the engine: the window is used. */
  reminded(groupId: string, actionId: string, round: string): Promise<void> {
    return this.reminders.finish(partitionOf(groupId, actionId), round);
  }

  /** One member's answer (when and, in a named poll, what), or undefined when they have not answered. */
  async answerOf(groupId: string, actionId: string, userId: string): Promise<{ at: string; choices?: number[] } | undefined> {
    const row = await this.voter(partitionOf(groupId, actionId), userId);
    return row && { at: row.at, ...(row.choices ? { choices: JSON.parse(row.choices) as number[] } : {}) };
  }

  /** Deletion with the group: every action of the group, its answers and tallies. */
  async forgetGroup(groupId: string): Promise<number> {
    for (const key of [...this.actions.keys()]) if (key.startsWith(`${groupId}|`)) this.forgetCached(key);
    const filter = odata`PartitionKey ge ${`${groupId}|`} and PartitionKey lt ${`${groupId}}`}`;
    return this.deleteRows(filter);
  }

  /** Deletion of the action's post: the action with its answers and tallies (issue 17). */
  async forgetAction(groupId: string, actionId: string): Promise<number> {
    this.forgetCached(partitionOf(groupId, actionId));
    return this.deleteRows(odata`PartitionKey eq ${partitionOf(groupId, actionId)}`);
  }

  /** Retention: actions created before `cutoff` go with everything kept about them. */
  async deleteOlderThan(cutoff: string): Promise<number> {
    const filter = odata`RowKey eq ${ACTION_ROW} and createdAt lt ${cutoff}`;
    let actions = 0;
    for await (const row of this.table.listEntities({ queryOptions: { filter, select: ['PartitionKey'] } })) {
      this.forgetCached(row.partitionKey!);
      await this.deleteRows(odata`PartitionKey eq ${row.partitionKey!}`);
      actions++;
    }
    return actions;
  }

  /** Deletes every row the filter finds (one action's partition, or a group's). */
  private async deleteRows(filter: string): Promise<number> {
    let deleted = 0;
    const rows: Array<{ partitionKey: string; rowKey: string }> = [];
    for await (const row of this.table.listEntities({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } }))
      rows.push({ partitionKey: row.partitionKey!, rowKey: row.rowKey! });
    for (const row of rows) {
      try {
        await this.table.deleteEntity(row.partitionKey, row.rowKey);
        deleted++;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return deleted;
  }

  private async voter(partitionKey: string, userId: string): Promise<{ etag: string; at: string; choices?: string } | undefined> {
    try {
      return (await this.table.getEntity<{ at: string; choices?: string }>(partitionKey, voterKey(userId))) as {
        etag: string;
        at: string;
        choices?: string;
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
