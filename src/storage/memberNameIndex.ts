import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { firstMatchingStart, nameKey, wordStarts } from '../groups/memberNames';
import type { Member, Page, UserRef } from '../groups/model';
import type { NamedPerson, PageQuery } from '../groups/ports';
import { fromMemberEntity, isBanned, type MemberEntity } from './groupEntities';
import { MEMBER_PREFIX, memberRowKey, toKey } from './groupPartition';
import { deleteRows, forEachLimited } from './partitionSweep';
import { assertContinuationToken, isAlreadyExists, isNotFound, isPreconditionFailed, TableRepository } from './tables';
import { SingleFlight } from './singleFlight';

/*
 * The name index of a group's members (issue 18: `remove Ann` in a group of 10,000 reads a few rows, not the
 * list). Its own partition of `groups`, `<groupId>|names`, apart from the group's (the member list's scans stay
 * as they were):
 *
 *   RowKey '<word start> <userKey>'   one per word start of a member's name key (memberNames.ts): userId, the
 *                                     whole name key it was written for. A space in a name is '!' in the key
 *                                     (and '!' itself escaped), so the space before the user sorts below any
 *                                     longer name: the exact matches of a prefix come first in its range.
 *   RowKey '!ready'                   the index is whole: written with a new group, or once a group made before
 *                                     the index was filled from its member rows (no name key begins with '!').
 *
 * Not transactional with the member rows (another partition), so the member row is the truth and the index a
 * hint that is kept safe both ways:
 * - Never missing: a join writes its entries BEFORE the member row (the join waits for them), a new group its
 *   creator's with '!ready' before the group, and a group without '!ready' is filled on its first lookup.
 * - Never believed when stale: every entry found is checked against its member row (a point read); one the row
 *   does not bear out (they left, the join never happened, another name) is not an answer, and is deleted once
 *   it is older than STALE_AFTER_MS, at its eTag. A join under way rewrites its entries first, so a fresh entry
 *   is never deleted under it. Leaving, and being let back in after a removal, delete the person's entries the
 *   same way; a removal keeps them (the tombstone keeps the name: `allow Ann` finds her).
 */

const NAMES_SUFFIX = '|names';
export const namesPartition = (groupId: string) => `${groupId}${NAMES_SUFFIX}`;
export const NAMES_READY_ROW = '!ready';
/** An entry younger than this may be a join's under way: never deleted, only not believed. */
export const STALE_AFTER_MS = 10 * 60_000;
/** Pages of the index a lookup reads at most (`limit` rows each; beyond the first only past stale entries). */
const LOOKUP_PAGES = 4;
const MAX_BATCH = 100;
const READY_CACHE = 10_000;
/** Joins whose entries share one write: a join storm's writes stay small and many, and each join waits for its own. */
const USERS_PER_WRITE = 25;
/** Index transactions in flight at once per store: a storm of joins must not flood storage with them. */
const WRITES_AT_ONCE = 32;

/** At most `limit` calls at once; the rest wait their turn. */
class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

interface NameEntity {
  userId: string;
  /** The whole name key the entry was written for: the member row must have the same. */
  nameKey: string;
}

