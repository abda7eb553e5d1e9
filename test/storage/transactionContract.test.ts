import assert from 'node:assert/strict';
import type { TransactionAction } from '@azure/data-tables';
import { MemoryTable } from '../../src/storage/memoryTable';
import { failedActionOf, statusOf, storageFailureOf } from '../../src/storage/tables';
import { freshTables } from '../helpers/azurite';

/** The subset of TableClient both implementations share. */
interface TransactionalTable {
  createEntity(entity: { partitionKey: string; rowKey: string }): Promise<unknown>;
  updateEntity(entity: { partitionKey: string; rowKey: string }, mode: 'Merge', options: { etag: string }): Promise<unknown>;
  submitTransaction(actions: TransactionAction[]): Promise<unknown>;
}

const STALE_ETAG = `W/"datetime'2020-01-01T00%3A00%3A00.000Z'"`;

/**
 * What Table Storage does to writes and transactions, and how its errors read (status, and the failed action of
 * a transaction, read only by storageFailureOf): the real service (Azurite) and MemoryTable must agree.
 */
const implementations: Array<[string, () => Promise<{ table: TransactionalTable; rowKeys: (pk: string) => Promise<string[]> }>]> = [
  [
    'MemoryTable',
    async () => {
      const table = new MemoryTable();
      return { table, rowKeys: async (pk) => table.rowKeys(pk) };
    },
  ],
  [
    'Table Storage (Azurite)',
    async () => {
      const table = (await freshTables()).clients.groups;
      return {
        table,
        rowKeys: async (pk) => {
          const keys: string[] = [];
          for await (const row of table.listEntities({ queryOptions: { filter: `PartitionKey eq '${pk}'` } })) keys.push(row.rowKey!);
          return keys;
        },
      };
    },
  ],
];

for (const [name, create] of implementations) {
  describe(`Table transactions: ${name}`, () => {
    let table: TransactionalTable;
    let rowKeys: (pk: string) => Promise<string[]>;
    before(async () => {
      ({ table, rowKeys } = await create());
    });

    it('commits up to 100 actions of one partition', async () => {
      await table.submitTransaction(
        Array.from({ length: 100 }, (_, i): TransactionAction => [
          'create',
          { partitionKey: 'p100', rowKey: `r${String(i).padStart(3, '0')}` },
        ]),
      );
      assert.equal((await rowKeys('p100')).length, 100);
    });

    it('refuses 101 actions (400) and writes none of them', async () => {
      const err = await table
        .submitTransaction(Array.from({ length: 101 }, (_, i): TransactionAction => ['create', { partitionKey: 'p101', rowKey: `r${i}` }]))
        .catch((e: unknown) => e);
      assert.equal(statusOf(err), 400);
      assert.deepEqual(await rowKeys('p101'), []);
    });

    it('refuses actions of two partitions in one transaction, before writing anything', async () => {
      await assert.rejects(
        table.submitTransaction([
          ['create', { partitionKey: 'two-a', rowKey: 'x' }],
          ['create', { partitionKey: 'two-b', rowKey: 'x' }],
        ]),
      );
      assert.deepEqual([...(await rowKeys('two-a')), ...(await rowKeys('two-b'))], []);
    });

    it('refuses a second insert of a row (409), names the failed action, and rolls back the others', async () => {
      await table.createEntity({ partitionKey: 'dup', rowKey: 'taken' });
      const err = await table
        .submitTransaction([
          ['create', { partitionKey: 'dup', rowKey: 'fresh' }],
          ['create', { partitionKey: 'dup', rowKey: 'taken' }],
        ])
        .catch((e: unknown) => e);
      assert.deepEqual(storageFailureOf(err), { status: 409, failedAction: 1 });
      assert.deepEqual(await rowKeys('dup'), ['taken']);
    });

    it('refuses a write at a stale eTag (412) and names the failed action', async () => {
      await table.createEntity({ partitionKey: 'stale', rowKey: 'row' });
      const err = await table
        .submitTransaction([
          ['create', { partitionKey: 'stale', rowKey: 'a-new' }],
          ['update', { partitionKey: 'stale', rowKey: 'row' }, 'Merge', { etag: STALE_ETAG }],
        ])
        .catch((e: unknown) => e);
      assert.deepEqual(storageFailureOf(err), { status: 412, failedAction: 1 });
      assert.deepEqual(await rowKeys('stale'), ['row']);
    });

    it('refuses a delete of a missing row (404) at its index', async () => {
      const err = await table
        .submitTransaction([
          ['create', { partitionKey: 'missing', rowKey: 'a' }],
          ['delete', { partitionKey: 'missing', rowKey: 'b' }],
        ])
        .catch((e: unknown) => e);
      assert.deepEqual(storageFailureOf(err), { status: 404, failedAction: 1 });
    });

    it('refuses the same row twice in one transaction (400)', async () => {
      const err = await table
        .submitTransaction([
          ['create', { partitionKey: 'twice', rowKey: 'same' }],
          ['upsert', { partitionKey: 'twice', rowKey: 'same' }],
        ])
        .catch((e: unknown) => e);
      assert.equal(statusOf(err), 400);
      assert.deepEqual(await rowKeys('twice'), []);
    });

    it('names no action for single-entity writes (409 and 412)', async () => {
      await table.createEntity({ partitionKey: 'single', rowKey: 'row' });
      const conflict = await table.createEntity({ partitionKey: 'single', rowKey: 'row' }).catch((e: unknown) => e);
      assert.deepEqual(storageFailureOf(conflict), { status: 409, failedAction: undefined });
      const stale = await table
        .updateEntity({ partitionKey: 'single', rowKey: 'row' }, 'Merge', { etag: STALE_ETAG })
        .catch((e: unknown) => e);
      assert.equal(statusOf(stale), 412);
      assert.equal(failedActionOf(stale), undefined);
    });
  });
}

describe('storageFailureOf, the one reader of storage errors', () => {
  it("takes the status from the service's error code when the SDK set none", () => {
    assert.equal(statusOf(Object.assign(new Error('x'), { code: 'EntityAlreadyExists' })), 409);
    assert.equal(statusOf(Object.assign(new Error('x'), { code: 'UpdateConditionNotSatisfied' })), 412);
    assert.equal(statusOf(Object.assign(new Error('x'), { code: 'ResourceNotFound' })), 404);
  });

  it('knows nothing of errors that are not storage errors', () => {
    assert.deepEqual(storageFailureOf(new Error('boom')), { status: undefined, failedAction: undefined });
    assert.deepEqual(storageFailureOf(undefined), { status: undefined, failedAction: undefined });
  });
});
