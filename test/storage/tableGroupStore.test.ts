import assert from 'node:assert/strict';
import { odata, type TableClient } from '@azure/data-tables';
import sinon from 'sinon';
import { NotFoundError } from '../../src/errors';
import type { AuditEntry, Group, Member, UserRef } from '../../src/groups/model';
import { ConcurrentChangeError, type NewGroup } from '../../src/groups/ports';
import { COUNTER_SHARDS, TableGroupStore, toKey } from '../../src/storage/tableGroupStore';
import type { TableClients } from '../../src/storage/tables';
import { freshTables } from '../helpers/azurite';

const AT = '2025-01-02T03:04:05.000Z';
const alice: UserRef = { id: 'aad-alice', name: 'Alice' };

function newGroup(id: string, creator: UserRef = alice): NewGroup {
  const group: Group = { id, name: `Group ${id}`, createdBy: creator, createdAt: AT, status: 'private', memberCount: 1 };
  return {
    group,
    linkNonce: 'nonce-1',
    creator: { groupId: id, user: creator, role: 'admin', joinedAt: AT },
    audit: { groupId: id, at: AT, action: 'created', actor: creator },
  };
}

function member(groupId: string, user: UserRef): Member {
  return { groupId, user, role: 'member', joinedAt: AT };
}

function joined(groupId: string, user: UserRef): AuditEntry {
  return { groupId, at: AT, action: 'joined', actor: user };
}

