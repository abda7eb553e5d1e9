import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { ConflictError, NotFoundError } from '../errors';
import type { AuditAction, AuditEntry, Ban, Group, GroupPhoto, Member, Page, Role } from '../groups/model';
import {
  ConcurrentChangeError,
  type GroupPatch,
  type GroupRecord,
  type GroupStore,
  type MembershipChange,
  type NewGroup,
  type PageQuery,
} from '../groups/ports';
import { failedActionOf, isAlreadyExists, isNotFound, isPreconditionFailed, statusOf, TableRepository, type TableClients } from './tables';
import { GroupCommit } from './groupCommit';
import { AUDIT_PREFIX, BAN_PREFIX, GROUP_ROW, MEMBER_PREFIX, memberRowKey, toKey } from './groupPartition';

/*
 * Layout. Everything about one group lives in ONE partition of `groups` (PartitionKey = groupId), so each
 * membership change is a single entity-group transaction:
 *
 *   RowKey 'group'                  the group: name, photo ref, creator, mapping, linkNonce, adminIds (JSON)
 *   RowKey 'group|count|00'..'15'   member-count shards; the count is their sum. Right after 'group' in key
 *                                   order, so the group and its count are one contiguous range read.
 *   RowKey 'member|<userKey>'       one row per member: role, joinedAt, conversationRef
 *   RowKey 'member|<userKey>' with role 'banned': a removed member's tombstone. It stays where the member row
 *                                   was, so a join's create of that row fails (409) in the join's own
 *                                   transaction: a ban needs no read on the join path and no join can race it.
 *   RowKey 'ban|<userKey>'          the ban's record (who, by whom, when), written in the same transaction as
 *                                   the tombstone, for the admins' "Removed" list.
 *   RowKey 'audit|<inverted ms>|<random>'   audit trail, newest first. Kept in the group's partition (not the
 *                                   separate `audit` table of the design sketch) so that "joined", "left",
 *                                   "removed" are written atomically with the change they describe.
 *
 * Elsewhere (written after the group's transaction, idempotently, and repaired on read):
 *   invites     PK sha256(kind|secret), RK 'invite' -> groupId; RK 'revoked' -> revokedAt (a reset link's hash)
 *   usergroups  PK userKey, RK groupId ("my groups")
 *   orggroups   PK tenantId, RK groupId
 *   photos      PK groupId, RK 'photo' -> bytes (Edm.Binary), contentType, version
 */

/**
 * A row of each user's "my groups" partition that is not a group: it keeps the "Sent to ..." confirmation of the
 * current group (issue 10). It sorts after every group id ('~' is above the base64url alphabet), so "my groups"
 * pages stop below it.
 */
export const CURRENT_GROUP_ROW = '~current';

export const COUNTER_SHARDS = 16;
const COUNTER_PREFIX = 'group|count|';
const GROUP_RANGE_END = 'group}'; // '}' follows '|': the range ['group', 'group}') is the group row and its shards
/** The role of a tombstone member row (see the layout above): never a member. */
const BANNED = 'banned';
const INVITE_ROW = 'invite';
/** A reset link's hash (same PartitionKey as its old invite row): only that it was reset, nothing else. */
const REVOKED_INVITE_ROW = 'revoked';
const PHOTO_ROW = 'photo';
/** Entity-group transactions take at most 100 operations. */
const MAX_BATCH = 100;
const JOIN_ATTEMPTS = 12;
/** Two entities per join (member and audit rows) and one counter shard: at most 100 per transaction. */
const MAX_JOINS_PER_TRANSACTION = 49;

type JoinOutcome = 'added' | 'already_member' | 'banned';

interface PendingJoin {
  member: Member;
  audit: AuditEntry;
  done: Promise<JoinOutcome>;
  resolve(outcome: JoinOutcome): void;
  reject(err: unknown): void;
}

const SHARD_CACHE_LIMIT = 1000;
const INDEX_CLEANUP_CONCURRENCY = 8;

const GROUP_GONE = 'This group does not exist any more.';

interface GroupEntity {
  name: string;
  photoVersion?: string;
  photoContentType?: string;
  createdById: string;
  createdByName: string;
  createdAt: string;
  status: Group['status'];
  tenantId?: string;
  organizationName?: string;
  mappedById?: string;
  mappedByName?: string;
  mappedAt?: string;
  linkNonce: string;
  adminIds: string;
  changedAt: string;
}

