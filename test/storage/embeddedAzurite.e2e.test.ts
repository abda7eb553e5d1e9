import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
import { TableClient } from '@azure/data-tables';
import { azuriteConnectionString, EMBEDDED_AUTOSAVE_MS, freeLoopbackPort, startEmbeddedAzurite } from '../../src/storage/embeddedAzurite';
import { spawnAzuriteChild } from '../../src/storage/azuriteChild';
import { isProcessAlive } from '../../src/storage/dataFolderLock';
import { FakeChannel } from '../helpers/fakeChannel';
import { testUser } from '../helpers/activities';
import { textOf } from '../helpers/chat';
import {
  azuriteProcessesOn,
  createGroupWithLink,
  healthStatus,
  joinStorm,
  logLines,
  pidFileOf,
  say,
  spawnBot,
  startBot,
  stopBot,
  storedMembership,
  waitFor,
  type BotProcess,
} from '../helpers/botProcess';

/**
 * A write is on disk at most one save interval after it was acknowledged, plus the time a save takes (a few ms
 * for a store this small) and the lateness of a timer on a busy machine.
 */
const SAVED_AFTER_MS = EMBEDDED_AUTOSAVE_MS + 1_000;
const STORM = { joiners: 300, inFlight: 20 };

/** Set SHOW_FIGURES=1 to print what the crash tests measured (losses, restart times). */
function figure(text: string): void {
  if (process.env.SHOW_FIGURES) console.log(`      ${text}`);
}

