import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { startApp } from '../src/app';
import { freeLoopbackPort, startEmbeddedAzurite } from '../src/storage/embeddedAzurite';
import { memoryLogger } from './helpers/testApp';
import { FakeChannel } from './helpers/fakeChannel';
import { messageActivity, testUser } from './helpers/activities';
import { textOf } from './helpers/chat';

/** `npm start` as a newcomer runs it: the real entry point, embedded storage under DATA_DIR, no .env. */
function startBot(dataDir: string, port: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    cwd: path.resolve(__dirname, '..'),
    env: { PATH: process.env.PATH, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`bot did not start: ${output}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((l) => l.includes('"bot listening"'));
      if (line) {
        clearTimeout(timer);
        resolve({ child, url: JSON.parse(line).url as string });
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`bot exited with ${code}: ${output}`)));
  });
}

function stopBot(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

describe('npm start, stop and start again', function () {
  this.timeout(60_000);
  let dataDir: string;
  let channel: FakeChannel;
  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'kaizala-restart-'));
    channel = await new FakeChannel().start();
  });
  after(async () => {
    await channel.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts with embedded storage and no configuration, stops on SIGTERM, and keeps state across the restart', async () => {
    const port = await freeLoopbackPort();
    const user = testUser('Persistent Pat');
    const post = (url: string, text: string) =>
      fetch(`${url}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(messageActivity(channel.serviceUrl, user, { text })),
      });

    const first = await startBot(dataDir, port);
    assert.equal((await fetch(`${first.url}/healthz`)).status, 200);
    // A group, and a dialog left half-way (the bot is waiting for a photo).
    assert.equal((await post(first.url, 'new group Survivors')).status, 200);
    assert.equal((await post(first.url, 'skip')).status, 200);
    // "/": with a current group (Survivors), "new group <name>" would be a post (issue 10).
    assert.equal((await post(first.url, '/new group Half Way')).status, 200);
    assert.equal(await stopBot(first.child), 0);

    const second = await startBot(dataDir, port);
    try {
      channel.clear();
      // The dialog resumes where it was: this answer is the photo step's.
      await post(second.url, 'skip');
      assert.match(textOf(channel.sent), /Half Way/);
      channel.clear();
      await post(second.url, 'my groups');
      assert.match(textOf(channel.sent), /Survivors/);
      assert.match(textOf(channel.sent), /Half Way/);
    } finally {
      await stopBot(second.child);
    }
  });

  it('refuses to start with a bad setting, naming the key in one line', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
      cwd: path.resolve(__dirname, '..'),
      env: { PATH: process.env.PATH, PORT: 'not-a-port' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 2);
    assert.match(stderr.trim(), /^Invalid configuration: PORT /);
    assert.equal(stderr.trim().split('\n').length, 1);
  });
});

describe('GET /healthz when storage stops answering', () => {
  it('answers 503 while the storage is down, and so does an invite page', async function () {
    this.timeout(30_000);
    const azurite = await startEmbeddedAzurite({ queue: true });
    const port = await freeLoopbackPort();
    // A short storage deadline: the app's stop, with its storage gone, waits out each storage call's deadline.
    const config = loadConfig({
      PORT: String(port),
      STORAGE_CONNECTION_STRING: azurite.connectionString,
      LOG_LEVEL: 'silent',
      STORAGE_TIMEOUT_MS: '1000',
    });
    const app = await startApp(config, { logger: memoryLogger().logger });
    try {
      assert.equal((await fetch(`${app.url}/healthz`)).status, 200);
      await azurite.stop();
      const res = await fetch(`${app.url}/healthz`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { status: 'storage unavailable' });
      // An invite link is not called invalid just because storage is down.
      const landing = await fetch(`${app.url}/join/AAAAAAAAAAAAAAAAAAAAAA`);
      assert.equal(landing.status, 503);
      assert.match(await landing.text(), /try again/);
    } finally {
      await app.stop();
      await azurite.stop();
    }
  });
});
