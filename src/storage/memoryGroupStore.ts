import type { TransactionAction } from '@azure/data-tables';
import { NotFoundError, StalePageError } from '../errors';
import type { AuditEntry, Ban, Group, GroupPhoto, Member, Page } from '../groups/model';
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
import { MemoryTable, MAX_TRANSACTION_ACTIONS, type StoredRow } from './memoryTable';
import { failedActionOf, isAlreadyExists, isNotFound, isPreconditionFailed } from './tables';
import { AUDIT_PREFIX, BAN_PREFIX, GROUP_ROW, MEMBER_PREFIX } from './groupPartition';
import { deleteGroupRow, submitGroupChange } from './guardedGroupWrites';
import { firstMatchingStart, nameKey, nameMatches } from '../groups/memberNames';

/*
 * GroupStore in memory: for tests of the domain (milliseconds instead of a storage round trip per call) and for
 * a single process that needs no persistence. It keeps TableGroupStore's shape where the contract depends on it
 * (test/storage/groupStoreContract.ts runs the same cases against both): everything about a group is one
 * partition of a MemoryTable, and every change of a group is one transaction of it, so a second insert is a
 * 409, a change at a stale version a 412, and a change too big for one transaction (100 actions) fails whole.
 *
 *   'group'             { group (without memberCount), linkNonce, adminIds }   its eTag is the group's version
 *   'count'             { count }   joins change this row, never the group row (joins do not change the version)
 *   'member|<userId>'   { member }, or { userId, banned: true } (the tombstone of a removed member, as in Table)
 *   'ban|<userId>'      { ban }
 *   'audit|<inverted ms>|<order><sequence>'   { entry }, newest first
 */
const COUNT_ROW = 'count';
const GROUP_GONE = 'This group does not exist any more.';

const memberKey = (userId: string) => `${MEMBER_PREFIX}${userId}`;
const banKey = (userId: string) => `${BAN_PREFIX}${userId}`;
const upper = (prefix: string) => `${prefix}\uffff`;

let auditSequence = 0;
function auditKey(at: string, order = 0): string {
  const inverted = String(9_999_999_999_999 - Date.parse(at)).padStart(13, '0');
  // Same millisecond: the change's own order first, then the newer write first (the sequence counts down).
  return `${AUDIT_PREFIX}${inverted}|${Math.min(order, 15).toString(16)}${String(1e12 - ++auditSequence).padStart(12, '0')}`;
}

type GroupRow = StoredRow & { group: Omit<Group, 'memberCount'>; linkNonce: string; adminIds: readonly string[] };
type MemberRow = StoredRow & { member?: Member; banned?: boolean };

/** Pages over sorted keys; the token is the next key, marked so a damaged one is told apart (as in Table). */
function pageOf<T>(keys: readonly string[], page: PageQuery, item: (key: string) => T): Page<T> {
  let start = 0;
  if (page.continuationToken !== undefined) {
    const token = page.continuationToken;
    const next = token.startsWith('m.') ? Buffer.from(token.slice(2), 'base64url').toString('utf8') : undefined;
    if (next === undefined) throw new StalePageError();
    start = keys.findIndex((key) => key >= next);
    if (start < 0) start = keys.length;
  }
  const slice = keys.slice(start, start + page.pageSize);
  const rest = keys[start + page.pageSize];
  return { items: slice.map(item), continuationToken: rest === undefined ? undefined : `m.${Buffer.from(rest).toString('base64url')}` };
}

export class MemoryGroupStore implements GroupStore {
  /** The groups' partitions; public so tests can look at rows or make a transaction fail, as with the Table client. */
  readonly groups = new MemoryTable();
  private readonly invites = new Map<string, string>();
  private readonly revokedInvites = new Set<string>();
  private readonly photos = new Map<string, GroupPhoto>();
  private readonly userGroups = new Map<string, Set<string>>();
  private readonly orgGroups = new Map<string, Set<string>>();

  // ---- the group ------------------------------------------------------------------------------------------

