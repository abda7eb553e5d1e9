/**
 * Announcements and polls in Table Storage (`actions`), one partition per action (`<group>|<action>`):
 * - `action`: the action itself (JSON), `closedAt` once closed;
 * - `voter|<user>`: this member answered (a confirmation, or a vote) and when; for a named poll also their
 *   choices. An anonymous poll's voter row has no choice in it: participation is known, choices are not;
 * - `tally|<option>|<shard>`: counters, 16 shards per option, so that thousands answering at once rarely
 *   write the same row; `confirmed|<shard>` for an announcement;
 * - `answered|<shard>`: how many members voted in a poll (a multiple-choice poll's tallies add up to more);
 * - `remind`: the last reminder: when it began (its window) and whether every one was handed to the engine.
 * The `action` row of a poll with a closing time has `closeDue` (that time) until its results were posted, then
 * `RESULTS_POSTED`, which sorts after every time: the closing sweep asks for `closeDue le <now>`.
 * An answer is one entity-group transaction of its voter row and its counters: exact under any number of
 * instances (a conflict is read again and retried), and idempotent per (action, member): the voter row is
 * created once.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { ConflictError } from '../errors';
import { failedActionOf, isAlreadyExists, isNotFound, isPreconditionFailed, statusOf } from '../storage/tables';
import type { GroupAction } from './model';

const ACTION_ROW = 'action';
const REMIND_ROW = 'remind';
/** `closeDue` once a poll's results were posted ('~' sorts after any ISO time). */
const RESULTS_POSTED = '~posted';
/** Per counter: 50 answers in flight on a few options seldom write the same row. */
const SHARDS = 64;
const ATTEMPTS = 20;
const partitionOf = (groupId: string, actionId: string) => `${groupId}|${actionId}`;
const voterKey = (userId: string) => `voter|${userId}`;
export type Counter = number | 'confirmed' | 'answered';
const counterPrefix = (option: Counter) => (typeof option === 'string' ? `${option}|` : `tally|${String(option).padStart(2, '0')}|`);

/** An action before it has its id (Omit over each member of the union, not over their common keys). */
export type NewAction = GroupAction extends infer A ? (A extends GroupAction ? Omit<A, 'actionId'> : never) : never;

export type AnswerOutcome = 'counted' | 'changed' | 'unchanged' | 'final';

interface Shard {
  rowKey: string;
  count: number;
  etag?: string;
}

