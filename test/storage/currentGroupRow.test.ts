import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { TableCurrentGroupStore } from '../../src/storage/tableCurrentGroupStore';
import { CURRENT_GROUP_ROW, TableGroupStore } from '../../src/storage/tableGroupStore';
import type { TableClients } from '../../src/storage/tables';
import { freshTables } from '../helpers/azurite';

describe('the current group, kept on the "my groups" rows', () => {
  let clients: TableClients;
  let store: TableGroupStore;
  let current: TableCurrentGroupStore;

  beforeEach(async () => {
    ({ clients } = await freshTables());
    store = new TableGroupStore(clients);
    current = new TableCurrentGroupStore(clients.usergroups);
  });

  it("is the group joined last, set by the join's own index write (one request, no second row)", async () => {
    await store.indexUserGroup('ann', 'g2', { makeCurrent: true });
    await sleep(2);
    await store.indexUserGroup('ann', 'g1', { makeCurrent: true });
    assert.deepEqual(await current.get('ann'), { groupId: 'g1' });
    const rows = [];
    for await (const row of clients.usergroups.listEntities()) rows.push(row.rowKey);
    assert.deepEqual(rows, ['g1', 'g2'], 'no other row is written by a join');
  });

  it('moves to a group opened or replied in, and only to a group the member is in', async () => {
    await store.indexUserGroup('bob', 'g1', { makeCurrent: true });
    await store.indexUserGroup('bob', 'g2', { makeCurrent: true });
    await sleep(2);
    await current.set('bob', 'g1');
    assert.equal((await current.get('bob'))?.groupId, 'g1');
    await current.set('bob', 'not-mine');
    assert.equal((await current.get('bob'))?.groupId, 'g1');
    assert.deepEqual((await store.listUserGroupIds('bob', { pageSize: 10 })).items, ['g1', 'g2']);
  });

  it('keeps the confirmation in a row that "my groups" never lists, and pages end without an empty page', async () => {
    for (const id of ['g1', 'g2', 'g3', 'g4']) await store.indexUserGroup('cy', id, { makeCurrent: true });
    await current.confirm('cy', 'g4');
    assert.deepEqual(await current.get('cy'), { groupId: 'g4', confirmedGroupId: 'g4' });
    const first = await store.listUserGroupIds('cy', { pageSize: 2 });
    const second = await store.listUserGroupIds('cy', { pageSize: 2, continuationToken: first.continuationToken });
    assert.deepEqual([...first.items, ...second.items], ['g1', 'g2', 'g3', 'g4']);
    if (second.continuationToken) {
      assert.deepEqual((await store.listUserGroupIds('cy', { pageSize: 2, continuationToken: second.continuationToken })).items, []);
    }
    const rows = [];
    for await (const row of clients.usergroups.listEntities()) rows.push(row.rowKey);
    assert.equal(rows.at(-1), CURRENT_GROUP_ROW);
    await current.clear('cy');
    assert.deepEqual(await current.get('cy'), { groupId: 'g4' });
  });

  it('has none for someone who left their only group', async () => {
    await store.indexUserGroup('dee', 'g1', { makeCurrent: true });
    await store.unindexUserGroup('dee', 'g1');
    assert.equal(await current.get('dee'), undefined);
  });
});
