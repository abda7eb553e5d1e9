import assert from 'node:assert/strict';
import type { TableClient } from '@azure/data-tables';
import { deleteRows, forEachLimited } from '../../src/storage/partitionSweep';
import { freshTables } from '../helpers/azurite';

async function rowKeysOf(table: TableClient, partitionKey: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const row of table.listEntities({ queryOptions: { filter: `PartitionKey eq '${partitionKey}'` } })) keys.push(row.rowKey!);
  return keys;
}

async function insertRows(table: TableClient, partitionKey: string, count: number): Promise<string[]> {
  const keys = Array.from({ length: count }, (_, i) => `row|${String(i).padStart(4, '0')}`);
  for (let i = 0; i < keys.length; i += 100) {
    await table.submitTransaction(keys.slice(i, i + 100).map((rowKey) => ['create', { partitionKey, rowKey }]));
  }
  return keys;
}

describe('The partition sweep (deleteRows on Azurite, forEachLimited)', () => {
  let table: TableClient;
  before(async () => {
    table = (await freshTables()).clients.groups;
  });

  it('deletes more rows than one transaction holds, and leaves other partitions alone', async () => {
    const keys = await insertRows(table, 'sweep-a', 230);
    await insertRows(table, 'sweep-b', 3);
    await deleteRows(table, 'sweep-a', keys);
    assert.deepEqual(await rowKeysOf(table, 'sweep-a'), []);
    assert.equal((await rowKeysOf(table, 'sweep-b')).length, 3);
  });

  it('finishes when someone else deleted some of the rows meanwhile (a second clean-up at once)', async () => {
    const keys = await insertRows(table, 'sweep-c', 120);
    await table.deleteEntity('sweep-c', keys[5]!);
    await table.deleteEntity('sweep-c', keys[110]!);
    await deleteRows(table, 'sweep-c', keys);
    assert.deepEqual(await rowKeysOf(table, 'sweep-c'), []);
  });

  it('runs every item with at most the limit in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    await forEachLimited([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 3, async (item) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      done.push(item);
      inFlight--;
    });
    assert.deepEqual(
      done.sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    assert.equal(most, 3);
  });

  it('does nothing for no items', async () => {
    await forEachLimited([], 8, () => assert.fail('no work expected'));
  });
});
