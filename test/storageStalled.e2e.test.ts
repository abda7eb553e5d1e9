import assert from 'node:assert/strict';
import { startEmbeddedAzurite, type EmbeddedAzurite } from '../src/storage/embeddedAzurite';
import { STORAGE_UNAVAILABLE } from '../src/errors';
import { startTestApp, type TestApp } from './helpers/testApp';
import { Chat, textOf } from './helpers/chat';
import { testUser } from './helpers/activities';

const STORAGE_TIMEOUT_MS = 1_000;
/** Generous on purpose (a busy 2-core machine): the point is "answers", not a precise figure. */
const ANSWER_WITHIN_MS = STORAGE_TIMEOUT_MS + 5_000;

/**
 * Storage that stops answering (its process stopped with SIGSTOP: connections are accepted, nothing comes back),
 * as seen by a user: every turn still answers, in words, within the storage timeout (plus a margin), instead of
 * hanging until storage comes back.
 */
describe('Turns while storage does not answer (Azurite stopped with SIGSTOP)', function () {
  this.timeout(60_000);
  let azurite: EmbeddedAzurite;
  let t: TestApp;
  let chat: Chat;
  const owner = testUser('Stella Stalled');
  let groupId: string;

  before(async () => {
    // Tables and queues (the delivery engine's); only the table service is stopped.
    azurite = await startEmbeddedAzurite({ queue: true });
    t = await startTestApp({ STORAGE_CONNECTION_STRING: azurite.connectionString, STORAGE_TIMEOUT_MS: String(STORAGE_TIMEOUT_MS) });
    chat = new Chat(t);
    groupId = await chat.createGroup(owner, 'Stalled Storage');
  });
  beforeEach(() => process.kill(azurite.pid, 'SIGSTOP'));
  afterEach(() => process.kill(azurite.pid, 'SIGCONT'));
  after(async () => {
    await t?.stop();
    await azurite?.stop();
  });

  async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
    const started = Date.now();
    const result = await work();
    return { result, ms: Date.now() - started };
  }

  function storageLogLines(): Array<Record<string, unknown>> {
    return t.logs.filter((l) => l.msg === 'storage unavailable: turn answered "try again"');
  }

  for (const text of ['help', 'my groups']) {
    it(`answers "${text}" with "try again in a moment" instead of hanging, with one log line and no stack`, async () => {
      const before = storageLogLines().length;
      const { result: sent, ms } = await timed(() => chat.say(owner, text));
      assert.ok(ms < ANSWER_WITHIN_MS, `answered after ${ms} ms`);
      assert.equal(textOf(sent), STORAGE_UNAVAILABLE);
      assert.equal(storageLogLines().length, before + 1);
      assert.equal(storageLogLines().at(-1)!.reason, 'timeout');
      assert.ok(!t.logs.some((l) => JSON.stringify(l).includes('"stack"')), 'no stack in the log');
    });
  }

  it('answers a card click (Action.Execute) with an error invoke response that says to try again', async () => {
    const { result: res, ms } = await timed(() => chat.execute(owner, 'showInvite', { groupId }));
    assert.ok(ms < ANSWER_WITHIN_MS, `answered after ${ms} ms`);
    assert.equal(res.status, 200);
    assert.equal(res.body.statusCode, 503);
    assert.equal(res.body.type, 'application/vnd.microsoft.error');
    assert.deepEqual(res.body.value, { code: 'ServiceUnavailable', message: STORAGE_UNAVAILABLE });
  });

  it('works again as soon as storage answers again', async () => {
    assert.equal(textOf(await chat.say(owner, 'my groups')), STORAGE_UNAVAILABLE);
    process.kill(azurite.pid, 'SIGCONT');
    assert.match(textOf(await chat.say(owner, 'my groups')), /Stalled Storage/);
  });
});
