import assert from 'node:assert/strict';
import { odata, type TableClient } from '@azure/data-tables';
import sinon from 'sinon';
import type { Ban } from '../../src/groups/model';
import { MemoryGroupStore } from '../../src/storage/memoryGroupStore';
import { COUNTER_SHARDS, TableGroupStore, toKey } from '../../src/storage/tableGroupStore';
import type { TableClients } from '../../src/storage/tables';
import { freshTables } from '../helpers/azurite';
import { alice, freshGroupId, groupStoreContract, joined, member, newGroup } from './groupStoreContract';

async function partitionRowKeys(table: TableClient, partitionKey: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const row of table.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` } })) keys.push(row.rowKey!);
  return keys;
}

groupStoreContract('in memory', async () => {
  const store = new MemoryGroupStore();
  return { store, another: () => store, groupsTable: store.groups, rowKeys: async (groupId) => store.groups.rowKeys(groupId) };
});

let tables: TableClients | undefined;
groupStoreContract('Table Storage (Azurite)', async () => {
  tables ??= (await freshTables()).clients;
  const clients = tables;
  return {
    store: new TableGroupStore(clients),
    another: () => new TableGroupStore(clients),
    groupsTable: clients.groups as never,
    rowKeys: (groupId) => partitionRowKeys(clients.groups, groupId),
  };
});

describe('TableGroupStore specifics (Azurite)', () => {
  let clients: TableClients;
  let store: TableGroupStore;
  before(async () => {
    ({ clients } = await freshTables());
  });
  beforeEach(() => {
    store = new TableGroupStore(clients);
  });
  afterEach(() => sinon.restore());

  it('spreads the member count over counter shards written with the group', async () => {
    const id = freshGroupId('shards');
    await store.insertGroup(newGroup(id));
    const keys = await partitionRowKeys(clients.groups, id);
    assert.equal(keys.filter((k) => k.startsWith('group|count|')).length, COUNTER_SHARDS);
    assert.ok(keys.includes('group') && keys.includes('member|aad-alice'));
  });

  it('commits joins that arrive together in shared transactions, and shares overlapping reads of the group', async () => {
    const id = freshGroupId('batch');
    await store.insertGroup(newGroup(id));
    const batches = sinon.spy(clients.groups, 'submitTransaction');
    const queries = sinon.spy(clients.groups, 'listEntities');
    const crowd = Array.from({ length: 60 }, (_, i) => ({ id: `batch-${i}`, name: `Batch ${i}` }));
    const [outcomes, reads] = await Promise.all([
      Promise.all(crowd.map((u) => store.addMember(member(id, u), joined(id, u)))),
      Promise.all(Array.from({ length: 10 }, () => store.getGroup(id))),
    ]);
    assert.ok(outcomes.every((o) => o === 'added'));
    // 60 joins in at most 49 per transaction: two transactions when nothing collides, a few more if it does.
    assert.ok(batches.callCount >= 2 && batches.callCount < 10, `${batches.callCount} transactions`);
    assert.ok(
      reads.every((r) => r === reads[0]),
      'overlapping reads share one answer',
    );
    assert.ok(queries.callCount < 10, `${queries.callCount} queries for 10 overlapping reads and the joins`);
    assert.equal((await store.getGroup(id))?.group.memberCount, 61);
  });

  it('escapes user ids into keys reversibly: a tombstone and a ban row sit at the escaped member key', async () => {
    const odd = { id: 'aad-bob/with#odd?chars', name: 'Bob' };
    assert.notEqual(toKey('a/b\\c#d?e%f'), toKey('a/b\\c#d?e%25f'));
    const id = freshGroupId('tombstone');
    await store.insertGroup(newGroup(id));
    await store.addMember(member(id, odd), joined(id, odd));
    const record = (await store.getGroup(id))!;
    const ban: Ban = { groupId: id, user: odd, bannedBy: alice, bannedAt: record.group.createdAt };
    await store.changeMembership({
      groupId: id,
      expectedVersion: record.version,
      adminIds: [alice.id],
      remove: [odd.id],
      ban: [ban],
      audit: [],
    });
    const keys = await partitionRowKeys(clients.groups, id);
    assert.ok(keys.includes('member|aad-bob%2fwith%23odd%3fchars') && keys.includes('ban|aad-bob%2fwith%23odd%3fchars'), keys.join(','));
  });
});
