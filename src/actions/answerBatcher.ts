/**
 * First answers to an action committed together (group commit, as joins are: src/storage/joinBatcher.ts).
 * While one transaction for an action is in flight, the first answers that arrive meanwhile queue up and go in
 * the next one: each member's voter row (a create: once per member, whatever the instance) and one write per
 * counter for all of them, under the shard's eTag. Thousands voting at once then cost a fraction of a
 * transaction each, with no read of a counter before it (the shards written last are remembered), and an
 * instance never collides with its own answers. An answer whose voter row exists (a change, a double tap, a
 * redelivery) leaves the batch and is decided alone (ActionStore.record).
 */
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { ConflictError } from '../errors';
import { GroupCommit } from '../storage/groupCommit';
import { failedActionOf, statusOf } from '../storage/tables';
import { counterChange, pickShard, type ActionShards, type Counter, type Shard } from './counterRows';

export interface FirstAnswer {
  userId: string;
  /** Option indexes (a poll); none: a confirmation. */
  choices?: number[];
  named: boolean;
  at: string;
  /** Count the voter on `answered` too (a multiple-choice poll). */
  countVoter?: boolean;
}

export type FirstOutcome =
  | { kind: 'counted'; changes: Array<[Counter, number]> }
  /** The member's voter row exists: decided alone, from that row. */
  | { kind: 'answeredBefore' }
  | { kind: 'closed' };

interface PendingAnswer extends FirstAnswer {
  done: Promise<FirstOutcome>;
  resolve(outcome: FirstOutcome): void;
  reject(err: unknown): void;
}

const ATTEMPTS = 20;
/** Voter rows per transaction: with at most 11 counters (10 options and `answered`), within 100 entities. */
const MAX_ANSWERS_PER_TRANSACTION = 88;

export const voterKey = (userId: string) => `voter|${userId}`;

/** A first answer's counter changes. */
export function firstChanges(answer: Pick<FirstAnswer, 'choices' | 'countVoter'>): Array<[Counter, number]> {
  const counters: Counter[] = answer.choices ?? ['confirmed'];
  const changes = counters.map((c): [Counter, number] => [c, +1]);
  if (answer.choices && answer.countVoter !== false) changes.push(['answered', +1]);
  return changes;
}

export function voterRow(partitionKey: string, answer: Pick<FirstAnswer, 'userId' | 'choices' | 'named' | 'at'>) {
  return {
    partitionKey,
    rowKey: voterKey(answer.userId),
    at: answer.at,
    // An anonymous poll's voter row has no choice in it: participation is known, choices are not.
    ...(answer.named && answer.choices ? { choices: JSON.stringify(answer.choices) } : {}),
  };
}

export class AnswerBatcher {
  private readonly batches = new GroupCommit<PendingAnswer>(MAX_ANSWERS_PER_TRANSACTION, (partitionKey, answers) =>
    this.commit(partitionKey, answers),
  );

  constructor(
    private readonly table: TableClient,
    private readonly shards: ActionShards,
  ) {}

  add(partitionKey: string, answer: FirstAnswer): Promise<FirstOutcome> {
    const twin = this.batches.waiting(partitionKey).find((a) => a.userId === answer.userId);
    // The same member twice in one transaction would fail it: the second copy follows the first, and is then
    // decided from the row the first wrote.
    if (twin)
      return twin.done.then(
        (outcome): FirstOutcome => (outcome.kind === 'closed' ? outcome : { kind: 'answeredBefore' }),
        (): FirstOutcome => ({ kind: 'answeredBefore' }),
      );
    let settle!: { resolve: (outcome: FirstOutcome) => void; reject: (err: unknown) => void };
    const done = new Promise<FirstOutcome>((resolve, reject) => (settle = { resolve, reject }));
    this.batches.add(partitionKey, { ...answer, done, ...settle });
    return done;
  }

  private async commit(partitionKey: string, answers: PendingAnswer[]): Promise<void> {
    let pending = answers;
    // Attempts count collisions with other writers only; an answer found answered before is progress.
    let attempt = 0;
    while (attempt < ATTEMPTS && pending.length > 0) {
      const shards = await this.shards.current(partitionKey);
      if ([...shards.values()].some((s) => s.closed)) {
        pending.forEach((a) => a.resolve({ kind: 'closed' }));
        return;
      }
      const changes = pending.map(firstChanges);
      const totals = new Map<Counter, number>();
      for (const [counter, delta] of changes.flat()) totals.set(counter, (totals.get(counter) ?? 0) + delta);
      const picked: Array<[Shard, number]> = [...totals].map(([counter, delta]) => [pickShard(shards, counter, delta), delta]);
      const actions: TransactionAction[] = [
        ...pending.map((a): TransactionAction => ['create', voterRow(partitionKey, a)]),
        ...picked.map(([shard, delta]) => counterChange(partitionKey, shard, delta)),
      ];
      try {
        const response = await this.table.submitTransaction(actions);
        for (const [shard, delta] of picked)
          this.shards.rememberWrite(partitionKey, shard.rowKey, shard.count + delta, response.getResponseForEntity(shard.rowKey)?.etag);
        pending.forEach((a, i) => a.resolve({ kind: 'counted', changes: changes[i]! }));
        return;
      } catch (err) {
        const status = statusOf(err);
        const failed = failedActionOf(err);
        if (status === 409 && failed !== undefined && failed < pending.length) {
          // That member answered before (nothing of this transaction was written): decided alone, the rest again.
          const answered = pending[failed]!;
          answered.resolve({ kind: 'answeredBefore' });
          pending = pending.filter((a) => a !== answered);
          continue;
        }
        // Another instance (or a change of a named vote, or the seal) wrote a counter since it was read.
        if (status !== 412 && status !== 409 && status !== 404) throw err;
        this.shards.forget(partitionKey);
        // Full jitter: instances that just collided spread out instead of colliding again in step.
        await sleep(randomInt(1, 5 + 5 * Math.min(attempt++, 8)));
      }
    }
    if (pending.length > 0) throw new ConflictError('Many people are answering right now. Please try again.');
  }
}