  async insertGroup({ group, linkNonce, creator, audit }: NewGroup): Promise<boolean> {
    const partitionKey = group.id;
    const { memberCount: _count, linkNonce: _nonce, ...stored } = group;
    try {
      await this.groups.submitTransaction([
        ['create', { partitionKey, rowKey: GROUP_ROW, group: stored, linkNonce, adminIds: [creator.user.id] }],
        ['create', { partitionKey, rowKey: memberKey(creator.user.id), member: creator }],
        ['create', { partitionKey, rowKey: auditKey(audit.at), entry: audit }],
        ['create', { partitionKey, rowKey: COUNT_ROW, count: 1 }],
      ]);
      return true;
    } catch (err) {
      // Only a conflict on the group row itself (action 0) means "this group exists".
      if (isAlreadyExists(err) && (failedActionOf(err) ?? 0) === 0) return false;
      throw err;
    }
  }

  async getGroup(groupId: string): Promise<GroupRecord | undefined> {
    const row = this.groups.get(groupId, GROUP_ROW) as GroupRow | undefined;
    const count = this.groups.get(groupId, COUNT_ROW);
    if (!row) return undefined;
    return {
      group: structuredClone({ ...row.group, memberCount: Number(count?.count ?? 0), linkNonce: row.linkNonce }),
      linkNonce: row.linkNonce,
      adminIds: [...row.adminIds],
      version: row.etag,
    };
  }

  async getGroupWithMember(groupId: string, userId: string): Promise<{ record: GroupRecord; member?: Member } | undefined> {
    const record = await this.getGroup(groupId);
    return record ? { record, member: await this.getMember(groupId, userId) } : undefined;
  }

  async getMember(groupId: string, userId: string): Promise<Member | undefined> {
    const row = this.groups.get(groupId, memberKey(userId)) as MemberRow | undefined;
    return row?.member ? structuredClone(row.member) : undefined;
  }

  async updateGroup(groupId: string, expectedVersion: string, patch: GroupPatch, audit: AuditEntry): Promise<void> {
    const row = this.groups.get(groupId, GROUP_ROW) as GroupRow | undefined;
    if (!row) throw new ConcurrentChangeError();
    const group = { ...row.group };
    if (patch.organization) {
      const { tenantId, organizationName, mappedBy, mappedAt } = patch.organization;
      Object.assign(group, { status: 'organization', tenantId, organizationName, mappedBy, mappedAt });
    }
    await submitGroupChange(this.groups, [
      [
        'update',
        { partitionKey: groupId, rowKey: GROUP_ROW, group, linkNonce: patch.linkNonce ?? row.linkNonce },
        'Merge',
        { etag: expectedVersion },
      ],
      ['create', { partitionKey: groupId, rowKey: auditKey(audit.at), entry: audit }],
    ]);
  }

  async deleteGroup(record: GroupRecord): Promise<void> {
    const groupId = record.group.id;
    await deleteGroupRow(this.groups, groupId, record.version);
    const rows = this.groups.range(groupId);
    for (let i = 0; i < rows.length; i += MAX_TRANSACTION_ACTIONS) {
      await this.groups.submitTransaction(
        rows.slice(i, i + MAX_TRANSACTION_ACTIONS).map((r): TransactionAction => ['delete', { partitionKey: groupId, rowKey: r.rowKey }]),
      );
    }
    for (const row of rows as MemberRow[]) if (row.member) this.userGroups.get(row.member.user.id)?.delete(groupId);
    if (record.group.tenantId) this.orgGroups.get(record.group.tenantId)?.delete(groupId);
    this.photos.delete(groupId);
  }

  // ---- membership -----------------------------------------------------------------------------------------

  async addMember(member: Member, audit: AuditEntry): Promise<'added' | 'already_member' | 'banned'> {
    const groupId = member.groupId;
    const count = this.groups.get(groupId, COUNT_ROW);
    if (!count) throw new NotFoundError(GROUP_GONE);
    try {
      await this.groups.submitTransaction([
        ['create', { partitionKey: groupId, rowKey: memberKey(member.user.id), member: { ...member, role: 'member' } }],
        ['create', { partitionKey: groupId, rowKey: auditKey(audit.at), entry: audit }],
        ['update', { partitionKey: groupId, rowKey: COUNT_ROW, count: Number(count.count) + 1 }, 'Merge', { etag: count.etag }],
      ]);
      return 'added';
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const row = this.groups.get(groupId, memberKey(member.user.id)) as MemberRow | undefined;
      return row?.banned ? 'banned' : 'already_member';
    }
  }

  async addMembers(
    groupId: string,
    adds: ReadonlyArray<{ member: Member; audit: AuditEntry }>,
  ): Promise<Array<'added' | 'already_member' | 'banned'>> {
    const outcomes: Array<'added' | 'already_member' | 'banned'> = [];
    for (const { member, audit } of adds) outcomes.push(await this.addMember({ ...member, groupId }, audit));
    return outcomes;
  }

