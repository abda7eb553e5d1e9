import assert from 'node:assert/strict';
import { freeLoopbackPort } from '../../src/storage/embeddedAzurite';
import { testUser } from '../helpers/activities';
import { textOf } from '../helpers/chat';
import { azuriteProcessesOn, createGroupWithLink, pidFileOf, say, spawnBot } from '../helpers/botProcess';
import { embeddedStoreFixture } from './embeddedStoreFixture';

/**
 * The embedded store at process level, continued (see embeddedAzurite.e2e.test.ts): one bot per data folder. In
 * its own file (the refusal waits out the folder lock's 10 s) so that mocha's parallel workers run it beside the
 * other embedded store tests.
 */
describe('The embedded store (process level: the bot as npm start runs it)', function () {
  this.timeout(60_000);
  const store = embeddedStoreFixture();
  const start = (options?: { detached?: boolean }) => store.start(options);

  it('refuses a second bot on a data folder in use, naming the folder and the holder in one line; a killed holder does not block the next start', async () => {
    const { dataDir, channel } = store;
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
    const lines = stderr
      .trim()
      .split('\n')
      .filter((line) => !/^\(node:\d+\)|^\(Use `node --trace/.test(line));
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
