import assert from 'node:assert/strict';
import { TableCurrentGroupStore } from '../../src/storage/tableCurrentGroupStore';
import { CURRENT_GROUP_ROW, TableGroupStore, toKey } from '../../src/storage/tableGroupStore';
import type { TableClients } from '../../src/storage/tables';
import { freshTables } from '../helpers/azurite';

describe('the current group, a row of the "my groups" partition', () => {
  let clients: TableClients;
  let store: TableGroupStore;
  let current: TableCurrentGroupStore;

  beforeEach(async () => {
    ({ clients } = await freshTables());
    store = new TableGroupStore(clients);
    current = new TableCurrentGroupStore(clients.usergroups);
  });

  it('is set by the same write that indexes a joined group, and is never listed as a group', async () => {
    await store.indexUserGroup('ann', 'g1', { makeCurrent: true });
    await store.indexUserGroup('ann', 'g2', { makeCurrent: true });
    await store.indexUserGroup('ann', 'g3');
    assert.deepEqual(await current.get('ann'), { groupId: 'g2' });
    assert.deepEqual((await store.listUserGroupIds('ann', { pageSize: 10 })).items, ['g1', 'g2', 'g3']);
    const rows = [];
    for await (const row of clients.usergroups.listEntities()) rows.push(row.rowKey);
    assert.deepEqual(rows, ['g1', 'g2', 'g3', CURRENT_GROUP_ROW], 'the current row sorts after every group id');
  });

  it('keeps pages full and ends them without an empty page when the groups fill the last page exactly', async () => {
    for (const id of ['g1', 'g2', 'g3', 'g4']) await store.indexUserGroup('bob', id, { makeCurrent: true });
    const first = await store.listUserGroupIds('bob', { pageSize: 2 });
    assert.deepEqual(first.items, ['g1', 'g2']);
    const second = await store.listUserGroupIds('bob', { pageSize: 2, continuationToken: first.continuationToken });
    assert.deepEqual(second.items, ['g3', 'g4']);
    if (second.continuationToken) {
      const third = await store.listUserGroupIds('bob', { pageSize: 2, continuationToken: second.continuationToken });
      assert.deepEqual(third.items, []);
    }
  });

  it('keeps the confirmation beside the group, and a join after it moves the group but not the confirmation', async () => {
    await store.indexUserGroup('cy', 'g1', { makeCurrent: true });
    await current.confirm('cy', 'g1');
    await store.indexUserGroup('cy', 'g2', { makeCurrent: true });
    assert.deepEqual(await current.get('cy'), { groupId: 'g2', confirmedGroupId: 'g1' });
    await current.clear('cy');
    assert.equal(await current.get('cy'), undefined);
    assert.deepEqual((await store.listUserGroupIds('cy', { pageSize: 10 })).items, ['g1', 'g2']);
    assert.ok(toKey('cy'));
  });
});