interface CounterEntity {
  count: number;
}

interface MemberEntity {
  userId: string;
  userName: string;
  role: Role | typeof BANNED;
  joinedAt: string;
  conversationRef?: string;
}

interface AuditEntity {
  at: string;
  action: AuditAction;
  actorId: string;
  actorName: string;
  subjectId?: string;
  subjectName?: string;
  detail?: string;
}

interface BanEntity {
  userId: string;
  userName: string;
  bannedById: string;
  bannedByName: string;
  bannedAt: string;
}

interface InviteEntity {
  groupId: string;
}

interface UserGroupEntity {
  userId: string;
}

interface PhotoEntity {
  bytes: Uint8Array;
  contentType: string;
  version: string;
}

interface Shard {
  rowKey: string;
  count: number;
  etag: string;
}

/**
 * Table keys may not contain `/ \ # ?` or control characters, and user ids come from outside. Percent-escape
 * those (and `%` itself, so the mapping is reversible and two ids never share a key).
 */
export { toKey };

const banRowKey = (userId: string) => `${BAN_PREFIX}${toKey(userId)}`;
const isBanned = (row: { role?: string } | undefined) => row?.role === BANNED;
const counterRowKey = (shard: number) => `${COUNTER_PREFIX}${String(shard).padStart(2, '0')}`;

/**
 * Newest first: RowKeys sort ascending, so store (max - time), fixed width, plus a suffix against same-ms ties.
 * `order` (0-15) makes the entries of one change list in the order given ("removed" before "banned").
 */
function auditRowKey(at: string, order?: number): string {
  const inverted = 9_999_999_999_999 - Date.parse(at);
  const random = randomBytes(4).toString('hex');
  const suffix = order === undefined ? random : `${Math.min(order, 15).toString(16)}${random.slice(1)}`;
  return `${AUDIT_PREFIX}${String(inverted).padStart(13, '0')}|${suffix}`;
}