  async changeMembership(change: MembershipChange): Promise<void> {
    const { groupId } = change;
    const removals = change.remove ?? [];
    const actions: TransactionAction[] = [
      ['update', { partitionKey: groupId, rowKey: GROUP_ROW, adminIds: [...change.adminIds] }, 'Merge', { etag: change.expectedVersion }],
    ];
    const bans = new Map((change.ban ?? []).map((ban) => [ban.user.id, ban]));
    for (const userId of removals) {
      const ban = bans.get(userId);
      if (!ban) {
        actions.push(['delete', { partitionKey: groupId, rowKey: memberKey(userId) }]);
        continue;
      }
      actions.push(['upsert', { partitionKey: groupId, rowKey: memberKey(userId), userId, banned: true }, 'Replace']);
      actions.push(['upsert', { partitionKey: groupId, rowKey: banKey(userId), ban }, 'Replace']);
    }
    for (const userId of change.allow ?? []) {
      if ((this.groups.get(groupId, memberKey(userId)) as MemberRow | undefined)?.banned) {
        actions.push(['delete', { partitionKey: groupId, rowKey: memberKey(userId) }]);
      }
      if (this.groups.get(groupId, banKey(userId))) actions.push(['delete', { partitionKey: groupId, rowKey: banKey(userId) }]);
    }
    for (const { userId, role } of change.setRoles ?? []) {
      const current = this.groups.get(groupId, memberKey(userId)) as MemberRow | undefined;
      // A missing member row fails the transaction (404), as the Table store's update does.
      const member = current?.member ? { ...current.member, role } : undefined;
      actions.push(['update', { partitionKey: groupId, rowKey: memberKey(userId), member }, 'Merge', { etag: '*' }]);
    }
    if (removals.length > 0) {
      const count = this.groups.get(groupId, COUNT_ROW);
      if (!count) throw new ConcurrentChangeError();
      actions.push([
        'update',
        { partitionKey: groupId, rowKey: COUNT_ROW, count: Number(count.count) - removals.length },
        'Merge',
        { etag: count.etag },
      ]);
    }
    change.audit.forEach((entry, order) => actions.push(['create', { partitionKey: groupId, rowKey: auditKey(entry.at, order), entry }]));
    try {
      await this.groups.submitTransaction(actions);
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err) || isAlreadyExists(err)) throw new ConcurrentChangeError({ cause: err });
      throw err;
    }
  }

  async getBan(groupId: string, userId: string): Promise<Ban | undefined> {
    const row = this.groups.get(groupId, banKey(userId));
    return row ? structuredClone(row.ban as Ban) : undefined;
  }

  async listBans(groupId: string, page: PageQuery): Promise<Page<Ban>> {
    return this.pageRows(groupId, BAN_PREFIX, page, (row) => row.ban as Ban);
  }

  // ---- invites, photos ------------------------------------------------------------------------------------

  async putInvites(groupId: string, secretHashes: readonly string[]): Promise<void> {
    for (const hash of secretHashes) this.invites.set(hash, groupId);
  }

  async deleteInvites(secretHashes: readonly string[]): Promise<void> {
    for (const hash of secretHashes) this.invites.delete(hash);
  }

  async findInviteGroupId(secretHash: string): Promise<string | undefined> {
    return this.invites.get(secretHash);
  }

  async putRevokedInvites(secretHashes: readonly string[]): Promise<void> {
    for (const hash of secretHashes) this.revokedInvites.add(hash);
  }

  async isRevokedInvite(secretHash: string): Promise<boolean> {
    return this.revokedInvites.has(secretHash);
  }

  async putPhoto(groupId: string, photo: GroupPhoto): Promise<void> {
    this.photos.set(groupId, { ...photo, bytes: Buffer.from(photo.bytes) });
  }

  async getPhoto(groupId: string): Promise<GroupPhoto | undefined> {
    const photo = this.photos.get(groupId);
    return photo ? { ...photo, bytes: Buffer.from(photo.bytes) } : undefined;
  }

  // ---- indexes --------------------------------------------------------------------------------------------

  // `makeCurrent` is not kept: the current group is read by the conversation's own store, which runs on tables.
  async indexUserGroup(userId: string, groupId: string): Promise<void> {
    setOf(this.userGroups, userId).add(groupId);
  }

  async indexUserGroups(groupId: string, users: ReadonlyArray<{ userId: string; makeCurrent?: boolean }>): Promise<void> {
    for (const { userId } of users) await this.indexUserGroup(userId, groupId);
  }

  async unindexUserGroup(userId: string, groupId: string): Promise<void> {
    if (await this.getMember(groupId, userId)) return;
    this.userGroups.get(userId)?.delete(groupId);
  }

  async listUserGroupIds(userId: string, page: PageQuery): Promise<Page<string>> {
    return pageOf([...(this.userGroups.get(userId) ?? [])].sort(), page, (id) => id);
  }

  async indexOrgGroup(tenantId: string, groupId: string): Promise<void> {
    setOf(this.orgGroups, tenantId).add(groupId);
  }

  async unindexOrgGroup(tenantId: string, groupId: string): Promise<void> {
    this.orgGroups.get(tenantId)?.delete(groupId);
  }

  async listOrgGroupIds(tenantId: string, page: PageQuery): Promise<Page<string>> {
    return pageOf([...(this.orgGroups.get(tenantId) ?? [])].sort(), page, (id) => id);
  }

  // ---- listings -------------------------------------------------------------------------------------------

  async listMembers(groupId: string, page: PageQuery): Promise<Page<Member>> {
    return this.pageRows(
      groupId,
      MEMBER_PREFIX,
      page,
      (row) => row.member as Member,
      (row) => !row.banned,
    );
  }

  /** The same answers as TableGroupStore's name index, by reading every member and ban: memory is cheap. */
  async peopleNamed(groupId: string, typed: string, limit: number): Promise<NamedPerson[]> {
    const people: NamedPerson[] = [];
    for (const row of this.groups.range(groupId, MEMBER_PREFIX, upper(MEMBER_PREFIX)) as MemberRow[]) {
      const member = row.member;
      const user = member?.user ?? (this.groups.get(groupId, banKey(String(row.userId)))?.ban as Ban | undefined)?.user;
      if (!user) continue;
      const { exact, partial } = nameMatches(user.name, typed);
      if (partial) people.push({ user: structuredClone(user), ...(member ? { member: structuredClone(member) } : {}), exact });
    }
    // Exact matches first, as the index lists them.
    return [...people.filter((p) => p.exact), ...people.filter((p) => !p.exact)].slice(0, limit);
  }

  /** The same answers as the name index's search: each matching member under their first matching word start. */
  async searchMembers(groupId: string, typed: string, page: PageQuery): Promise<Page<Member>> {
    const found = new Map<string, Member>();
    const key = nameKey(typed);
    for (const row of this.groups.range(groupId, MEMBER_PREFIX, upper(MEMBER_PREFIX)) as MemberRow[]) {
      const start = row.member && firstMatchingStart(nameKey(row.member.user.name), key);
      if (start !== undefined) found.set(`${start} ${row.member!.user.id}`, row.member!);
    }
    return pageOf([...found.keys()].sort(), page, (key) => structuredClone(found.get(key)!));
  }

  async *allMembers(groupId: string): AsyncIterable<Member> {
    for (const row of this.groups.range(groupId, MEMBER_PREFIX, upper(MEMBER_PREFIX)) as MemberRow[]) if (row.member) yield row.member;
  }

  async listAudit(groupId: string, page: PageQuery): Promise<Page<AuditEntry>> {
    return this.pageRows(groupId, AUDIT_PREFIX, page, (row) => row.entry as AuditEntry);
  }

  async *allAudit(groupId: string): AsyncIterable<AuditEntry> {
    for (const row of this.groups.range(groupId, AUDIT_PREFIX, upper(AUDIT_PREFIX))) yield row.entry as AuditEntry;
  }

  private pageRows<T>(
    groupId: string,
    prefix: string,
    page: PageQuery,
    item: (row: StoredRow) => T,
    keep: (row: StoredRow) => boolean = () => true,
  ): Page<T> {
    const rows = new Map(
      this.groups
        .range(groupId, prefix, upper(prefix))
        .filter(keep)
        .map((row) => [row.rowKey, row]),
    );
    return pageOf([...rows.keys()], page, (key) => structuredClone(item(rows.get(key)!)));
  }
}

function setOf(map: Map<string, Set<string>>, key: string): Set<string> {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  return set;
}
