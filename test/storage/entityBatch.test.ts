import assert from 'node:assert/strict';
import { submitEntityBatch, type BatchRow } from '../../src/storage/entityBatch';
import { failedActionOf, isAlreadyExists, type TableClients } from '../../src/storage/tables';
import { freshTables } from '../helpers/azurite';

/** The import's entity-group transactions, written without the SDK's per-row pipeline, against Azurite. */
describe('storage: entity batches written by hand (Azurite)', () => {
  let tables: TableClients;

  before(async () => {
    ({ clients: tables } = await freshTables());
  });

  const rowsOf = (pk: string, texts: string[]): BatchRow[] =>
    texts.map((text, i) => ({ partitionKey: pk, rowKey: `imp|${i}|it's ä b+c`, text, index: i, kind: 'text' }));

  it('inserts a batch; the same rows again fail as the SDK fails them (409, the action); replace rewrites them', async () => {
    const rows = rowsOf('g1|imp|00001', ['hi "all" \\ ok', 'Grüße 😀\r\nline two', '*not bold* <b>x</b>']);
    await submitEntityBatch(tables.groups, rows, 'create');
    const read = async () => {
      const out: Array<Record<string, unknown>> = [];
      for await (const e of tables.groups.listEntities({ queryOptions: { filter: "PartitionKey eq 'g1|imp|00001'" } })) out.push(e);
      return out.map((e) => [e.rowKey, e.text, e.index, e.kind]);
    };
    assert.deepEqual(
      await read(),
      rows.map((r) => [r.rowKey, r.text, r.index, r.kind]),
    );
    const again = await submitEntityBatch(tables.groups, rows, 'create').then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(isAlreadyExists(again), String(again));
    assert.equal(failedActionOf(again), 0);
    await submitEntityBatch(
      tables.groups,
      rows.map((r) => ({ ...r, text: `${r.text}!` })),
      'replace',
    );
    assert.deepEqual(
      (await read()).map((r) => r[1]),
      rows.map((r) => `${r.text}!`),
    );
  });

  it('refuses more than 100 rows or rows of two partitions, before sending anything', async () => {
    const many = Array.from({ length: 101 }, (_, i): BatchRow => ({ partitionKey: 'g2', rowKey: String(i) }));
    await assert.rejects(submitEntityBatch(tables.groups, many, 'create'), /at most 100/);
    await assert.rejects(
      submitEntityBatch(
        tables.groups,
        [
          { partitionKey: 'g2', rowKey: 'a' },
          { partitionKey: 'g3', rowKey: 'b' },
        ],
        'create',
      ),
      /one partition/,
    );
    assert.equal((await tables.groups.listEntities({ queryOptions: { filter: "PartitionKey eq 'g2'" } }).next()).done, true);
  });
});
