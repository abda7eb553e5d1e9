import assert from 'node:assert/strict';
import { ConcurrentWriteError, ConflictError } from '../../src/errors';
import { TableRepository } from '../../src/storage/tables';
import { freshTables } from '../helpers/azurite';

describe('TableRepository on Azurite: a write that lost to someone else is a typed error', () => {
  let rows: TableRepository<{ value: string }>;

  beforeEach(async () => {
    const { clients } = await freshTables();
    rows = new TableRepository(clients.settings);
  });

  async function storedRow(rowKey: string): Promise<string> {
    assert.equal(await rows.insert({ partitionKey: 'p', rowKey, value: 'new' }), true);
    const row = await rows.find('p', rowKey);
    assert.ok(row);
    return row.etag;
  }

  it('throws ConcurrentWriteError (a ConflictError, 409) for an update at an eTag someone else replaced', async () => {
    const etag = await storedRow('a');
    await rows.update({ partitionKey: 'p', rowKey: 'a', value: 'first', etag });
    const lost = await rows.update({ partitionKey: 'p', rowKey: 'a', value: 'second', etag }).catch((err: unknown) => err);
    assert.ok(lost instanceof ConcurrentWriteError);
    assert.ok(lost instanceof ConflictError);
    assert.equal(lost.httpStatus, 409);
    assert.equal((await rows.find('p', 'a'))?.value, 'first', 'the losing write changed nothing');
  });

  it('throws ConcurrentWriteError for a delete at a stale eTag, and takes a missing row as deleted', async () => {
    const etag = await storedRow('b');
    await rows.update({ partitionKey: 'p', rowKey: 'b', value: 'changed', etag });
    await assert.rejects(rows.delete('p', 'b', etag), ConcurrentWriteError);
    await rows.delete('p', 'never-there', '*');
  });
});
