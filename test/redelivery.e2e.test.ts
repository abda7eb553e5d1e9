import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { GroupService } from '../src/groups/groupService';
import { freeLoopbackPort, startEmbeddedAzurite, type EmbeddedAzurite } from '../src/storage/embeddedAzurite';
import { createTableClients, type TableClients } from '../src/storage/tables';
import { TableGroupStore } from '../src/storage/tableGroupStore';
import { loadOrCreateAppSecret } from '../src/storage/appSecret';
import { FakeChannel } from './helpers/fakeChannel';
import { messageActivity, testUser } from './helpers/activities';
import { textOf } from './helpers/chat';

/** Long enough to restart the bot inside it on a busy machine; the test waits for its end once. */
const LEASE_MS = 20_000;

/** The real entry point as a process, on storage the test owns (so the storage outlives the bot's SIGKILL). */
/** Polls `done` until it holds; fails with `why()` after `timeoutMs` (never waits forever). */
async function until(done: () => boolean, timeoutMs: number, why: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

function startBot(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    cwd: path.resolve(__dirname, '..'),
    env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`bot did not start: ${output}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((l) => l.includes('"bot listening"'));
      if (line) {
        clearTimeout(timer);
        resolve({ child, url: JSON.parse(line).url as string, output: () => output.slice(-3_000) });
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code, signal) => reject(new Error(`bot exited with ${code ?? signal}: ${output}`)));
  });
}

function sigkill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/**
 * Issue 8, "a crash mid-turn": the bot is killed while it downloads the group photo of `new group` (a picture
 * hosted by the channel whose download hangs). Teams then redelivers the same activity. While the dead turn's
 * lease lives, the redelivery does nothing; once it expired, the redelivery runs the turn again: the group is
 * created exactly once and the user gets the reply the dead process never sent.
 */
describe('A bot killed inside a turn, then the same activity redelivered', function () {
  this.timeout(120_000);
  let azurite: EmbeddedAzurite;
  let tables: TableClients;
  let channel: FakeChannel;
  let dataDir: string;
  let bot: ChildProcess | undefined;
  const photoRequests: ServerResponse[] = [];
  let png: Buffer;

  before(async () => {
    png = await sharp({ create: { width: 300, height: 300, channels: 3, background: { r: 20, g: 140, b: 200 } } })
      .png()
      .toBuffer();
    azurite = await startEmbeddedAzurite({ queue: true });
    tables = createTableClients({ connectionString: azurite.connectionString });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'kaizala-redelivery-'));
    channel = await new FakeChannel().start();
    // The channel hosts the attachment on its own origin: the first download hangs (the bot dies during it),
    // later ones get the picture.
    channel.hosted = (req: IncomingMessage, res: ServerResponse) => {
      if (req.method !== 'GET' || req.url !== '/attachments/crew.png') return false;
      photoRequests.push(res);
      if (photoRequests.length > 1) {
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(png.length) });
        res.end(png);
      }
      return true;
    };
  });
  after(async () => {
    if (bot) await sigkill(bot);
    await channel?.stop();
    await azurite?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates the group exactly once and replies, after a redelivery during the lease did nothing', async () => {
    const port = await freeLoopbackPort();
    const env = {
      PORT: String(port),
      DATA_DIR: dataDir,
      STORAGE_CONNECTION_STRING: azurite.connectionString,
      REDELIVERY_LEASE_MS: String(LEASE_MS),
    };
    const user = testUser('Crash Carla');
    const conversationId = `a:personal-${user.id}`;
    const post = (url: string, activity: Record<string, unknown>) =>
      fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });
    const say = (url: string, text: string) => post(url, messageActivity(channel.serviceUrl, user, { text }));

    let first = await startBot(env);
    bot = first.child;
    assert.equal((await say(first.url, 'new group')).status, 200);
    assert.equal((await say(first.url, 'Crash Test Crew')).status, 200);
    assert.match(textOf(channel.to(conversationId)), /A photo for/);

    // The photo, as an attachment the channel hosts; the bot is killed while the download hangs.
    const photoActivity = messageActivity(channel.serviceUrl, user, {
      text: '',
      id: 'act-photo-crash-1',
      // A Teams file card whose download is on the channel's origin (an image/* contentUrl would ask for the bot's
      // token, which a local bot without an app id does not have).
      attachments: [
        {
          contentType: 'application/vnd.microsoft.teams.file.download.info',
          name: 'crew.png',
          content: { downloadUrl: `${channel.serviceUrl}attachments/crew.png`, fileType: 'png' },
        },
      ],
    });
    const dying = post(first.url, photoActivity).catch(() => undefined);
    await until(
      () => photoRequests.length > 0,
      20_000,
      () => `the bot never asked for the picture: ${first.output()}`,
    );
    await sigkill(first.child);
    await dying;
    const sentBeforeCrash = channel.to(conversationId).length;

    const groupService = new GroupService({
      store: new TableGroupStore(tables),
      appSecret: await loadOrCreateAppSecret(tables.settings, undefined),
      publicUrl: 'http://127.0.0.1',
    });
    const groupsOfUser = async () =>
      (await groupService.listMyGroups(user.aadObjectId)).items.filter((g) => g.group.name === 'Crash Test Crew').length;
    assert.equal(await groupsOfUser(), 0, 'the dead turn created nothing');

    // Restart on the same folder and storage; the dead turn's lease still lives: the redelivery does nothing.
    first = await startBot(env);
    bot = first.child;
    // The photo activity's own row (keys as DedupStore makes them).
    const leaseRow = () =>
      tables.dedup
        .getEntity<{ state?: string; expiresAt?: string }>(sha256(`msteams|${conversationId}|message`), sha256(String(photoActivity.id)))
        .catch(() => undefined);
    const lease = await leaseRow();
    assert.ok(lease, 'the dead turn left its lease');
    assert.equal(lease.state, 'leased');
    const expiresAt = Date.parse(lease.expiresAt!);
    assert.ok(Date.now() < expiresAt, 'the restart took longer than the lease; raise LEASE_MS');
    assert.equal((await post(first.url, photoActivity)).status, 200);
    assert.ok(Date.now() < expiresAt, 'the redelivery was answered inside the lease');
    assert.equal(photoRequests.length, 1, 'the redelivery during the lease did not run the turn');
    assert.equal(channel.to(conversationId).length, sentBeforeCrash, 'and sent nothing');
    assert.equal(await groupsOfUser(), 0);

    // After the lease: the redelivery runs the turn again, to the end.
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt + 100 - Date.now())));
    assert.equal((await post(first.url, photoActivity)).status, 200);
    assert.equal(photoRequests.length, 2);
    assert.equal(await groupsOfUser(), 1, 'the group is created once');
    const reply = textOf(channel.to(conversationId).slice(sentBeforeCrash));
    assert.match(reply, /Your group \*\*Crash Test Crew\*\* is ready/);
    assert.equal((await leaseRow())?.state, 'done');

    // Once done, a further redelivery does nothing.
    const sentAfterDone = channel.to(conversationId).length;
    assert.equal((await post(first.url, photoActivity)).status, 200);
    assert.equal(photoRequests.length, 2);
    assert.equal(channel.to(conversationId).length, sentAfterDone);
    assert.equal(await groupsOfUser(), 1);
  });
});
