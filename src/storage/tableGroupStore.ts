import { randomInt } from 'node:crypto';
import { odata, type TransactionAction } from '@azure/data-tables';
import type { AuditEntry, Ban, Member, Page } from '../groups/model';
import {
  ConcurrentChangeError,
  type GroupPatch,
  type GroupRecord,
  type GroupStore,
  type MembershipChange,
  type NamedPerson,
  type NewGroup,
  type PageQuery,
} from '../groups/ports';
import {
  assertContinuationToken,
  failedActionOf,
  isAlreadyExists,
  isNotFound,
  isPreconditionFailed,
  TableRepository,
  type TableClients,
} from './tables';
import { backoff, CounterShards, type Shard } from './counterShards';
import {
  auditRowKey,
  BANNED,
  banRowKey,
  COUNTER_SHARDS,
  counterRowKey,
  fromAuditEntity,
  fromBanEntity,
  fromGroupEntity,
  isBanned,
  parseAdminIds,
  toAuditEntity,
  toBanEntity,
  toGroupEntity,
  toMemberEntity,
  fromMemberEntity,
  type AuditEntity,
  type BanEntity,
  type CounterEntity,
  type GroupEntity,
  type MemberEntity,
} from './groupEntities';
import { GroupIndexTables } from './groupIndexTables';
import { AUDIT_PREFIX, BAN_PREFIX, GROUP_ROW, MEMBER_PREFIX, memberRowKey, toKey } from './groupPartition';
import { deleteGroupRow, submitGroupChange } from './guardedGroupWrites';
import { JoinBatcher, type JoinOutcome } from './joinBatcher';
import { MemberNameIndex } from './memberNameIndex';
import { deleteRows, forEachLimited } from './partitionSweep';
import { SOURCE_INDEX_ROW, SOURCE_PREFIX } from './postEntities';
import { SingleFlight } from './singleFlight';

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
 *   groups      PK '<groupId>|names': the members' name index (memberNameIndex.ts: written before a join,
 *               checked against the member rows on every lookup)
 */

export { CURRENT_GROUP_ROW } from './groupIndexTables';
export { COUNTER_SHARDS } from './groupEntities';

const GROUP_RANGE_END = 'group}'; // '}' follows '|': the range ['group', 'group}') is the group row and its shards
const JOIN_ATTEMPTS = 12;

/**
 * Table keys may not contain `/ \ # ?` or control characters, and user ids come from outside. Percent-escape
 * those (and `%` itself, so the mapping is reversible and two ids never share a key).
 */
export { toKey };

/**
 * The group store on Table Storage. Its parts, each in its own module: the entity mapping (groupEntities.ts),
 * the counter shards' cache (counterShards.ts), the join group-commit batcher (joinBatcher.ts), the tables
 * outside the group's partition (groupIndexTables.ts, its base) and the partition sweep (partitionSweep.ts).
 */
export class TableGroupStore extends GroupIndexTables implements GroupStore {
  private readonly banRows: TableRepository<BanEntity>;
  private readonly auditRows: TableRepository<AuditEntity>;
  private readonly shards: CounterShards;
  private readonly groupReads = new SingleFlight<GroupRecord | undefined>();
  private readonly joins: JoinBatcher;
  private readonly sources: TableRepository<object>;
  private readonly names: MemberNameIndex;

  constructor(tables: TableClients) {
    super(tables);
    this.names = new MemberNameIndex(tables.groups);
    this.banRows = new TableRepository(tables.groups);
    this.auditRows = new TableRepository(tables.groups);
    this.shards = new CounterShards(tables.groups);
    this.joins = new JoinBatcher(tables.groups, this.shards, this.memberRows, this.names);
    this.sources = new TableRepository(tables.postsources);
  }

  /** Forgets every cached read (counter shards, shared group reads): storage may have gone back in time. */
  dropCaches(): void {
    this.shards.clear();
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
    // The creator's name first (and the index marked whole): a member row never exists without its entries.
    await this.names.beforeInsert(pk, creator.user);
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
    return this.groupReads.run(groupId, () => this.readGroup(groupId));
  }

  async getGroupWithMember(groupId: string, userId: string): Promise<{ record: GroupRecord; member?: Member } | undefined> {
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
    this.shards.remember(groupId, shards);
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
    await submitGroupChange(this.tables.groups, [
      ['update', { partitionKey: groupId, rowKey: GROUP_ROW, ...changes }, 'Merge', { etag: expectedVersion }],
      ['create', { partitionKey: groupId, rowKey: auditRowKey(audit.at), ...toAuditEntity(audit) }],
    ]);
  }