/** Drops undefined properties: a Merge must not send them, and Table Storage has no null. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

async function backoff(attempt: number): Promise<void> {
  // Full jitter: concurrent writers that just collided spread out instead of colliding again in step.
  await sleep(randomInt(1, 5 + 5 * Math.min(attempt, 8)));
}

export class TableGroupStore implements GroupStore {
  private readonly memberRows: TableRepository<MemberEntity>;
  private readonly banRows: TableRepository<BanEntity>;
  private readonly auditRows: TableRepository<AuditEntity>;
  private readonly invites: TableRepository<InviteEntity>;
  private readonly userGroups: TableRepository<UserGroupEntity>;
  private readonly orgGroups: TableRepository<object>;
  private readonly photos: TableRepository<PhotoEntity>;
  /**
   * The counter shards (with eTags) last seen per group, so a join can go straight to its transaction after
   * the read that checked the invite. A stale entry only costs a 412 and a re-read.
   */
  private readonly shardCache = new Map<string, Shard[]>();
  private readonly groupReads = new Map<string, Promise<GroupRecord | undefined>>();
  /** Joins waiting for their group's next transaction (see addMember). Work in progress, not data. */
  private readonly joinBatches = new GroupCommit<PendingJoin>(MAX_JOINS_PER_TRANSACTION, (groupId, joins) => this.commitJoins(groupId, joins));

  constructor(private readonly tables: TableClients) {
    this.memberRows = new TableRepository(tables.groups);
    this.banRows = new TableRepository(tables.groups);
    this.auditRows = new TableRepository(tables.groups);
    this.invites = new TableRepository(tables.invites);
    this.userGroups = new TableRepository(tables.usergroups);
    this.orgGroups = new TableRepository(tables.orggroups);
    this.photos = new TableRepository(tables.photos);
  }

  /** Forgets every cached read (counter shards, shared group reads): storage may have gone back in time. */
  dropCaches(): void {
    this.shardCache.clear();
    this.groupReads.clear();
  }

  // ---- the group ------------------------------------------------------------------------------------------

  async insertGroup({ group, linkNonce, creator, audit }: NewGroup): Promise<boolean> {
    const pk = group.id;
    const actions: TransactionAction[] = [
      ['create', { partitionKey: pk, rowKey: GROUP_ROW, ...toGroupEntity(group, linkNonce, [creator.user.id]) }],
      ['create', { partitionKey: pk, rowKey: memberRowKey(creator.user.id), ...toMemberEntity(creator) }],
      ['create', { partitionKey: pk, rowKey: auditRowKey(audit.at), ...toAuditEntity(audit) }],
    ];
    for (let shard = 0; shard < COUNTER_SHARDS; shard++) {
      actions.push(['create', { partitionKey: pk, rowKey: counterRowKey(shard), count: shard === 0 ? 1 : 0 }]);
    }
    try {
      await this.tables.groups.submitTransaction(actions);
      return true;
    } catch (err) {
      // Only a conflict on the group row itself (action 0) means "this group exists".
      if (isAlreadyExists(err) && (failedActionOf(err) ?? 0) === 0) return false;
      throw err;
    }
  }

  /**
   * Reads of one group that overlap share one request (single flight): in a join storm every join reads the
   * group, and a read that is already on its way answers them all. Such an answer can predate the caller by
   * at most one round trip; every decision that writes the group row is guarded by its eTag anyway, and a
   * join already commits a round trip after its read.
   */
  getGroup(groupId: string): Promise<GroupRecord | undefined> {
    let read = this.groupReads.get(groupId);
    if (!read) {
      read = this.readGroup(groupId).finally(() => this.groupReads.delete(groupId));
      this.groupReads.set(groupId, read);
    }
    return read;
  }

  async getGroupWithMember(
    groupId: string,
    userId: string,
  ): Promise<{ record: GroupRecord; member?: Member } | undefined> {
    // Two requests in flight at once: one round trip of latency.
    const [record, member] = await Promise.all([this.readGroup(groupId), this.getMember(groupId, userId)]);
    return record ? { record, member } : undefined;
  }

  async getMember(groupId: string, userId: string): Promise<Member | undefined> {
    const row = await this.memberRows.find(groupId, memberRowKey(userId));
    return row && !isBanned(row) ? fromMemberEntity(groupId, row) : undefined;
  }

  /** The group row and its counter shards: one contiguous range of the partition. */
  private async readGroup(groupId: string): Promise<GroupRecord | undefined> {
    let groupRow: (GroupEntity & { etag: string }) | undefined;
    const shards: Shard[] = [];
    const filter = odata`PartitionKey eq ${groupId} and RowKey ge ${GROUP_ROW} and RowKey lt ${GROUP_RANGE_END}`;
    for await (const row of this.tables.groups.listEntities<GroupEntity & CounterEntity>({ queryOptions: { filter } })) {
      if (row.rowKey === GROUP_ROW) groupRow = row as GroupEntity & { etag: string };
      else shards.push({ rowKey: row.rowKey!, count: Number(row.count), etag: row.etag });
    }
    if (!groupRow) return undefined;
    this.rememberShards(groupId, shards);
    const memberCount = shards.reduce((sum, shard) => sum + shard.count, 0);
    return {
      group: fromGroupEntity(groupId, groupRow, memberCount),
      linkNonce: groupRow.linkNonce,
      adminIds: parseAdminIds(groupRow.adminIds),
      version: groupRow.etag,
    };
  }

  async updateGroup(groupId: string, expectedVersion: string, patch: GroupPatch, audit: AuditEntry): Promise<void> {
    const changes: Partial<GroupEntity> = { changedAt: audit.at };
    if (patch.linkNonce !== undefined) changes.linkNonce = patch.linkNonce;
    if (patch.organization) {
      const { tenantId, organizationName, mappedBy, mappedAt } = patch.organization;
      Object.assign(changes, {
        status: 'organization',
        tenantId,
        organizationName,
        mappedById: mappedBy.id,
        mappedByName: mappedBy.name,
        mappedAt,
      });
    }
    try {
      await this.tables.groups.submitTransaction([
        ['update', { partitionKey: groupId, rowKey: GROUP_ROW, ...changes }, 'Merge', { etag: expectedVersion }],
        ['create', { partitionKey: groupId, rowKey: auditRowKey(audit.at), ...toAuditEntity(audit) }],
      ]);
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err)) throw new ConcurrentChangeError({ cause: err });
      throw err;
    }
  }

  async deleteGroup(record: GroupRecord): Promise<void> {
    const groupId = record.group.id;
    try {
      // Conditional: an admin change or a mapping since the caller's read must be seen before deleting.
      await this.tables.groups.deleteEntity(groupId, GROUP_ROW, { etag: record.version });
    } catch (err) {
      if (isPreconditionFailed(err)) throw new ConcurrentChangeError({ cause: err });
      if (!isNotFound(err)) throw err; // already gone: finish an interrupted clean-up
    }
    this.shardCache.delete(groupId);
    // From here on the group is gone for everyone. Counters next: a join in flight needs one, so after this no
    // join can commit, and the sweep below sees every member row that will ever exist.
    const counterKeys = Array.from({ length: COUNTER_SHARDS }, (_, shard) => counterRowKey(shard));
    await this.deleteRows(this.tables.groups, groupId, counterKeys);

    const rowKeys: string[] = [];
    const memberIds: string[] = [];
    const filter = odata`PartitionKey eq ${groupId}`;
    for await (const row of this.tables.groups.listEntities<{ userId?: string }>({
      queryOptions: { filter, select: ['RowKey', 'userId'] },
    })) {
      rowKeys.push(row.rowKey!);
      if (row.rowKey!.startsWith(MEMBER_PREFIX) && row.userId) memberIds.push(row.userId);
    }
    await this.deleteRows(this.tables.groups, groupId, rowKeys);

    await forEachLimited(memberIds, INDEX_CLEANUP_CONCURRENCY, (userId) =>
      // '*' on purpose: the group is gone, so any index row pointing at it is stale whatever its state.
      this.userGroups.delete(toKey(userId), groupId, '*'),
    );
    // '*' for the same reason: nothing may survive the group, whatever state these rows are in.
    if (record.group.tenantId) await this.orgGroups.delete(record.group.tenantId, groupId, '*');
    await this.photos.delete(groupId, PHOTO_ROW, '*');
  }

  /**
   * Deletes rows of one partition in transactions of 100. Transactional deletes are unconditional (the SDK
   * sends no If-Match for them); callers use this only for rows of a group that is already gone.
   */
  private async deleteRows(table: TableClient, partitionKey: string, rowKeys: readonly string[]): Promise<void> {
    for (let i = 0; i < rowKeys.length; i += MAX_BATCH) {
      const chunk = rowKeys.slice(i, i + MAX_BATCH);
      try {
        await table.submitTransaction(chunk.map((rowKey) => ['delete', { partitionKey, rowKey }]));
      } catch (err) {
        if (!isNotFound(err)) throw err;
        // Someone else deleted one of them (two clean-ups at once): fall back to one by one, 404 = done.
        const repository = new TableRepository<object>(table);
        await forEachLimited(chunk, INDEX_CLEANUP_CONCURRENCY, (rowKey) => repository.delete(partitionKey, rowKey, '*'));
      }
    }
  }

  // ---- membership -----------------------------------------------------------------------------------------

  /**
   * Joins are committed in groups (group commit): while one transaction for a group is in flight, the joins
   * that arrive meanwhile queue up and go together in the next one, up to 49 members (with their audit rows
   * and one counter shard: at most 100 entities). A link shared into a big chat brings hundreds of joins a
   * second; one transaction for many of them costs a fraction of one each, and each group has at most one
   * of our own writes to its counters in flight, so they do not collide with each other.
   */
  addMember(member: Member, audit: AuditEntry): Promise<JoinOutcome> {
    const groupId = member.groupId;
    const twin = this.joinBatches.waiting(groupId).find((j) => j.member.user.id === member.user.id);
    // The same person twice in one transaction is refused outright by the service: the second copy
    // follows the first and is then "already a member".
    if (twin) return twin.done.then((outcome) => (outcome === 'added' ? 'already_member' : outcome));
    let settle!: { resolve: (outcome: JoinOutcome) => void; reject: (err: unknown) => void };
    const done = new Promise<JoinOutcome>((resolve, reject) => (settle = { resolve, reject }));
    this.joinBatches.add(groupId, { member, audit, done, ...settle });
    return done;
  }

  private async commitJoins(groupId: string, joins: PendingJoin[]): Promise<void> {
    let pending = joins;
    // Attempts count collisions with other writers only; finding members who had joined already is progress.
    let attempt = 0;
    while (attempt < JOIN_ATTEMPTS && pending.length > 0) {
      const shards = this.shardCache.get(groupId) ?? (await this.readShards(groupId));
      if (shards.length === 0) throw new NotFoundError(GROUP_GONE);
      const shard = shards[randomInt(shards.length)]!;
      const actions: TransactionAction[] = pending.flatMap((j): TransactionAction[] => [
        ['create', { partitionKey: groupId, rowKey: memberRowKey(j.member.user.id), ...toMemberEntity({ ...j.member, role: 'member' }) }],
        ['create', { partitionKey: groupId, rowKey: auditRowKey(j.audit.at), ...toAuditEntity(j.audit) }],
      ]);
      const count = shard.count + pending.length;
      actions.push(['update', { partitionKey: groupId, rowKey: shard.rowKey, count }, 'Merge', { etag: shard.etag }]);
      try {
        const response = await this.tables.groups.submitTransaction(actions);
        this.rememberShard(groupId, shard, count, response.getResponseForEntity(shard.rowKey)?.etag);
        pending.forEach((j) => j.resolve('added'));
        return;
      } catch (err) {
        const status = statusOf(err);
        const failed = failedActionOf(err);
        if (status === 404) {
          this.shardCache.delete(groupId);
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
        this.shardCache.delete(groupId);
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
      else this.addMember(join.member, join.audit).then(join.resolve, join.reject);
    } catch (err) {
      join.reject(err);
    }
  }

  async changeMembership(change: MembershipChange): Promise<void> {
    const { groupId } = change;
    const removals = change.remove ?? [];
    for (let attempt = 0; attempt < JOIN_ATTEMPTS; attempt++) {
      const actions: TransactionAction[] = [
        [
          'update',
          { partitionKey: groupId, rowKey: GROUP_ROW, adminIds: JSON.stringify(change.adminIds), changedAt: change.audit[0]?.at ?? new Date().toISOString() },
          'Merge',
          // The guard of the whole transaction: every removal and role change goes through the group row.
          { etag: change.expectedVersion },
        ],
      ];
      // Member rows: a transactional delete cannot carry an eTag (SDK limitation) and the role update uses '*';
      // both are safe because the group row's eTag above fails the whole transaction if anyone removed this
      // member or changed a role since the caller's read (joins only ever create member rows).
      const bans = new Map((change.ban ?? []).map((ban) => [ban.user.id, ban]));
      for (const userId of removals) {
        const ban = bans.get(userId);
        if (!ban) {
          actions.push(['delete', { partitionKey: groupId, rowKey: memberRowKey(userId) }]);
          continue;
        }
        // The tombstone replaces the member row (see the layout), and the ban's record goes with it.
        const tombstone: MemberEntity = { userId, userName: ban.user.name, role: BANNED, joinedAt: ban.bannedAt };
        actions.push(['upsert', { partitionKey: groupId, rowKey: memberRowKey(userId), ...tombstone }, 'Replace']);
        actions.push(['upsert', { partitionKey: groupId, rowKey: banRowKey(userId), ...toBanEntity(ban) }, 'Replace']);
      }
      for (const userId of change.allow ?? []) {
        // Only a tombstone goes: read first, as a transactional delete of a missing row fails the whole change.
        if (isBanned(await this.memberRows.find(groupId, memberRowKey(userId)))) {
          actions.push(['delete', { partitionKey: groupId, rowKey: memberRowKey(userId) }]);
        }
        if (await this.banRows.find(groupId, banRowKey(userId))) actions.push(['delete', { partitionKey: groupId, rowKey: banRowKey(userId) }]);
      }
      for (const { userId, role } of change.setRoles ?? []) {
        actions.push(['update', { partitionKey: groupId, rowKey: memberRowKey(userId), role }, 'Merge', { etag: '*' }]);
      }
      let shard: Shard | undefined;
      let shardIndex = -1;
      if (removals.length > 0) {
        const shards = this.shardCache.get(groupId) ?? (await this.readShards(groupId));
        if (shards.length === 0) throw new ConcurrentChangeError();
        shard = shards[randomInt(shards.length)]!;
        shardIndex = actions.length;
        actions.push([
          'update',
          { partitionKey: groupId, rowKey: shard.rowKey, count: shard.count - removals.length },
          'Merge',
          { etag: shard.etag },
        ]);
      }
      change.audit.forEach((entry, order) => {
        actions.push(['create', { partitionKey: groupId, rowKey: auditRowKey(entry.at, order), ...toAuditEntity(entry) }]);
      });
      try {
        const response = await this.tables.groups.submitTransaction(actions);
        if (shard) {
          this.rememberShard(groupId, shard, shard.count - removals.length, response.getResponseForEntity(shard.rowKey)?.etag);
        }
        return;
      } catch (err) {
        // Only a lost race on the counter shard is ours to retry; anything else the service must re-decide.
        if (isPreconditionFailed(err) && shard && failedActionOf(err) === shardIndex) {
          this.shardCache.delete(groupId);
          await backoff(attempt);
          continue;
        }
        if (isPreconditionFailed(err) || isNotFound(err) || isAlreadyExists(err)) {
          throw new ConcurrentChangeError({ cause: err });
        }
        throw err;
      }
    }
    throw new ConcurrentChangeError();
  }

  private async readShards(groupId: string): Promise<Shard[]> {
    const upper = `${COUNTER_PREFIX}\uffff`;
    const filter = odata`PartitionKey eq ${groupId} and RowKey ge ${COUNTER_PREFIX} and RowKey lt ${upper}`;
    const shards: Shard[] = [];
    for await (const row of this.tables.groups.listEntities<CounterEntity>({ queryOptions: { filter } })) {
      shards.push({ rowKey: row.rowKey!, count: Number(row.count), etag: row.etag });
    }
    this.rememberShards(groupId, shards);
    return shards;
  }

  private rememberShards(groupId: string, shards: Shard[]): void {
    if (shards.length === 0) return;
    this.shardCache.delete(groupId); // re-insert: Map order doubles as least-recently-used order
    this.shardCache.set(groupId, shards);
    if (this.shardCache.size > SHARD_CACHE_LIMIT) this.shardCache.delete(this.shardCache.keys().next().value!);
  }

  private rememberShard(groupId: string, written: Shard, count: number, etag: string | undefined): void {
    const shards = this.shardCache.get(groupId);
    if (!shards) return;
    const index = shards.findIndex((s) => s.rowKey === written.rowKey);
    if (index < 0) return;
    if (etag) shards[index] = { rowKey: written.rowKey, count, etag };
    else this.shardCache.delete(groupId); // no eTag in the response: do not guess
  }

  // ---- invites, photos ------------------------------------------------------------------------------------

  async putInvites(groupId: string, secretHashes: readonly string[]): Promise<void> {
    await Promise.all(
      // Upsert (unconditional) on purpose: the row's key is the secret's hash, so the content is a pure
      // function of the key; rewriting it is the repair after a crash.
      secretHashes.map((hash) =>
        this.tables.invites.upsertEntity({ partitionKey: hash, rowKey: INVITE_ROW, groupId }, 'Replace'),
      ),
    );
  }

  async deleteInvites(secretHashes: readonly string[]): Promise<void> {
    // '*': a revoked secret's row must go whatever it holds.
    await Promise.all(secretHashes.map((hash) => this.invites.delete(hash, INVITE_ROW, '*')));
  }

  async findInviteGroupId(secretHash: string): Promise<string | undefined> {
    return (await this.invites.find(secretHash, INVITE_ROW))?.groupId;
  }

  async putRevokedInvites(secretHashes: readonly string[]): Promise<void> {
    const at = new Date().toISOString();
    await Promise.all(
      secretHashes.map((hash) => this.tables.invites.upsertEntity({ partitionKey: hash, rowKey: REVOKED_INVITE_ROW, revokedAt: at }, 'Replace')),
    );
  }

  async isRevokedInvite(secretHash: string): Promise<boolean> {
    return (await this.invites.find(secretHash, REVOKED_INVITE_ROW)) !== undefined;
  }

  async putPhoto(groupId: string, photo: GroupPhoto): Promise<void> {
    // Last writer wins on purpose: the group row records which version is current, and bytes and version
    // always travel together in this one row.
    await this.tables.photos.upsertEntity(
      { partitionKey: groupId, rowKey: PHOTO_ROW, bytes: new Uint8Array(photo.bytes), contentType: photo.contentType, version: photo.version },
      'Replace',
    );
  }

  async getPhoto(groupId: string): Promise<GroupPhoto | undefined> {
    const row = await this.photos.find(groupId, PHOTO_ROW);
    if (!row) return undefined;
    return { bytes: Buffer.from(row.bytes), contentType: row.contentType, version: row.version };
  }

  // ---- indexes --------------------------------------------------------------------------------------------

  async indexUserGroup(userId: string, groupId: string, options: { makeCurrent?: boolean } = {}): Promise<void> {
    // Upsert: the row is a pure function of its key, and rewriting it repairs a crash between join and index.
    // `currentAt` on the same row makes the group the user's current one at no extra cost (see
    // TableCurrentGroupStore); without it, Merge keeps the time the row has.
    const index = { partitionKey: toKey(userId), rowKey: groupId, userId };
    if (options.makeCurrent) await this.tables.usergroups.upsertEntity({ ...index, currentAt: new Date().toISOString() }, 'Replace');
    else await this.tables.usergroups.upsertEntity(index, 'Merge');
  }

  async unindexUserGroup(userId: string, groupId: string): Promise<void> {
    const row = await this.userGroups.find(toKey(userId), groupId);
    if (!row) return;
    // Read the membership AFTER the index row: if the user re-joined in between, the member row is there, or
    // their re-index changes the row's eTag and the conditional delete below fails harmlessly.
    const member = await this.memberRows.find(groupId, memberRowKey(userId));
    if (member && !isBanned(member)) return;
    try {
      await this.userGroups.delete(toKey(userId), groupId, row.etag);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }

  async listUserGroupIds(userId: string, page: PageQuery): Promise<Page<string>> {
    // Below the current-group row, which shares the partition.
    const result = await this.userGroups.page(toKey(userId), '', { ...page, below: CURRENT_GROUP_ROW });
    return { items: result.items.map((row) => row.rowKey), continuationToken: result.continuationToken };
  }

  async indexOrgGroup(tenantId: string, groupId: string): Promise<void> {
    await this.tables.orggroups.upsertEntity({ partitionKey: tenantId, rowKey: groupId }, 'Replace');
  }

  async unindexOrgGroup(tenantId: string, groupId: string): Promise<void> {
    // '*': called only for a group that no longer exists; its index row is stale whatever it holds.
    await this.orgGroups.delete(tenantId, groupId, '*');
  }

  async listOrgGroupIds(tenantId: string, page: PageQuery): Promise<Page<string>> {
    const result = await this.orgGroups.page(tenantId, '', page);
    return { items: result.items.map((row) => row.rowKey), continuationToken: result.continuationToken };
  }

  // ---- listings -------------------------------------------------------------------------------------------

  async listMembers(groupId: string, page: PageQuery): Promise<Page<Member>> {
    // Tombstones are filtered out by the query itself; a page may then hold fewer rows than asked (bans are few).
    const upper = `${MEMBER_PREFIX}\uffff`;
    const filter = odata`PartitionKey eq ${groupId} and RowKey ge ${MEMBER_PREFIX} and RowKey lt ${upper} and role ne ${BANNED}`;
    const iterator = this.tables.groups
      .listEntities<MemberEntity>({ queryOptions: { filter } })
      .byPage({ maxPageSize: page.pageSize, continuationToken: page.continuationToken });
    const next = await iterator.next();
    if (next.done) return { items: [] };
    const rows = next.value as MemberEntity[] & { continuationToken?: string };
    return { items: rows.map((row) => fromMemberEntity(groupId, row)), continuationToken: rows.continuationToken };
  }

  async *allMembers(groupId: string): AsyncIterable<Member> {
    for await (const row of this.memberRows.all(groupId, MEMBER_PREFIX)) if (!isBanned(row)) yield fromMemberEntity(groupId, row);
  }

  async getBan(groupId: string, userId: string): Promise<Ban | undefined> {
    const row = await this.banRows.find(groupId, banRowKey(userId));
    return row ? fromBanEntity(groupId, row) : undefined;
  }

  async listBans(groupId: string, page: PageQuery): Promise<Page<Ban>> {
    const result = await this.banRows.page(groupId, BAN_PREFIX, page);
    return { items: result.items.map((row) => fromBanEntity(groupId, row)), continuationToken: result.continuationToken };
  }

  async listAudit(groupId: string, page: PageQuery): Promise<Page<AuditEntry>> {
    const result = await this.auditRows.page(groupId, AUDIT_PREFIX, page);
    return { items: result.items.map((row) => fromAuditEntity(groupId, row)), continuationToken: result.continuationToken };
  }

  async *allAudit(groupId: string): AsyncIterable<AuditEntry> {
    for await (const row of this.auditRows.all(groupId, AUDIT_PREFIX)) yield fromAuditEntity(groupId, row);
  }
}

// ---- entity mapping ---------------------------------------------------------------------------------------

function toGroupEntity(group: Group, linkNonce: string, adminIds: readonly string[]): GroupEntity {
  return defined({
    name: group.name,
    photoVersion: group.photo?.version,
    photoContentType: group.photo?.contentType,
    createdById: group.createdBy.id,
    createdByName: group.createdBy.name,
    createdAt: group.createdAt,
    status: group.status,
    tenantId: group.tenantId,
    organizationName: group.organizationName,
    mappedById: group.mappedBy?.id,
    mappedByName: group.mappedBy?.name,
    mappedAt: group.mappedAt,
    linkNonce,
    adminIds: JSON.stringify(adminIds),
    changedAt: group.createdAt,
  });
}

function fromGroupEntity(groupId: string, row: GroupEntity, memberCount: number): Group {
  return defined({
    id: groupId,
    name: row.name,
    photo: row.photoVersion ? { version: row.photoVersion, contentType: row.photoContentType ?? 'image/png' } : undefined,
    createdBy: { id: row.createdById, name: row.createdByName },
    createdAt: row.createdAt,
    status: row.status,
    tenantId: row.tenantId,
    organizationName: row.organizationName,
    mappedBy: row.mappedById ? { id: row.mappedById, name: row.mappedByName ?? '' } : undefined,
    mappedAt: row.mappedAt,
    memberCount,
    linkNonce: row.linkNonce,
  });
}

function parseAdminIds(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === 'string') : [];
}

function toMemberEntity(member: Member): MemberEntity {
  return defined({
    userId: member.user.id,
    userName: member.user.name,
    role: member.role,
    joinedAt: member.joinedAt,
    conversationRef: member.conversationRef,
  });
}

function fromMemberEntity(groupId: string, row: MemberEntity): Member {
  return defined({
    groupId,
    user: { id: row.userId, name: row.userName },
    role: row.role === 'admin' ? 'admin' : 'member',
    joinedAt: row.joinedAt,
    conversationRef: row.conversationRef,
  });
}

function toBanEntity(ban: Ban): BanEntity {
  return { userId: ban.user.id, userName: ban.user.name, bannedById: ban.bannedBy.id, bannedByName: ban.bannedBy.name, bannedAt: ban.bannedAt };
}

function fromBanEntity(groupId: string, row: BanEntity): Ban {
  return { groupId, user: { id: row.userId, name: row.userName }, bannedBy: { id: row.bannedById, name: row.bannedByName }, bannedAt: row.bannedAt };
}

function toAuditEntity(entry: AuditEntry): AuditEntity {
  return defined({
    at: entry.at,
    action: entry.action,
    actorId: entry.actor.id,
    actorName: entry.actor.name,
    subjectId: entry.subject?.id,
    subjectName: entry.subject?.name,
    detail: entry.detail,
  });
}

function fromAuditEntity(groupId: string, row: AuditEntity): AuditEntry {
  return defined({
    groupId,
    at: row.at,
    action: row.action,
    actor: { id: row.actorId, name: row.actorName },
    subject: row.subjectId ? { id: row.subjectId, name: row.subjectName ?? '' } : undefined,
    detail: row.detail,
  });
}

async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(workers);
}