describe('The embedded store (process level: the bot as npm start runs it)', function () {
  this.timeout(60_000);
  let dataDir: string;
  let channel: FakeChannel;
  let port: number;
  const bots: BotProcess[] = [];
  /** Processes a test stopped or must see gone: continued and killed afterwards, whatever happened. */
  const leftovers: number[] = [];

  beforeEach(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'kaizala-store-'));
    channel = await new FakeChannel().start();
    port = await freeLoopbackPort();
  });

  afterEach(async () => {
    for (const pid of leftovers.splice(0)) {
      for (const signal of ['SIGCONT', 'SIGKILL'] as const) {
        try {
          process.kill(pid, signal);
        } catch {
          // already gone
        }
      }
    }
    for (const bot of bots.splice(0)) await stopBot(bot);
    await channel.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(options: { detached?: boolean } = {}): Promise<BotProcess> {
    const bot = await startBot(dataDir, port, options);
    bots.push(bot);
    return bot;
  }

  it('keeps every acknowledged join and the group when the bot alone is killed during a join storm, and one Azurite holds the folder after the restart', async () => {
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
    assert.deepEqual(lost, [], 'every acknowledged join is kept');
    assert.equal(stored.memberCount, stored.memberIds.size, 'the member count matches the member rows');

    const table = pidFileOf(dataDir, 'table')!;
    assert.notEqual(table, oldTable);
    assert.deepEqual(azuriteProcessesOn(dataDir, 'table'), [table], 'exactly one table service holds the folder');
    assert.deepEqual(azuriteProcessesOn(dataDir, 'queue'), [pidFileOf(dataDir, 'queue')], 'exactly one queue service holds the folder');
  });

  it('loses at most the last save interval when the bot and its storage are killed together', async () => {
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

  it('starts a new storage child on the same port when the child alone is killed, answering 503 meanwhile, and later joins keep an exact count', async () => {
    const bot = await start();
    const owner = testUser('Owner');
    const { groupId, link } = await createGroupWithLink(bot.url, channel, owner, 'Survivors');
    const early = joinStorm({ url: bot.url, channel, link, groupName: 'Survivors', joiners: 20, inFlight: 5 });
    await early.done;
    // Give the store one save, so that the kill below loses nothing this test counts on.
    await new Promise((resolve) => setTimeout(resolve, SAVED_AFTER_MS));

    const oldTable = pidFileOf(dataDir, 'table')!;
    const statuses: number[] = [];
    process.kill(oldTable, 'SIGKILL');
    const killedAt = Date.now();
    await waitFor(async () => {
      statuses.push(await healthStatus(bot.url));
      return statuses.at(-1) === 200 && pidFileOf(dataDir, 'table') !== oldTable;
    }, 'the bot to answer healthy with a new storage child');
    figure(`child killed alone: healthy again after ${Date.now() - killedAt} ms`);
    assert.ok(statuses.includes(503), `/healthz said 503 while storage was down (saw ${statuses.join(',')})`);
    assert.ok(logLines(bot.output()).some((l) => l.msg === 'embedded Azurite replaced' && l.port === bot.storagePort), 'the new child listens on the same port');

    const later = joinStorm({ url: bot.url, channel, link, groupName: 'Survivors', joiners: 30, inFlight: 5 });
    await later.done;
    assert.equal(later.acknowledged.length, 30);
    const stored = await storedMembership(bot.storagePort, groupId);
    assert.equal(stored.memberIds.size, 1 + 20 + 30);
    assert.equal(stored.memberCount, stored.memberIds.size, 'the member count matches the member rows');
    const info = await say(bot.url, channel, owner, { text: 'my groups' });
    assert.match(textOf(info.sent), /Survivors/);
  });

  it('replaces a storage child that stops answering (SIGSTOP), answering 503 until the new one is up', async () => {
    const bot = await start();
    const oldTable = pidFileOf(dataDir, 'table')!;
    leftovers.push(oldTable);
    process.kill(oldTable, 'SIGSTOP');
    const stoppedAt = Date.now();
    const statuses: number[] = [];
    await waitFor(async () => {
      statuses.push(await healthStatus(bot.url));
      return statuses.at(-1) === 200 && pidFileOf(dataDir, 'table') !== oldTable;
    }, 'the bot to answer healthy with a new storage child');
    figure(`stopped child replaced, healthy again after ${Date.now() - stoppedAt} ms`);
    assert.ok(statuses.includes(503), `/healthz said 503 while storage did not answer (saw ${statuses.join(',')})`);
    await waitFor(() => !isProcessAlive(oldTable), 'the stopped child to be killed', 5_000);
    const owner = testUser('After Stop');
    const reply = await say(bot.url, channel, owner, { text: 'new group After Stop' });
    assert.equal(reply.status, 200);
    assert.deepEqual(azuriteProcessesOn(dataDir, 'table'), [pidFileOf(dataDir, 'table')]);
  });

  it('refuses a second bot on a data folder in use, naming the folder and the holder in one line; a killed holder does not block the next start', async () => {
    const first = await start();
    const owner = testUser('First Owner');
    await createGroupWithLink(first.url, channel, owner, 'Kept Apart');

    const second = spawnBot(dataDir, await freeLoopbackPort());
    let stderr = '';
    second.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    second.stdout!.resume();
    const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
    assert.equal(code, 2);
    // Node's own deprecation warnings (from a dependency, at every start) aside, the refusal is one line.
    const lines = stderr.trim().split('\n').filter((line) => !/^\(node:\d+\)|^\(Use `node --trace/.test(line));
    assert.deepEqual(lines, [
      `Data folder ${dataDir} is in use by another bot (pid ${first.child.pid}). Stop it or set DATA_DIR to another folder.`,
    ]);
    assert.deepEqual(azuriteProcessesOn(dataDir, 'table'), [pidFileOf(dataDir, 'table')], 'no second Azurite was started');
    assert.match(textOf((await say(first.url, channel, owner, { text: 'my groups' })).sent), /Kept Apart/, 'the first bot keeps its data');

    first.child.kill('SIGKILL');
    await first.exited;
    const third = await start();
    assert.match(textOf((await say(third.url, channel, owner, { text: 'my groups' })).sent), /Kept Apart/);
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
      assert.match(azurite.connectionString, /TableEndpoint=http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1;QueueEndpoint=http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1;/);
      const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient('work');
      await queue.create();
      await queue.sendMessage('hello');
      const received = await queue.receiveMessages({ numberOfMessages: 1 });
      assert.deepEqual(received.receivedMessageItems.map((m) => m.messageText), ['hello']);

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