  async deleteGroup(record: GroupRecord): Promise<void> {
    const groupId = record.group.id;
    // Conditional: an admin change or a mapping since the caller's read must be seen before deleting.
    await deleteGroupRow(this.tables.groups, groupId, record.version);
    this.shards.forget(groupId);
    // From here on the group is gone for everyone. Counters next: a join in flight needs one, so after this no
    // join can commit, and the sweep below sees every member row that will ever exist.
    const counterKeys = Array.from({ length: COUNTER_SHARDS }, (_, shard) => counterRowKey(shard));
    await deleteRows(this.tables.groups, groupId, counterKeys);

    const rowKeys: string[] = [];
    const memberIds: string[] = [];
    const filter = odata`PartitionKey eq ${groupId}`;
    for await (const row of this.tables.groups.listEntities<{ userId?: string }>({
      queryOptions: { filter, select: ['RowKey', 'userId'] },
    })) {
      rowKeys.push(row.rowKey!);
      if (row.rowKey!.startsWith(MEMBER_PREFIX) && row.userId) memberIds.push(row.userId);
    }
    await deleteRows(this.tables.groups, groupId, rowKeys);

    await this.names.deleteAll(groupId);
    await this.sweepOutside(groupId, memberIds, record.group.tenantId);
    // The posts' request index (request key -> group), kept outside the partition.
    const sourceKeys = rowKeys.filter((key) => key.startsWith(SOURCE_PREFIX)).map((key) => key.slice(SOURCE_PREFIX.length));
    await forEachLimited(sourceKeys, 16, (sourceKey) => this.sources.delete(sourceKey, SOURCE_INDEX_ROW, '*'));
  }

  // ---- membership -----------------------------------------------------------------------------------------

  /** A join, committed with the others of its group that arrive meanwhile (see JoinBatcher). */
  addMember(member: Member, audit: AuditEntry): Promise<JoinOutcome> {
    return this.joins.add(member, audit);
  }

  /** Bulk add: the name entries in one go, then 49 members to a transaction (see JoinBatcher.addMany). */
  addMembers(groupId: string, adds: ReadonlyArray<{ member: Member; audit: AuditEntry }>): Promise<JoinOutcome[]> {
    return this.joins.addMany(groupId, adds);
  }

  async changeMembership(change: MembershipChange): Promise<void> {
    const { groupId } = change;
    const removals = change.remove ?? [];
    for (let attempt = 0; attempt < JOIN_ATTEMPTS; attempt++) {
      const actions: TransactionAction[] = [
        [
          'update',
          {
            partitionKey: groupId,
            rowKey: GROUP_ROW,
            adminIds: JSON.stringify(change.adminIds),
            changedAt: change.audit[0]?.at ?? new Date().toISOString(),
          },
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
        if (await this.banRows.find(groupId, banRowKey(userId)))
          actions.push(['delete', { partitionKey: groupId, rowKey: banRowKey(userId) }]);
      }
      for (const { userId, role } of change.setRoles ?? []) {
        actions.push(['update', { partitionKey: groupId, rowKey: memberRowKey(userId), role }, 'Merge', { etag: '*' }]);
      }
      let shard: Shard | undefined;
      let shardIndex = -1;
      if (removals.length > 0) {
        const shards = await this.shards.current(groupId);
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
          this.shards.rememberWrite(groupId, shard, shard.count - removals.length, response.getResponseForEntity(shard.rowKey)?.etag);
        }
        // Done: the index forgets them now (a failure leaves stale entries, which lookups check and delete).
        if (change.forget?.length) await this.names.forget(groupId, change.forget).catch(() => undefined);
        return;
      } catch (err) {
        // Only a lost race on the counter shard is ours to retry; anything else the service must re-decide.
        if (isPreconditionFailed(err) && shard && failedActionOf(err) === shardIndex) {
          this.shards.forget(groupId);
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

  // ---- listings -------------------------------------------------------------------------------------------

  async listMembers(groupId: string, page: PageQuery): Promise<Page<Member>> {
    // Tombstones are filtered out by the query itself; a page may then hold fewer rows than asked (bans are few).
    assertContinuationToken(page.continuationToken);
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

  peopleNamed(groupId: string, typed: string, limit: number): Promise<NamedPerson[]> {
    return this.names.peopleNamed(groupId, typed, limit);
  }

  searchMembers(groupId: string, typed: string, page: PageQuery): Promise<Page<Member>> {
    return this.names.search(groupId, typed, page);
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