export class ActionStore {
  constructor(private readonly table: TableClient) {}

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
    return stored;
  }

  async get(groupId: string, actionId: string): Promise<GroupAction | undefined> {
    try {
      const row = await this.table.getEntity<{ json: string; closedAt?: string }>(partitionOf(groupId, actionId), ACTION_ROW);
      const action = JSON.parse(row.json) as GroupAction;
      return action.kind === 'poll' && row.closedAt ? { ...action, closedAt: row.closedAt } : action;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async close(groupId: string, actionId: string, at: string): Promise<void> {
    await this.table.updateEntity({ partitionKey: partitionOf(groupId, actionId), rowKey: ACTION_ROW, closedAt: at }, 'Merge');
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
   * `answer`, and the counters as this answer left them (read with the write: the card after a vote needs no
   * second read). A first answer is tried as new straight away (one query of the counters, one transaction); the
   * member's earlier answer is read only when the transaction says there is one.
   */
  async record(
    groupId: string,
    actionId: string,
    userId: string,
    options: { choices?: number[]; named: boolean; at: string; countVoter?: boolean },
  ): Promise<{ outcome: AnswerOutcome; changes?: Array<[Counter, number]> }> {
    const partitionKey = partitionOf(groupId, actionId);
    const counters: Counter[] = options.choices ?? ['confirmed'];
    let voter: Awaited<ReturnType<ActionStore['voter']>> | null = null; // null: not read, taken to be new
    let shards: Shard[] | undefined;
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
      const voterRow = {
        partitionKey,
        rowKey: voterKey(userId),
        at: options.at,
        ...(options.named && options.choices ? { choices: JSON.stringify(options.choices) } : {}),
      };
      actions.push(voter ? ['update', voterRow, 'Replace', { etag: voter.etag }] : ['create', voterRow]);
      const add = counters.filter((c) => !before.includes(c as number));
      const remove = before.filter((c) => !counters.includes(c));
      const changes: Array<[Counter, number]> = [
        ...add.map((c): [Counter, number] => [c, +1]),
        ...remove.map((c): [Counter, number] => [c, -1]),
      ];
      if (!voter && options.choices && options.countVoter !== false) changes.push(['answered', +1]);
      let picked: Shard[];
      if (remove.length > 0) {
        // Taking a vote back needs a shard that has one: read them all (a change of a named vote; rare).
        if (!shards || taken.size >= SHARDS / 2) {
          shards = await this.shards(partitionKey);
          taken.clear();
        }
        picked = changes.map(([c, delta]) => pickShard(shards!, c, delta, taken));
      } else {
        // Adding: one random shard per counter, read by its key (no query over the action's rows).
        picked = await Promise.all(changes.map(([c]) => this.shardAt(partitionKey, pickShard([], c, +1, taken).rowKey)));
      }
      picked.forEach((shard, i) => actions.push(counterChange(partitionKey, shard, changes[i]![1])));
      try {
        await this.table.submitTransaction(actions);
        return { outcome: voter ? 'changed' : 'counted', changes };
      } catch (err) {
        // Answered before (a change, a double tap, a redelivery): read that answer and decide again.
        const failed = failedActionOf(err);
        if (!voter && failed === 0 && isAlreadyExists(err)) {
          voter = (await this.voter(partitionKey, userId)) ?? null;
          continue;
        }
        // Someone else wrote that counter meanwhile (another answer): take another one next time.
        if (!isPreconditionFailed(err) && !isAlreadyExists(err) && statusOf(err) !== 404) throw err;
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
    return countsOf(await this.shards(partitionOf(groupId, actionId)));
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

  /**
   * Claims a reminder round and returns its id (when it began): a new round when none began within `windowMs`,
   * or the round of this window that is not finished (a crash before every reminder was handed to the engine),
   * to be finished under the same keys; undefined when a finished round is less than `windowMs` old.
   */
  async claimReminder(groupId: string, actionId: string, now: Date, windowMs: number): Promise<string | undefined> {
    const partitionKey = partitionOf(groupId, actionId);
    for (let attempt = 0; attempt < 3; attempt++) {
      const last = await this.reminderRound(partitionKey);
      const recent = last !== undefined && Date.parse(last.at) + windowMs > now.getTime();
      if (recent) return last.done === true ? undefined : last.at;
      const row = { partitionKey, rowKey: REMIND_ROW, at: now.toISOString(), done: false };
      try {
        if (last) await this.table.updateEntity(row, 'Replace', { etag: last.etag });
        else await this.table.createEntity(row);
        return row.at;
      } catch (err) {
        if (!isPreconditionFailed(err) && !isAlreadyExists(err)) throw err; // another instance began one: read it
      }
    }
    return undefined;
  }

  /** Every reminder of the round was handed to the engine: the window is used. */
  async reminded(groupId: string, actionId: string, round: string): Promise<void> {
    const partitionKey = partitionOf(groupId, actionId);
    const last = await this.reminderRound(partitionKey);
    if (!last || last.at !== round || last.done === true) return;
    try {
      await this.table.updateEntity({ partitionKey, rowKey: REMIND_ROW, done: true }, 'Merge', { etag: last.etag });
    } catch (err) {
      if (!isPreconditionFailed(err) && !isNotFound(err)) throw err; // another instance finished it
    }
  }

  private async reminderRound(partitionKey: string): Promise<{ at: string; done?: boolean; etag: string } | undefined> {
    try {
      return (await this.table.getEntity<{ at: string; done?: boolean }>(partitionKey, REMIND_ROW)) as {
        at: string;
        done?: boolean;
        etag: string;
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** One member's answer (when and, in a named poll, what), or undefined when they have not answered. */
  async answerOf(groupId: string, actionId: string, userId: string): Promise<{ at: string; choices?: number[] } | undefined> {
    const row = await this.voter(partitionOf(groupId, actionId), userId);
    return row && { at: row.at, ...(row.choices ? { choices: JSON.parse(row.choices) as number[] } : {}) };
  }

  /** Deletion with the group: every action of the group, its answers and tallies. */
  async forgetGroup(groupId: string): Promise<number> {
    const filter = odata`PartitionKey ge ${`${groupId}|`} and PartitionKey lt ${`${groupId}}`}`;
    return this.deleteRows(filter);
  }

  /** Deletion of the action's post: the action with its answers and tallies (issue 17). */
  async forgetAction(groupId: string, actionId: string): Promise<number> {
    return this.deleteRows(odata`PartitionKey eq ${partitionOf(groupId, actionId)}`);
  }

  /** Retention: actions created before `cutoff` go with everything kept about them. */
  async deleteOlderThan(cutoff: string): Promise<number> {
    const filter = odata`RowKey eq ${ACTION_ROW} and createdAt lt ${cutoff}`;
    let actions = 0;
    for await (const row of this.table.listEntities({ queryOptions: { filter, select: ['PartitionKey'] } })) {
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

  private async shardAt(partitionKey: string, rowKey: string): Promise<Shard> {
    try {
      const row = await this.table.getEntity<{ count: number }>(partitionKey, rowKey);
      return { rowKey, count: Number(row.count), etag: row.etag };
    } catch (err) {
      if (isNotFound(err)) return { rowKey, count: 0 };
      throw err;
    }
  }

  private async shards(partitionKey: string): Promise<Shard[]> {
    const filter = odata`PartitionKey eq ${partitionKey} and ((RowKey ge ${'answered|'} and RowKey lt ${'answered}'}) or (RowKey ge ${'confirmed|'} and RowKey lt ${'confirmed}'}) or (RowKey ge ${'tally|'} and RowKey lt ${'tally}'}))`;
    const out: Shard[] = [];
    for await (const row of this.table.listEntities<{ count: number }>({ queryOptions: { filter } }))
      out.push({ rowKey: row.rowKey!, count: Number(row.count), etag: row.etag });
    return out;
  }
}

/** A random shard of the counter to add to; to take from, one that has something. */
function pickShard(shards: readonly Shard[], counter: Counter, delta: number, taken: ReadonlySet<string>): Shard {
  const prefix = counterPrefix(counter);
  if (delta < 0) {
    const nonEmpty = shards.filter((s) => s.rowKey.startsWith(prefix) && s.count > 0 && !taken.has(s.rowKey));
    if (nonEmpty.length > 0) return nonEmpty[randomInt(nonEmpty.length)]!;
  }
  let rowKey = `${prefix}${String(randomInt(SHARDS)).padStart(2, '0')}`;
  for (let i = 0; i < SHARDS && taken.has(rowKey); i++) rowKey = `${prefix}${String(randomInt(SHARDS)).padStart(2, '0')}`;
  return shards.find((s) => s.rowKey === rowKey) ?? { rowKey, count: 0 };
}

function counterChange(partitionKey: string, shard: Shard, delta: number): TransactionAction {
  const entity = { partitionKey, rowKey: shard.rowKey, count: shard.count + delta };
  return shard.etag ? ['update', entity, 'Replace', { etag: shard.etag }] : ['create', entity];
}

function countsOf(shards: readonly Shard[]): Map<Counter, number> {
  const counts = new Map<Counter, number>();
  for (const shard of shards) {
    const [head, option] = shard.rowKey.split('|');
    const key: Counter = head === 'tally' ? Number(option) : (head as 'confirmed' | 'answered');
    counts.set(key, (counts.get(key) ?? 0) + shard.count);
  }
  return counts;
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
