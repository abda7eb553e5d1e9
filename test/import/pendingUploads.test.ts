import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PENDING_TTL_MS } from '../../src/import/pendingUploads';
import { TablePendingUploads } from '../../src/storage/tablePendingUploads';
import type { TableClients } from '../../src/storage/tables';
import { freshTables } from '../helpers/azurite';

const actor = { userId: 'aad-ann', name: 'Ann Lee', tenantId: 't1' };

describe('import: uploads waiting for Import, in Table Storage (Azurite)', () => {
  let tables: TableClients;
  let clock: number;
  // Two instances sharing the storage account, as two bot processes do.
  let a: TablePendingUploads;
  let b: TablePendingUploads;

  before(async () => {
    ({ clients: tables } = await freshTables());
  });
  beforeEach(() => {
    clock = Date.parse('2025-06-01T12:00:00Z');
    a = new TablePendingUploads(tables.importuploads, () => clock);
    b = new TablePendingUploads(tables.importuploads, () => clock);
  });

  it('an upload put on one instance is read whole on another, in several chunks, only by its uploader', async () => {
    // Random bytes do not compress: 1.5 MB is three chunks.
    const bytes = randomBytes(1_500_000);
    const token = await a.put({ groupId: 'g1', userId: 'aad-ann', file: { name: '_chat.txt', bytes }, timeZone: 'Europe/Berlin' });
    const chunks = [];
    for await (const row of tables.importuploads.listEntities({ queryOptions: { filter: `PartitionKey eq '${token}'` } }))
      chunks.push(row.rowKey);
    assert.deepEqual(chunks, ['chunk|0000', 'chunk|0001', 'chunk|0002', 'head']);
    const read = await b.get(token, 'aad-ann');
    assert.ok(read);
    assert.deepEqual([read.groupId, read.file.name, read.timeZone, read.dateOrder], ['g1', '_chat.txt', 'Europe/Berlin', undefined]);
    assert.ok(Buffer.from(read.file.bytes).equals(bytes));
    assert.equal(await b.get(token, 'aad-bob'), undefined, "someone else's upload");
    assert.equal(await b.get('not-a-token', 'aad-ann'), undefined);
    await b.update(token, { timeZone: 'Asia/Tokyo', dateOrder: 'day-first' });
    assert.deepEqual([(await a.get(token, 'aad-ann'))?.timeZone, (await a.get(token, 'aad-ann'))?.dateOrder], ['Asia/Tokyo', 'day-first']);
    await a.delete(token);
    assert.equal(await b.get(token, 'aad-ann'), undefined);
    assert.equal(await b.status(token), undefined);
  });

  it('expires after its time; the sweep deletes expired uploads, chunks and all, but never a confirmed job', async () => {
    const file = { name: 'chat.txt', bytes: Buffer.from('12/20/23, 5:46 PM - Ann: hi') };
    const idle = await a.put({ groupId: 'g2', userId: 'aad-ann', file, timeZone: 'UTC' });
    const confirmed = await a.put({ groupId: 'g2', userId: 'aad-ann', file, timeZone: 'UTC' });
    await a.order(confirmed, { actor, timeZone: 'UTC', senders: {} });
    clock += PENDING_TTL_MS + 1;
    assert.equal(await b.get(idle, 'aad-ann'), undefined, 'expired');
    assert.equal(await b.sweep(), 1);
    let left = 0;
    for await (const row of tables.importuploads.listEntities({ queryOptions: { filter: `PartitionKey eq '${idle}'` } }))
      left += row ? 1 : 0;
    assert.equal(left, 0);
    assert.ok(await b.job(confirmed), 'a job outlives the expiry of its upload');
    assert.ok((await b.openJobs()).includes(confirmed));
  });

  it('a job: confirmed once, leased by one instance at a time, taken over when the lease ran out, reopened when refused', async () => {
    const token = await a.put({ groupId: 'g3', userId: 'aad-ann', file: { name: 'x.txt', bytes: Buffer.from('x') }, timeZone: 'UTC' });
    assert.equal(await a.lease(token, 'A', 1000), false, 'not a job before it is confirmed');
    await a.order(token, { actor, timeZone: 'UTC', senders: { 'Ann Lee': 'aad-ann' } });
    assert.equal(await a.get(token, 'aad-ann'), undefined, 'a job is not previewed or confirmed again');
    assert.deepEqual((await b.job(token))?.order.senders, { 'Ann Lee': 'aad-ann' });
    assert.equal(await a.lease(token, 'A', 1000), true);
    assert.equal(await b.lease(token, 'B', 1000), false, 'held by A');
    assert.equal(await a.lease(token, 'A', 1000), true, 'renewed by its holder');
    assert.equal(await a.renew(token, 'A', 1000, { written: 100, total: 600 }), true, 'renewed with progress, in one write');
    assert.deepEqual(await b.status(token), { groupId: 'g3', state: 'importing', written: 100, total: 600 });
    assert.equal(await a.renew(token, 'A', 1000, { written: 200, total: 600 }), true);
    assert.deepEqual(await b.status(token), { groupId: 'g3', state: 'importing', written: 200, total: 600 });
    clock += 1001;
    assert.equal(await b.lease(token, 'B', 1000), true, "A's lease ran out");
    assert.equal(await a.renew(token, 'A', 1000, { written: 300, total: 600 }), false, 'taken over: A stops');
    assert.equal((await b.status(token))?.written, 200, "A's late progress is not recorded");
    await b.reopen(token);
    assert.equal((await a.status(token))?.state, 'pending');
    assert.ok(await a.get(token, 'aad-ann'), 'back to an upload waiting for Import');
    assert.ok(!(await a.openJobs()).includes(token));
  });
});
