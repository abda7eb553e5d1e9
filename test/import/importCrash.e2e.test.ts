import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ConversationService } from '../../src/groups/conversationService';
import type { Group, UserRef } from '../../src/groups/model';
import { ImportJobs } from '../../src/import/importJobs';
import { ImportService } from '../../src/import/importService';
import { memberNamesFrom } from '../../src/import/senderMatch';
import { TableGroupStore } from '../../src/storage/tableGroupStore';
import { TableImportStore } from '../../src/storage/tableImportStore';
import { TablePendingUploads } from '../../src/storage/tablePendingUploads';
import { TablePostStore } from '../../src/storage/tablePostStore';
import { syntheticExport } from '../../bench/importBench';
import { freshTables } from '../helpers/azurite';
import { waitFor } from '../helpers/botProcess';
import { RecordingDeliveryEngine } from '../helpers/recordingEngine';

const ann: UserRef = { id: 'aad-ann', name: 'Ann Lee' };
const AT = '2025-01-02T03:04:05.000Z';

/**
 * An instance SIGKILLed in the middle of an import (two batches of rows written, its lease held), then another
 * instance's sweep: it waits out the lease, resumes the job, and every message is stored once, one
 * announcement, the upload gone.
 */
describe('import: a crash mid-import, resumed by another instance (SIGKILL)', function () {
  this.timeout(60_000);

  it('each message once, one announcement post, the job closed', async () => {
    const { clients: tables, connectionString, prefix } = await freshTables();
    const groups = new TableGroupStore(tables);
    const posts = new TablePostStore(tables);
    const store = new TableImportStore(tables);
    const groupId = 'gcrashimport0000000001';
    const group: Group = { id: groupId, name: 'Depot Crash', createdBy: ann, createdAt: AT, status: 'private', memberCount: 1 };
    await groups.insertGroup({
      group,
      linkNonce: 'n',
      creator: { groupId, user: ann, role: 'admin', joinedAt: AT },
      audit: { groupId, at: AT, action: 'created', actor: ann },
    });
    const pending = new TablePendingUploads(tables.importuploads);
    const file = { name: 'WhatsApp Chat with Depot Crash.txt', bytes: Buffer.from(syntheticExport(1000)) };
    const token = await pending.put({ groupId, userId: ann.id, file, timeZone: 'Europe/Berlin' });
    const actor = { userId: ann.id, name: ann.name, tenantId: 't1' };
    await pending.order(token, { actor, timeZone: 'Europe/Berlin', senders: { 'Ann Lee': ann.id } });

    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/importCrashChild.ts'], {
      cwd: path.resolve(__dirname, '../..'),
      env: { PATH: process.env.PATH, CONNECTION: connectionString, PREFIX: prefix, TOKEN: token, LEASE_MS: '1500' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<string | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
    await waitFor(() => /stopped after 200 of \d+/.test(output) || child.exitCode !== null, 'the crash point');
    assert.match(output, /stopped after 200 of \d+/);
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const [record] = await store.list(groupId);
    assert.equal(record?.state, 'running', 'left running by the crash');
    assert.equal((await pending.status(token))?.written, 200);

    const engine = new RecordingDeliveryEngine();
    const conversation = new ConversationService({ posts, current: {} as never, engine, limiter: { take: async () => undefined } });
    const imports = new ImportService({
      store,
      posts,
      members: memberNamesFrom(groups),
      announce: async (post) => void (await conversation.post(post)),
    });
    const survivor = new ImportJobs({ pending, imports, holder: 'survivor' });
    // The crashed instance's lease holds until it runs out; then the sweep takes the job over.
    await waitFor(
      async () => (await survivor.resumeOpen(), (await store.list(groupId))[0]?.state === 'done'),
      'the resumed import',
      30_000,
      200,
    );

    const done = (await store.list(groupId))[0]!;
    const rows = [];
    for await (const m of store.all(groupId)) rows.push(m);
    assert.equal(rows.length, done.count);
    assert.deepEqual(
      rows.map((m) => m.index),
      Array.from({ length: done.count }, (_, i) => i),
      'each message once, in order',
    );
    assert.ok(
      rows.filter((m) => m.sender === 'Ann Lee').every((m) => m.member?.userId === ann.id),
      'the confirmed match survived',
    );
    assert.deepEqual(
      engine.calls.map((c) => c.call),
      ['postAccepted'],
      'one announcement',
    );
    assert.equal(await pending.status(token), undefined, 'the job is closed');
    assert.deepEqual(await pending.openJobs(), []);
  });
});
