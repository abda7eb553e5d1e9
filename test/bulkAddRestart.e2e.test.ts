import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { SAMPLE_TENANT_ID } from '../src/bulkadd/sampleDirectory';
import { GroupService } from '../src/groups/groupService';
import { loadOrCreateAppSecret } from '../src/storage/appSecret';
import { freeLoopbackPort, startEmbeddedAzurite, type EmbeddedAzurite } from '../src/storage/embeddedAzurite';
import { TableGroupStore } from '../src/storage/tableGroupStore';
import { createTableClients, type TableClients } from '../src/storage/tables';
import { messageActivity, testUser } from './helpers/activities';
import { startBot, type BotProcess } from './helpers/botProcess';
import { FakeChannel } from './helpers/fakeChannel';

/** The sample directory's people but the guest: 19 of them. */
const PEOPLE = Array.from({ length: 19 }, (_, i) => `00000000-0000-0000-0000-00000000000${20 + i}`);
const ADDRESSES = [
  'alexw',
  'meganb',
  'adelev',
  'isaiah',
  'pattif',
  'lynner',
  'diegos',
  'gradya',
  'henriettam',
  'johannal',
  'jonis',
  'leeg',
  'lidiah',
  'miriamg',
  'nestorw',
  'pradeepg',
  'raulr',
  'alans',
  'christiec',
].map((name) => `${name}@example.com`);

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}\n${output().slice(-3_000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Issue 18: the bot (the real entry point, as a process) is SIGKILLed in the middle of a bulk add job, between
 * its chunks, and started again on the same storage: the job goes on from the rows not done, and each person is
 * added once and welcomed once. Sample directory (no app id), chats created on the fake channel.
 */
describe('Bulk add: the bot killed mid-job, then restarted', function () {
  this.timeout(240_000);
  let azurite: EmbeddedAzurite;
  let tables: TableClients;
  let channel: FakeChannel;
  let dataDir: string;
  let bot: BotProcess | undefined;
  const hung: ServerResponse[] = [];
  let creates = 0;
  let hang = true;
  let heldWelcome: string | undefined;

  before(async () => {
    azurite = await startEmbeddedAzurite({ queue: true });
    tables = createTableClients({ connectionString: azurite.connectionString });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'kaizala-bulk-restart-'));
    channel = await new FakeChannel().start();
    // The first seven chats open; from the eighth on (inside the second chunk of five) the channel never answers,
    // until the restart.
    channel.hosted = (req, res) => {
      // The welcome into the third chat arrives and is never answered: the kill lands while it is in flight.
      if (
        req.method === 'POST' &&
        !heldWelcome &&
        decodeURIComponent(req.url ?? '').startsWith('/v3/conversations/a:created-3/activities')
      ) {
        heldWelcome = 'a:created-3';
        hung.push(res);
        return true;
      }
      if (req.method !== 'POST' || req.url !== '/v3/conversations') return false;
      if (++creates <= 7 || !hang) return false;
      hung.push(res);
      return true;
    };
  });
  after(async () => {
    if (bot) {
      bot.child.kill('SIGKILL');
      await bot.exited;
    }
    for (const res of hung) res.destroy();
    await channel?.stop();
    await azurite?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('adds and welcomes each person once', async () => {
    const env = { STORAGE_CONNECTION_STRING: azurite.connectionString, BULKADD_LEASE_MS: '3000', BULKADD_CHUNK: '5' };
    const admin = testUser('Ann Admin');

    const chatsOf = (userId: string) => channel.created.filter((c) => c.body.members?.[0]?.id === userId).map((c) => c.id);
    // The held welcome reached the channel (it may have reached the person): it counts as one.
    const welcomesTo = (userId: string) =>
      chatsOf(userId).flatMap((id) => [
        ...channel.to(id).filter((s) => s.method === 'POST' && /added you to/.test(String(s.activity.text))),
        ...(id === heldWelcome ? [{ held: true }] : []),
      ]);
    const reports = () => channel.to(`a:personal-${admin.id}`).filter((s) => /Bulk add to/.test(String(s.activity.text)));

    let port = await freeLoopbackPort();
    bot = await startBot(dataDir, port, { env });
    // The bot made the tables and the app secret; the group is made in storage, with its admin.
    const groups = new GroupService({
      store: new TableGroupStore(tables),
      appSecret: await loadOrCreateAppSecret(tables.settings, undefined),
      publicUrl: 'http://127.0.0.1',
    });
    const group = await groups.createGroup({
      name: 'Depot Crew',
      creator: { id: admin.aadObjectId, name: admin.name },
      idempotencyKey: 'restart-test',
    });
    const confirm = messageActivity(channel.serviceUrl, admin, {
      value: { verb: 'confirmBulkAdd', groupId: group.id, addresses: ADDRESSES.join('\n'), addLeavers: false },
    });
    (confirm.conversation as Record<string, unknown>).tenantId = SAMPLE_TENANT_ID;
    confirm.channelData = { tenant: { id: SAMPLE_TENANT_ID } };
    const res = await fetch(`${bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(confirm),
    });
    assert.equal(res.status, 200);
    // The first chunk is done and welcomed (one welcome still unanswered); the second hangs on the channel: then the
    // bot dies. The unanswered welcome's row says it may have left, so the restarted bot must not send it again.
    const first = bot;
    await until(
      'the first five welcomes and a hung chat',
      () => PEOPLE.slice(0, 5).every((id) => welcomesTo(id).length === 1) && hung.length > 0,
      90_000,
      () => first.output(),
    );
    first.child.kill('SIGKILL');
    await first.exited;
    assert.ok(
      PEOPLE.slice(5).every((id) => welcomesTo(id).length === 0),
      'nobody of the later chunks was welcomed before the kill',
    );
    hang = false;
    for (const r of hung.splice(0)) r.destroy();

    port = await freeLoopbackPort();
    bot = await startBot(dataDir, port, { env });
    const second = bot;
    await until(
      'everyone welcomed and the report',
      () => PEOPLE.every((id) => welcomesTo(id).length >= 1) && reports().length >= 1,
      120_000,
      () => second.output(),
    );
    // Let anything late arrive before counting: a second welcome or report would show now.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.deepEqual(
      PEOPLE.map((id) => welcomesTo(id).length),
      PEOPLE.map(() => 1),
      'each person welcomed once',
    );
    assert.equal(reports().length, 1);
    assert.match(String(reports()[0]!.activity.text), /added: 19/);
    assert.equal((await groups.getGroup(group.id)).memberCount, 20, 'each person added once');
    const standings = await groups.standingsFor(group.id, { user: { id: admin.aadObjectId, name: admin.name } }, PEOPLE);
    assert.ok([...standings.values()].every((s) => s === 'member'));
  });
});
