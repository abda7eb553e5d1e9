import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
import { TableClient } from '@azure/data-tables';
import { azuriteConnectionString, freeLoopbackPort, startEmbeddedAzurite } from '../../src/storage/embeddedAzurite';
import { spawnAzuriteChild } from '../../src/storage/azuriteChild';
import { isProcessAlive } from '../../src/storage/dataFolderLock';
import { testUser } from '../helpers/activities';
import { azuriteProcessesOn, createGroupWithLink, joinStorm, pidFileOf, storedMembership, waitFor } from '../helpers/botProcess';
import { embeddedStoreFixture, SAVED_AFTER_MS, STORM, figure } from './embeddedStoreFixture';

describe('The embedded store (process level: the bot as npm start runs it)', function () {
  this.timeout(60_000);
  const store = embeddedStoreFixture();
  const start = (options?: { detached?: boolean }) => store.start(options);

  it('keeps every acknowledged join and the group when the bot alone is killed during a join storm, and one Azurite holds the folder after the restart', async () => {
    const { dataDir, channel } = store;
    const first = await start();
    const oldTable = pidFileOf(dataDir, 'table')!;
    const oldQueue = pidFileOf(dataDir, 'queue')!;
    const { groupId, link } = await createGroupWithLink(first.url, channel, testUser('Storm Owner'), 'Storm One');
    const storm = joinStorm({ url: first.url, channel, link, groupName: 'Storm One', ...STORM });
    await waitFor(() => storm.acknowledged.length >= 100, '100 acknowledged joins');
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    await storm.stop();
    // The storage children notice that their bot is gone, save and exit by themselves.
    await waitFor(() => !isProcessAlive(oldTable) && !isProcessAlive(oldQueue), 'the old storage children to exit', 5_000, 20);
    figure(`children gone ${Date.now() - killedAt} ms after the bot's SIGKILL`);

    const restartedAt = Date.now();
    const second = await start();
    figure(`restart on the same folder took ${Date.now() - restartedAt} ms`);
    const stored = await storedMembership(second.storagePort, groupId);
    assert.ok(stored.exists, 'the group is there');
    const lost = storm.acknowledged.filter((a) => !stored.memberIds.has(a.userId));
    figure(`bot alone killed: ${storm.acknowledged.length} joins acknowledged, ${lost.length} lost`);
    // Should this fail, say whether the first bot saw its storage stop answering (and replaced it) meanwhile.
    const storageTrouble = first
      .output()
      .split('\n')
      .filter((line) => /health probe|Azurite replaced/.test(line));
    assert.deepEqual(
      lost,
      [],
      `every acknowledged join is kept (storage trouble logged: ${storageTrouble.length ? storageTrouble.join(' | ') : 'none'})`,
    );
    assert.equal(stored.memberCount, stored.memberIds.size, 'the member count matches the member rows');

    const table = pidFileOf(dataDir, 'table')!;
    assert.notEqual(table, oldTable);
    assert.deepEqual(azuriteProcessesOn(dataDir, 'table'), [table], 'exactly one table service holds the folder');
    assert.deepEqual(azuriteProcessesOn(dataDir, 'queue'), [pidFileOf(dataDir, 'queue')], 'exactly one queue service holds the folder');
  });

  it('loses at most the last save interval when the bot and its storage are killed together', async () => {
    const { dataDir, channel } = store;
    const first = await start({ detached: true });
    const { groupId, link } = await createGroupWithLink(first.url, channel, testUser('Storm Owner'), 'Storm Two');
    const groupCreatedAt = Date.now();
    const storm = joinStorm({ url: first.url, channel, link, groupName: 'Storm Two', ...STORM });
    await waitFor(() => storm.acknowledged.length >= 100 && Date.now() - groupCreatedAt > SAVED_AFTER_MS, '100 acknowledged joins');
    const pids = [pidFileOf(dataDir, 'table')!, pidFileOf(dataDir, 'queue')!];
    // A container or out-of-memory kill: the whole process group at once.
    process.kill(-first.child.pid!, 'SIGKILL');
    const killedAt = Date.now();
    await storm.stop();
    await waitFor(() => pids.every((pid) => !isProcessAlive(pid)), 'the killed storage children to be gone', 5_000);

    const second = await start();
    const stored = await storedMembership(second.storagePort, groupId);
    assert.ok(stored.exists, 'the group, created more than a save interval before the kill, is there');
    const lost = storm.acknowledged.filter((a) => !stored.memberIds.has(a.userId));
    const lostOlder = lost.filter((a) => killedAt - a.at > SAVED_AFTER_MS);
    const window = storm.acknowledged.filter((a) => killedAt - a.at <= SAVED_AFTER_MS);
    figure(
      `bot and storage killed together: ${storm.acknowledged.length} acknowledged, ${lost.length} lost ` +
        `(all within the last ${Math.max(0, ...lost.map((a) => killedAt - a.at))} ms; ${window.length} were acknowledged in the last ${SAVED_AFTER_MS} ms, ` +
        `the last ${killedAt - Math.max(...storm.acknowledged.map((a) => a.at))} ms before the kill)`,
    );
    assert.deepEqual(lostOlder, [], `no join acknowledged more than ${SAVED_AFTER_MS} ms before the kill is lost`);
    assert.equal(stored.memberCount, stored.memberIds.size, 'the member count matches the member rows');
  });

  it('loses nothing when Ctrl+C stops the bot and its storage together (SIGINT to the process group), even writes made just before', async () => {
    const { channel } = store;
    const first = await start({ detached: true });
    const { groupId, link } = await createGroupWithLink(first.url, channel, testUser('Owner'), 'Interrupted');
    const storm = joinStorm({ url: first.url, channel, link, groupName: 'Interrupted', joiners: 30, inFlight: 10 });
    await storm.done;
    // A terminal's Ctrl+C: every process of the foreground group gets SIGINT; the bot then asks its storage to
    // close as well. Both requests arrive, and the storage must close (and save) once.
    process.kill(-first.child.pid!, 'SIGINT');
    assert.equal(await first.exited, 0);

    const second = await start();
    const stored = await storedMembership(second.storagePort, groupId);
    assert.equal(stored.memberIds.size, 31);
    assert.ok(storm.acknowledged.every((a) => stored.memberIds.has(a.userId)));
  });
});

