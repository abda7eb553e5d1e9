import assert from 'node:assert/strict';
import { isProcessAlive } from '../../src/storage/dataFolderLock';
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
  storedMembership,
  waitFor,
} from '../helpers/botProcess';
import { embeddedStoreFixture, SAVED_AFTER_MS, figure } from './embeddedStoreFixture';

/**
 * The embedded store at process level, continued (see embeddedAzurite.e2e.test.ts): a storage child killed or
 * stopped alone is replaced on the same port while the bot answers 503. In its own file so that mocha's
 * parallel workers run it beside the other embedded store tests.
 */
describe('The embedded store (process level: the bot as npm start runs it)', function () {
  this.timeout(60_000);
  const store = embeddedStoreFixture();
  const start = (options?: { detached?: boolean }) => store.start(options);

  it('starts a new storage child on the same port when the child alone is killed, answering 503 meanwhile, and later joins keep an exact count', async () => {
    const { dataDir, channel } = store;
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
    // The bot logs asynchronously (pino, sync: false): its line can reach the pipe after /healthz already answers.
    const replaced = () => logLines(bot.output()).filter((l) => l.msg === 'embedded Azurite replaced');
    await waitFor(() => replaced().length > 0, 'the replacement in the bot log', 5_000);
    assert.ok(
      logLines(bot.output()).some((l) => l.msg === 'embedded Azurite replaced' && l.port === bot.storagePort),
      'the new child listens on the same port',
    );

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
    const { dataDir, channel, leftovers } = store;
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
});
