import { randomInt } from 'node:crypto';
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { ConflictError, NotFoundError } from '../errors';
import type { AuditEntry, Member } from '../groups/model';
import { backoff, type CounterShards } from './counterShards';
import { auditRowKey, isBanned, toAuditEntity, toMemberEntity, type MemberEntity } from './groupEntities';
import { GroupCommit } from './groupCommit';
import type { MemberNameIndex } from './memberNameIndex';
import { memberRowKey } from './groupPartition';
import { failedActionOf, statusOf, type TableRepository } from './tables';

export type JoinOutcome = 'added' | 'already_member' | 'banned';

interface PendingJoin {
  member: Member;
  audit: AuditEntry;
  done: Promise<JoinOutcome>;
  resolve(outcome: JoinOutcome): void;
  reject(err: unknown): void;
}

const JOIN_ATTEMPTS = 12;
/** Two entities per join (member and audit rows) and one counter shard: at most 100 per transaction. */
const MAX_JOINS_PER_TRANSACTION = 49;
const GROUP_GONE = 'This group does not exist any more.';

/**
 * Joins are committed in groups (group commit): while one transaction for a group is in flight, the joins
 * that arrive meanwhile queue up and go together in the next one, up to 49 members (with their audit rows
 * and one counter shard: at most 100 entities). A link shared into a big chat brings hundreds of joins a
 * second; one transaction for many of them costs a fraction of one each, and each group has at most one
 * of our own writes to its counters in flight, so they do not collide with each other.
 */
export class JoinBatcher {
  /** Joins waiting for their group's next transaction. Work in progress, not data. */
  private readonly batches = new GroupCommit<PendingJoin>(MAX_JOINS_PER_TRANSACTION, (groupId, joins) => this.commit(groupId, joins));
  /** Joins from their start until settled, by group and user: a second copy follows the first. */
  private readonly joining = new Map<string, PendingJoin>();

  constructor(
    private readonly groups: TableClient,
    private readonly shards: CounterShards,
    private readonly memberRows: TableRepository<MemberEntity>,
    private readonly names: MemberNameIndex,
  ) {}

  add(member: Member, audit: AuditEntry): Promise<JoinOutcome> {
    const started = this.start(member, audit);
    if ('twin' in started) return started.twin;
    const join = started.join;
    // A member row never exists without its name index entries (memberNameIndex.ts): the join queues for its
    // group's transaction once they are written, so the group's commits never wait for them (a failed write
    // fails the join, nothing added).
    this.names.beforeJoin(member.groupId, member.user).then(() => this.batches.add(member.groupId, join), join.reject);
    return join.done;
  }

  /**
   * Many adds into one group at once (bulk add): their name entries in one go (transactions of 100 rows), then
   * all of them into the group's queue together, so they commit 49 to a transaction, in turn with the joins of
   * the moment. Outcomes in the order given.
   */
  async addMany(groupId: string, adds: ReadonlyArray<{ member: Member; audit: AuditEntry }>): Promise<JoinOutcome[]> {
    const started = adds.map(({ member, audit }) => this.start({ ...member, groupId }, audit));
    const own = started.flatMap((s) => ('join' in s ? [s.join] : []));
    const outcomes = Promise.all(started.map((s) => ('twin' in s ? s.twin : s.join.done)));
    outcomes.catch(() => undefined); // handled by our caller once returned; not "unhandled" while we write
    // Queued only once every entry is written: a failed write fails them all, nothing added.
    await this.names
      .write(
        groupId,
        own.map((j) => j.member.user),
      )
      .then(
        () => own.forEach((j) => this.batches.add(groupId, j)),
        (err: unknown) => own.forEach((j) => j.reject(err)),
      );
    return outcomes;
  }

  /** Registers an add under way; the same person twice follows the first and is then "already a member". */
  private start(member: Member, audit: AuditEntry): { join: PendingJoin } | { twin: Promise<JoinOutcome> } {
    const key = `${member.groupId}\n${member.user.id}`;
    const twin = this.joining.get(key);
    // The same person twice in one transaction is refused outright by the service: the second copy
    // follows the first and is then "already a member".
    if (twin) return { twin: twin.done.then((outcome) => (outcome === 'added' ? 'already_member' : outcome)) };
    let settle!: { resolve: (outcome: JoinOutcome) => void; reject: (err: unknown) => void };
    const done = new Promise<JoinOutcome>((resolve, reject) => (settle = { resolve, reject }));
    const join: PendingJoin = { member, audit, done, ...settle };
    this.joining.set(key, join);
    const forget = () => this.joining.delete(key);
    done.then(forget, forget);
    return { join };
  }

  private async commit(groupId: string, joins: PendingJoin[]): Promise<void> {
    let pending = joins;
    // Attempts count collisions with other writers only; finding members who had joined already is progress.
    let attempt = 0;
    while (attempt < JOIN_ATTEMPTS && pending.length > 0) {
      const shards = await this.shards.current(groupId);
      if (shards.length === 0) throw new NotFoundError(GROUP_GONE);
      const shard = shards[randomInt(shards.length)]!;
      const actions: TransactionAction[] = pending.flatMap((j): TransactionAction[] => [
        ['create', { partitionKey: groupId, rowKey: memberRowKey(j.member.user.id), ...toMemberEntity({ ...j.member, role: 'member' }) }],
        ['create', { partitionKey: groupId, rowKey: auditRowKey(j.audit.at), ...toAuditEntity(j.audit) }],
      ]);
      const count = shard.count + pending.length;
      actions.push(['update', { partitionKey: groupId, rowKey: shard.rowKey, count }, 'Merge', { etag: shard.etag }]);
      try {
        const response = await this.groups.submitTransaction(actions);
        this.shards.rememberWrite(groupId, shard, count, response.getResponseForEntity(shard.rowKey)?.etag);
        pending.forEach((j) => j.resolve('added'));
        return;
      } catch (err) {
        const status = statusOf(err);
        const failed = failedActionOf(err);
        if (status === 404) {
          this.shards.forget(groupId);
          throw new NotFoundError(GROUP_GONE, { cause: err });
        }
        if (status === 409 && failed !== undefined && failed < pending.length * 2 && failed % 2 === 0) {
          // That person's row exists (a member already, or a removed member's tombstone): tell them which
          // and commit the others (nothing was written).
          const member = pending[failed / 2]!;
          void this.settleExistingRow(member);
          pending = pending.filter((j) => j !== member);
          continue;
        }
        // 412: a join elsewhere took this shard since we read it; 409 on an audit row: a same-ms key collision.
        if (status !== 412 && status !== 409) throw err;
        this.shards.forget(groupId);
        await backoff(attempt++);
      }
    }
    if (pending.length > 0) throw new ConflictError('Many people are joining this group right now. Please try again in a moment.');
  }

  /** A join whose member row existed: a member already, or banned. Rare, so it may cost a read. */
  private async settleExistingRow(join: PendingJoin): Promise<void> {
    try {
      const row = await this.memberRows.find(join.member.groupId, memberRowKey(join.member.user.id));
      if (row) join.resolve(isBanned(row) ? 'banned' : 'already_member');
      // Gone since the 409 (they left, or were let back in): try again as a new join.
      else this.batches.add(join.member.groupId, join);
    } catch (err) {
      join.reject(err);
    }
  }
}