async function partitionRowKeys(table: TableClient, partitionKey: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const row of table.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` } })) {
    keys.push(row.rowKey!);
  }
  return keys;
}

async function inFlight<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => { while (next < items.length) await work(items[next++]!); }));
}

describe('TableGroupStore (Azurite)', () => {
  let clients: TableClients;
  let store: TableGroupStore;

  before(async () => {
    ({ clients } = await freshTables());
  });
  beforeEach(() => {
    store = new TableGroupStore(clients);
  });

  it('writes the group, its admin creator, its counter shards and the audit entry in one go', async () => {
    assert.equal(await store.insertGroup(newGroup('g-insert')), true);
    const keys = await partitionRowKeys(clients.groups, 'g-insert');
    assert.equal(keys.filter((k) => k.startsWith('group|count|')).length, COUNTER_SHARDS);
    assert.ok(keys.includes('group'));
    assert.ok(keys.includes('member|aad-alice'));
    assert.equal(keys.filter((k) => k.startsWith('audit|')).length, 1);

    const record = await store.getGroup('g-insert');
    assert.equal(record?.group.memberCount, 1);
    assert.deepEqual(record?.adminIds, ['aad-alice']);
    assert.equal(record?.linkNonce, 'nonce-1');
    assert.equal((await store.getMember('g-insert', alice.id))?.role, 'admin');
  });

  it('reports an existing group instead of writing a second one', async () => {
    await store.insertGroup(newGroup('g-twice'));
    const before = await partitionRowKeys(clients.groups, 'g-twice');
    assert.equal(await store.insertGroup(newGroup('g-twice', { id: 'someone-else', name: 'Eve' })), false);
    assert.deepEqual(await partitionRowKeys(clients.groups, 'g-twice'), before);
  });

  it('leaves nothing behind when the group transaction fails', async () => {
    const original = clients.groups.submitTransaction.bind(clients.groups);
    // Make the real transaction fail on its last action (a row that exists already): storage must roll back.
    await clients.groups.createEntity({ partitionKey: 'g-atomic', rowKey: 'zz-blocker' });
    sinon.stub(clients.groups, 'submitTransaction').callsFake((actions) =>
      original([...actions, ['create', { partitionKey: 'g-atomic', rowKey: 'zz-blocker' }]]),
    );
    await assert.rejects(store.insertGroup(newGroup('g-atomic')), (err: { statusCode?: number }) => err.statusCode === 409);
    sinon.restore();
    assert.deepEqual(await partitionRowKeys(clients.groups, 'g-atomic'), ['zz-blocker']);
    assert.equal(await store.getGroup('g-atomic'), undefined);
  });

  it('adds a member once and reports the second add as already a member', async () => {
    await store.insertGroup(newGroup('g-add'));
    const bob = { id: 'bob', name: 'Bob' };
    assert.equal(await store.addMember(member('g-add', bob), joined('g-add', bob)), 'added');
    assert.equal(await store.addMember(member('g-add', bob), joined('g-add', bob)), 'already_member');
    assert.equal((await store.getGroup('g-add'))?.group.memberCount, 2);
  });

  it('counts 200 concurrent joins (20 in flight, some repeated) exactly, each member once', async function () {
    this.timeout(120_000);
    await store.insertGroup(newGroup('g-crowd'));
    // Two store instances, as two bot processes would be: each has its own stale view of the counter shards.
    const stores = [store, new TableGroupStore(clients)];
    const users = Array.from({ length: 200 }, (_, i) => ({ id: `user-${i}`, name: `User ${i}` }));
    const attempts = [...users, ...users.slice(0, 20)];
    const outcomes: string[] = [];
    await inFlight(attempts, 20, async (user) => {
      outcomes.push(await stores[outcomes.length % 2]!.addMember(member('g-crowd', user), joined('g-crowd', user)));
    });
    assert.equal(outcomes.filter((o) => o === 'added').length, 200);
    assert.equal(outcomes.filter((o) => o === 'already_member').length, 20);
    assert.equal((await store.getGroup('g-crowd'))?.group.memberCount, 201);
    const ids: string[] = [];
    for await (const m of store.allMembers('g-crowd')) ids.push(m.user.id);
    assert.equal(ids.length, 201);
    assert.equal(new Set(ids).size, 201);
  });

  it('commits joins that arrive together in shared transactions, and shares overlapping reads of the group', async () => {
    await store.insertGroup(newGroup('g-batch'));
    const batches = sinon.spy(clients.groups, 'submitTransaction');
    const queries = sinon.spy(clients.groups, 'listEntities');
    const users = Array.from({ length: 60 }, (_, i) => ({ id: `batch-${i}`, name: `Batch ${i}` }));
    const [outcomes, reads] = await Promise.all([
      Promise.all(users.map((u) => store.addMember(member('g-batch', u), joined('g-batch', u)))),
      Promise.all(Array.from({ length: 10 }, () => store.getGroup('g-batch'))),
    ]);
    assert.ok(outcomes.every((o) => o === 'added'));
    // 60 joins in at most 49 per transaction: two transactions when nothing collides, a few more if it does.
    assert.ok(batches.callCount >= 2 && batches.callCount < 10, `${batches.callCount} transactions`);
    assert.ok(reads.every((r) => r === reads[0]), 'overlapping reads share one answer');
    assert.ok(queries.callCount < 10, `${queries.callCount} queries for 10 overlapping reads and the joins`);
    assert.equal((await store.getGroup('g-batch'))?.group.memberCount, 61);
  });

  it('refuses a join once the group is deleted', async () => {
    await store.insertGroup(newGroup('g-gone'));
    const record = (await store.getGroup('g-gone'))!;
    await new TableGroupStore(clients).deleteGroup(record);
    const carol = { id: 'carol', name: 'Carol' };
    await assert.rejects(store.addMember(member('g-gone', carol), joined('g-gone', carol)), NotFoundError);
    assert.deepEqual(await partitionRowKeys(clients.groups, 'g-gone'), []);
  });

  it('rejects a membership change made on a stale version of the group', async () => {
    await store.insertGroup(newGroup('g-stale'));
    const bob = { id: 'bob', name: 'Bob' };
    await store.addMember(member('g-stale', bob), joined('g-stale', bob));
    const stale = (await store.getGroup('g-stale'))!;
    await store.changeMembership({
      groupId: 'g-stale',
      expectedVersion: stale.version,
      adminIds: ['aad-alice', 'bob'],
      setRoles: [{ userId: 'bob', role: 'admin' }],
      audit: [{ groupId: 'g-stale', at: AT, action: 'role_changed', actor: alice, subject: bob }],
    });
    await assert.rejects(
      store.changeMembership({ groupId: 'g-stale', expectedVersion: stale.version, adminIds: ['aad-alice'], remove: ['bob'], audit: [] }),
      ConcurrentChangeError,
    );
    const after = (await store.getGroup('g-stale'))!;
    assert.deepEqual(after.adminIds, ['aad-alice', 'bob']);
    assert.equal(after.group.memberCount, 2);
    assert.equal((await store.getMember('g-stale', 'bob'))?.role, 'admin');
  });

  it('removes a member and decrements the count in the same transaction', async () => {
    await store.insertGroup(newGroup('g-remove'));
    const bob = { id: 'bob', name: 'Bob' };
    await store.addMember(member('g-remove', bob), joined('g-remove', bob));
    const record = (await store.getGroup('g-remove'))!;
    await store.changeMembership({ groupId: 'g-remove', expectedVersion: record.version, adminIds: ['aad-alice'], remove: ['bob'], audit: [] });
    assert.equal(await store.getMember('g-remove', 'bob'), undefined);
    assert.equal((await store.getGroup('g-remove'))?.group.memberCount, 1);
  });

  it('escapes user ids that contain characters table keys forbid', async () => {
    const odd = { id: 'a/b\\c#d?e%f', name: 'Odd' };
    assert.notEqual(toKey(odd.id), toKey('a/b\\c#d?e%25f'));
    await store.insertGroup(newGroup('g-odd'));
    assert.equal(await store.addMember(member('g-odd', odd), joined('g-odd', odd)), 'added');
    assert.deepEqual((await store.getMember('g-odd', odd.id))?.user, odd);
    await store.indexUserGroup(odd.id, 'g-odd');
    assert.deepEqual((await store.listUserGroupIds(odd.id, { pageSize: 10 })).items, ['g-odd']);
  });

  it('keeps a "my groups" row when the user is a member again, and drops it when not', async () => {
    await store.insertGroup(newGroup('g-index'));
    const bob = { id: 'bob', name: 'Bob' };
    await store.addMember(member('g-index', bob), joined('g-index', bob));
    await store.indexUserGroup('bob', 'g-index');
    await store.unindexUserGroup('bob', 'g-index');
    assert.deepEqual((await store.listUserGroupIds('bob', { pageSize: 10 })).items, ['g-index']);

    const record = (await store.getGroup('g-index'))!;
    await store.changeMembership({ groupId: 'g-index', expectedVersion: record.version, adminIds: ['aad-alice'], remove: ['bob'], audit: [] });
    await store.unindexUserGroup('bob', 'g-index');
    assert.deepEqual((await store.listUserGroupIds('bob', { pageSize: 10 })).items, []);
  });

  it('stores a photo as binary and reads back the same bytes', async () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
    await store.putPhoto('g-photo', { bytes, contentType: 'image/png', version: 'v1' });
    const photo = await store.getPhoto('g-photo');
    assert.deepEqual(photo, { bytes, contentType: 'image/png', version: 'v1' });
  });

  it('lists the audit trail newest first', async () => {
    await store.insertGroup(newGroup('g-audit'));
    const bob = { id: 'bob', name: 'Bob' };
    await store.addMember(member('g-audit', bob), { groupId: 'g-audit', at: '2025-02-01T00:00:00.000Z', action: 'joined', actor: bob });
    const page = await store.listAudit('g-audit', { pageSize: 10 });
    assert.deepEqual(page.items.map((e) => e.action), ['joined', 'created']);
  });
});
