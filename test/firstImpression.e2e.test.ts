import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { COMMANDS, HELP_TASKS } from '../src/teams/input/commands';
import { startTestApp, type TestApp } from './helpers/testApp';
import { testUser } from './helpers/activities';
import { Chat, actionsIn, buttonData, cardsIn, textOf } from './helpers/chat';
import { validateCard } from '../cards/validate';
import { buildAskGroupPhotoCard } from '../cards';

const ROOT = path.join(__dirname, '..');

/** The small things a new user meets first: `help`, the photo question, a busy port. */
describe('First impression: help, the optional photo, a busy port', function () {
  let t: TestApp;
  let chat: Chat;
  before(async () => {
    t = await startTestApp();
    chat = new Chat(t);
  });
  after(async () => {
    await t.stop();
  });

  it('answers `help` with a short card grouped by task, and the full list behind "All commands"', async () => {
    const user = testUser();
    const card = cardsIn(await chat.say(user, 'help'))[0]!;
    assert.deepEqual(validateCard(card), []);
    const text = textOf(card);
    for (const { task } of HELP_TASKS) assert.ok(text.includes(task), `the task "${task}"`);
    // Short: a phone screen or two. It grew past 900 with bulk add, imports and remove admin (issues 17, 18, 20).
    assert.ok(text.length < 1000, `short: ${text.length} characters`);
    assert.doesNotMatch(text, /Remove a member from a group/, 'no descriptions on the short card');

    const all = cardsIn(await chat.submit(user, 'help', buttonData(card, 'help')))[0]!;
    assert.deepEqual(validateCard(all), []);
    assert.match(textOf(all), /Remove a member from a group/);
  });

  it('puts every command but help and cancel under a task', () => {
    const grouped = new Set(HELP_TASKS.flatMap((t) => t.commands));
    assert.deepEqual(
      COMMANDS.map((c) => c.name).filter((c) => !grouped.has(c) && c !== 'help' && c !== 'cancel'),
      [],
    );
  });

  it('shows the photo link as optional (not required, no asterisk), and Next with it empty creates the group', async () => {
    const input = JSON.stringify(buildAskGroupPhotoCard({ groupName: 'Depot' }).content);
    assert.doesNotMatch(input, /"isRequired":true/);
    assert.match(input, /"label":"Photo link \(optional\)"/);

    const owner = testUser();
    await chat.say(owner, 'new group Optional Photo');
    const reply = await chat.submit(owner, 'createGroup', { step: 'photo', photoUrl: '' });
    assert.match(textOf(reply), /is ready/);
    assert.ok(actionsIn(cardsIn(reply).at(-1)!).some((a) => a.data?.['verb'] === 'showInvite'));
  });

  it('says to set PORT, in one line, when the port is taken', async function () {
    this.timeout(60_000);
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'busy-port-'));
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 1);
      const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !/DeprecationWarning|trace-deprecation/.test(l));
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0]!, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use.*Set PORT to a free port`));
    } finally {
      blocker.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