/** Name key text as row key text: table keys forbid `/ \ # ?` and control characters; a space is '!'. */
function keyText(text: string): string {
  return text
    .replace(/[%/\\#?!\u0000-\u001f\u007f-\u009f]/g, (ch) => `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/ /g, '!');
}

const entryRowKey = (start: string, userId: string) => `${keyText(start)} ${toKey(userId)}`;

type IndexEntry = NameEntity & { partitionKey: string; rowKey: string; etag: string; timestamp?: string };

/** The index rows of every name key that begins with `key` (the exact ones first: see the layout). */
function rangeOf(groupId: string, key: string): string {
  const from = keyText(key);
  return odata`PartitionKey eq ${namesPartition(groupId)} and RowKey ge ${from} and RowKey lt ${`${from}\uffff`}`;
}

function entriesOf(user: UserRef): Array<{ rowKey: string } & NameEntity> {
  const key = nameKey(user.name);
  if (!key) return [];
  return wordStarts(key).map((start) => ({ rowKey: entryRowKey(start, user.id), userId: user.id, nameKey: key }));
}

export class MemberNameIndex {
  private readonly memberRows: TableRepository<MemberEntity>;
  private readonly entries: TableRepository<NameEntity & { timestamp?: string }>;
  /** Groups whose '!ready' was seen: it never goes away while the group lives. */
  private readonly ready = new Set<string>();
  private readonly fills = new SingleFlight<void>();
  private readonly writing = new Limiter(WRITES_AT_ONCE);
  /** Joins of this moment, per group: their entries go in shared transactions, in parallel (upserts never collide). */
  private readonly gathering = new Map<string, { users: UserRef[]; written: Promise<void> }>();

  constructor(private readonly table: TableClient) {
    this.memberRows = new TableRepository(table);
    this.entries = new TableRepository(table);
  }

  /** A join's entries, before its member row: resolves once they are written (with the others of this moment). */
  beforeJoin(groupId: string, user: UserRef): Promise<void> {
    let batch = this.gathering.get(groupId);
    if (!batch || batch.users.length >= USERS_PER_WRITE) {
      const users: UserRef[] = [];
      const written = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        if (this.gathering.get(groupId)?.users === users) this.gathering.delete(groupId);
        return this.write(groupId, users);
      });
      batch = { users, written };
      this.gathering.set(groupId, batch);
    }
    batch.users.push(user);
    return batch.written;
  }

  /** A new group's creator, and '!ready': the index of a group made now is whole from its first row. */
  async beforeInsert(groupId: string, creator: UserRef): Promise<void> {
    await this.write(groupId, [creator], true);
    this.remember(groupId);
  }

  /** Upserts the entries of these people (and '!ready' with `ready`), in transactions of 100, in parallel. */
  async write(groupId: string, users: readonly UserRef[], ready = false): Promise<void> {
    const partitionKey = namesPartition(groupId);
    const rows = new Map<string, Record<string, unknown>>();
    for (const user of users) for (const { rowKey, ...entity } of entriesOf(user)) rows.set(rowKey, entity);
    if (ready) rows.set(NAMES_READY_ROW, {});
    const entries = [...rows].map(([rowKey, entity]) => ({ partitionKey, rowKey, ...entity }));
    const batches: Array<typeof entries> = [];
    for (let i = 0; i < entries.length; i += MAX_BATCH) batches.push(entries.slice(i, i + MAX_BATCH));
    await Promise.all(batches.map((batch) => this.writing.run(() => this.writeBatch(batch))));
  }

  /**
   * Entries are nearly always new (a join, a bulk add): created, which the embedded store (Azurite) checks with
   * one look-up of the partition where an upsert takes two, and a big group's index is a big partition. Any of
   * them there already (a rerun, a rejoin): the transaction wrote nothing, and the same entries are upserted.
   */
  private async writeBatch(batch: ReadonlyArray<{ partitionKey: string; rowKey: string }>): Promise<void> {
    try {
      await this.table.submitTransaction(batch.map((entity): TransactionAction => ['create', entity]));
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      await this.table.submitTransaction(batch.map((entity): TransactionAction => ['upsert', entity, 'Replace']));
    }
  }

  /** People the group no longer knows by name (they left; let back in after a removal): their entries go. */
  async forget(groupId: string, users: readonly UserRef[]): Promise<void> {
    const partitionKey = namesPartition(groupId);
    const rowKeys = users.flatMap((user) => entriesOf(user).map((e) => e.rowKey));
    await forEachLimited(rowKeys, 8, async (rowKey) => {
      const entry = await this.entries.find(partitionKey, rowKey);
      if (entry) await this.deleteIfOld(entry);
    });
  }

  /** See GroupStore.peopleNamed. */
  async peopleNamed(groupId: string, typed: string, limit: number): Promise<NamedPerson[]> {
    const key = nameKey(typed);
    if (!key) return [];
    await this.whole(groupId);
    const pages = this.table.listEntities<NameEntity>({ queryOptions: { filter: rangeOf(groupId, key) } }).byPage({ maxPageSize: limit });
    const seen = new Set<string>();
    const people: NamedPerson[] = [];
    for (let page = 0; page < LOOKUP_PAGES && people.length < limit; page++) {
      const next = await pages.next();
      if (next.done) break;
      const entries = (next.value as IndexEntry[]).filter((e) => typeof e.userId === 'string' && !seen.has(e.userId));
      entries.forEach((e) => seen.add(e.userId));
      const { believed, stale } = await this.believed(groupId, entries);
      for (const { row } of believed) {
        const person: NamedPerson = { user: { id: row.userId, name: row.userName }, exact: nameKey(row.userName) === key };
        if (!isBanned(row)) person.member = fromMemberEntity(groupId, row);
        people.push(person);
      }
      // Past the first page only while stale entries left it short.
      if (stale === 0) break;
    }
    // Exact matches first: the index lists them first, but a later page may still hold one.
    return [...people.filter((p) => p.exact), ...people.filter((p) => !p.exact)].slice(0, limit);
  }

  /** See GroupStore.searchMembers: one page of the index's range, each member under their first matching start. */
  async search(groupId: string, typed: string, page: PageQuery): Promise<Page<Member>> {
    assertContinuationToken(page.continuationToken);
    const key = nameKey(typed);
    if (!key) return { items: [] };
    await this.whole(groupId);
    const next = await this.table
      .listEntities<NameEntity>({ queryOptions: { filter: rangeOf(groupId, key) } })
      .byPage({ maxPageSize: page.pageSize, continuationToken: page.continuationToken })
      .next();
    if (next.done) return { items: [] };
    const entries = next.value as IndexEntry[] & { continuationToken?: string };
    // A person with several matching word starts has an entry under each: only the first one lists them.
    const firsts = entries.filter((e) => {
      const start = typeof e.nameKey === 'string' ? firstMatchingStart(e.nameKey, key) : undefined;
      return start !== undefined && e.rowKey === entryRowKey(start, e.userId);
    });
    const { believed } = await this.believed(groupId, firsts);
    return {
      items: believed.filter(({ row }) => !isBanned(row)).map(({ row }) => fromMemberEntity(groupId, row)),
      continuationToken: entries.continuationToken,
    };
  }

  /**
   * The entries their member rows bear out (the person is there, under the name the entry was written for),
   * in the entries' order, each person once; the others are not answers, and go once old (see deleteIfOld).
   */
  private async believed(
    groupId: string,
    entries: readonly IndexEntry[],
  ): Promise<{ believed: Array<{ row: MemberEntity }>; stale: number }> {
    const userIds = [...new Set(entries.map((e) => e.userId).filter((id) => typeof id === 'string'))];
    // Each person's member row, all at once: one round trip for the page.
    const rows = new Map(
      await Promise.all(userIds.map(async (id) => [id, await this.memberRows.find(groupId, memberRowKey(id))] as const)),
    );
    const stale = entries.filter((e) => {
      const row = rows.get(e.userId);
      return row === undefined || nameKey(row.userName) !== e.nameKey;
    });
    const believed: Array<{ row: MemberEntity }> = [];
    for (const id of userIds) {
      const row = rows.get(id);
      if (row && entries.some((e) => e.userId === id && e.nameKey === nameKey(row.userName))) believed.push({ row });
    }
    await Promise.all(stale.map((entry) => this.deleteIfOld(entry)));
    return { believed, stale: stale.length };
  }

  /** Every row of the group's index, with the group (deleteGroup). */
  async deleteAll(groupId: string): Promise<void> {
    const partitionKey = namesPartition(groupId);
    const rowKeys: string[] = [];
    for await (const row of this.table.listEntities({
      queryOptions: { filter: odata`PartitionKey eq ${partitionKey}`, select: ['RowKey'] },
    }))
      rowKeys.push(row.rowKey!);
    await deleteRows(this.table, partitionKey, rowKeys);
    this.ready.delete(groupId);
  }

  /** A group made before the index (no '!ready'): its entries from the member rows, tombstones too, once. */
  private async whole(groupId: string): Promise<void> {
    if (this.ready.has(groupId)) return;
    await this.fills.run(groupId, async () => {
      if (!(await this.entries.find(namesPartition(groupId), NAMES_READY_ROW))) {
        const users: UserRef[] = [];
        for await (const row of this.memberRows.all(groupId, MEMBER_PREFIX)) users.push({ id: row.userId, name: row.userName });
        // Joins meanwhile write their own entries first; leaves meanwhile leave stale ones, which lookups check.
        for (let i = 0; i < users.length; i += 500) await this.write(groupId, users.slice(i, i + 500));
        await this.write(groupId, [], true);
      }
      this.remember(groupId);
    });
  }

  private remember(groupId: string): void {
    if (this.ready.size >= READY_CACHE) this.ready.clear();
    this.ready.add(groupId);
  }

  /** Deletes an entry at the eTag it was read at, once it is older than a join could take. */
  private async deleteIfOld(entry: { partitionKey: string; rowKey: string; etag: string; timestamp?: string }): Promise<void> {
    const writtenAt = entry.timestamp ? Date.parse(entry.timestamp) : NaN;
    if (!(Date.now() - writtenAt > STALE_AFTER_MS)) return;
    try {
      await this.table.deleteEntity(entry.partitionKey, entry.rowKey, { etag: entry.etag });
    } catch (err) {
      // Rewritten since (a join: it is theirs now) or gone already: either way not ours to delete.
      if (!isPreconditionFailed(err) && !isNotFound(err)) throw err;
    }
  }
}