describe('An Azurite child', () => {
  it('closes once, and saves, when asked to close twice at once (SIGINT and an IPC shutdown, as with Ctrl+C)', async function () {
    this.timeout(30_000);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kaizala-close-'));
    const port = await freeLoopbackPort();
    try {
      // Azurite's own save interval, so that only the close can have saved these rows.
      let child = await spawnAzuriteChild('table', { port, location: dir, autosaveMs: 5_000 });
      const table = TableClient.fromConnectionString(azuriteConnectionString(port), 'rows', { allowInsecureConnection: true });
      await table.createTable();
      for (let i = 0; i < 50; i++) await table.createEntity({ partitionKey: 'p', rowKey: String(i) });
      process.kill(child.pid, 'SIGINT');
      await child.stop();

      child = await spawnAzuriteChild('table', { port, location: dir });
      let kept = 0;
      for await (const _ of table.listEntities()) kept++;
      await child.stop();
      assert.equal(kept, 50);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('startEmbeddedAzurite with the queue service', () => {
  it('gives one connection string that both the table and the queue clients use', async function () {
    this.timeout(30_000);
    const azurite = await startEmbeddedAzurite({ queue: true });
    try {
      assert.match(
        azurite.connectionString,
        /TableEndpoint=http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1;QueueEndpoint=http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1;/,
      );
      const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient('work');
      await queue.create();
      await queue.sendMessage('hello');
      const received = await queue.receiveMessages({ numberOfMessages: 1 });
      assert.deepEqual(
        received.receivedMessageItems.map((m) => m.messageText),
        ['hello'],
      );

      const table = TableClient.fromConnectionString(azurite.connectionString, 'things', { allowInsecureConnection: true });
      await table.createTable();
      await table.upsertEntity({ partitionKey: 'p', rowKey: 'r', v: 1 });
      assert.equal((await table.getEntity<{ v: number }>('p', 'r')).v, 1);
      assert.equal(azurite.healthy(), true);
    } finally {
      await azurite.stop();
    }
  });
});
