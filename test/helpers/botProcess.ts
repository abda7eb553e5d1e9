import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { azuriteConnectionString } from '../../src/storage/embeddedAzurite';
import { createTableClients, type TableClients } from '../../src/storage/tables';
import { TableGroupStore } from '../../src/storage/tableGroupStore';
import { isProcessAlive } from '../../src/storage/dataFolderLock';
import type { FakeChannel } from './fakeChannel';
import { messageActivity, testUser, type TestUser } from './activities';
import { buttonData, cardsIn, textOf } from './chat';

/** The bot as `npm start` runs it: the real entry point, embedded storage under DATA_DIR, no .env. */
export interface BotProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** The embedded table service's port, from the bot's start-up log. */
  readonly storagePort: number;
  /** Everything the bot wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has gone. */
  readonly exited: Promise<number | string | null>;
}

/** `env`: more settings (STORAGE_CONNECTION_STRING: storage the test owns, which outlives a SIGKILL of the bot). */
export function spawnBot(dataDir: string, port: number, options: { detached?: boolean; env?: Record<string, string> } = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    cwd: path.resolve(__dirname, '../..'),
    env: { PATH: process.env.PATH, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that a test can kill the bot and its storage children at once.
    detached: options.detached ?? false,
  });
}

export function startBot(
  dataDir: string,
  port: number,
  options: { detached?: boolean; env?: Record<string, string> } = {},
): Promise<BotProcess> {
  const child = spawnBot(dataDir, port, options);
  let output = '';
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bot did not start: ${output}`)), 30_000);
    const check = () => {
      const line = logLines(output).find((l) => l.msg === 'bot listening');
      const storage = logLines(output).find((l) => l.msg === 'embedded Azurite started');
      if (line && (storage || options.env?.STORAGE_CONNECTION_STRING)) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve({ child, url: String(line.url), storagePort: Number(storage?.port), output: () => output, exited });
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`bot exited with ${code}: ${output}`));
    });
  });
}

export function logLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}

export async function stopBot(bot: BotProcess): Promise<void> {
  if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGTERM');
  await bot.exited;
}

/** The pid in `DATA_DIR/azurite-<service>.pid`, if the file is there. */
export function pidFileOf(dataDir: string, service: 'table' | 'queue'): number | undefined {
  try {
    return Number.parseInt(readFileSync(path.join(dataDir, `azurite-${service}.pid`), 'utf8'), 10);
  } catch {
    return undefined;
  }
}

/** Live Azurite processes of one service working on `DATA_DIR/azurite` (read from /proc). */
export function azuriteProcessesOn(dataDir: string, service: 'table' | 'queue'): number[] {
  const location = path.join(dataDir, 'azurite');
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!pid) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const at = args.indexOf('--location');
    if (args.some((a) => a.endsWith(`${service}/main.js`)) && at >= 0 && args[at + 1] === location && isProcessAlive(pid)) pids.push(pid);
  }
  return pids;
}

export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000, stepMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

/** The bot's storage, read directly (as an operator would with Storage Explorer). */
export function storageOf(port: number): { tables: TableClients; store: TableGroupStore } {
  const tables = createTableClients({ connectionString: azuriteConnectionString(port) });
  return { tables, store: new TableGroupStore(tables) };
}

/** The ids of a group's members as stored, and the count the group row's counters give. */
export async function storedMembership(
  port: number,
  groupId: string,
): Promise<{ exists: boolean; memberIds: Set<string>; memberCount: number }> {
  const { store } = storageOf(port);
  const record = await store.getGroup(groupId);
  const memberIds = new Set<string>();
  if (record) for await (const member of store.allMembers(groupId)) memberIds.add(member.user.id);
  return { exists: Boolean(record), memberIds, memberCount: record?.group.memberCount ?? 0 };
}

export async function healthStatus(url: string): Promise<number> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** A Teams user talking to the bot process through POST /api/messages; what came back to their chat. */
export async function say(url: string, channel: FakeChannel, user: TestUser, fields: { text?: string; value?: unknown }) {
  const conversation = `a:personal-${user.id}`;
  const before = channel.to(conversation).length;
  const res = await fetch(`${url}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(messageActivity(channel.serviceUrl, user, { ...fields, id: randomUUID() })),
  });
  await res.arrayBuffer();
  return { status: res.status, sent: channel.to(conversation).slice(before) };
}

/** `new group <name>`, skip the photo, then the Invite card's link: the way an owner gets one in Teams. */
export async function createGroupWithLink(
  url: string,
  channel: FakeChannel,
  owner: TestUser,
  name: string,
): Promise<{ groupId: string; link: string }> {
  await say(url, channel, owner, { text: `new group ${name}` });
  const created = await say(url, channel, owner, { value: { verb: 'skipPhoto' } });
  const groupId = String(buttonData(cardsIn(created.sent).at(-1)!, 'showInvite').groupId);
  const invite = await say(url, channel, owner, { value: { verb: 'showInvite', groupId } });
  const link = /https?:\/\/\S+\/join\/[A-Za-z0-9_-]{22}/.exec(textOf(invite.sent))?.[0];
  if (!link) throw new Error(`the Invite card shows no link: ${textOf(invite.sent).slice(0, 300)}`);
  return { groupId, link };
}

export interface Acknowledged {
  userId: string;
  /** When the bot's HTTP answer (and its "You joined" reply) had arrived. */
  at: number;
}

/**
 * A join storm: `joiners` new users post `join <link>`, `inFlight` at a time. A join is acknowledged when the
 * bot answered 200 and told the user "You joined <group>". `stop()` ends it early (requests in flight are
 * left to fail); `acknowledged` grows as answers arrive.
 */
export function joinStorm(options: {
  url: string;
  channel: FakeChannel;
  link: string;
  groupName: string;
  joiners: number;
  inFlight: number;
}) {
  const acknowledged: Acknowledged[] = [];
  let stopped = false;
  let next = 0;
  const users = Array.from({ length: options.joiners }, (_, i) => testUser(`Joiner ${i + 1}`));
  const done = Promise.all(
    Array.from({ length: options.inFlight }, async () => {
      while (!stopped && next < users.length) {
        const user = users[next++]!;
        try {
          const { status, sent } = await say(options.url, options.channel, user, { text: `join ${options.link}` });
          const reply = textOf(sent);
          if (status === 200 && reply.includes('You joined') && reply.includes(options.groupName))
            acknowledged.push({ userId: user.aadObjectId, at: Date.now() });
        } catch {
          // The bot went away mid-request: not acknowledged.
        }
      }
    }),
  ).then(() => undefined);
  return {
    acknowledged,
    done,
    stop() {
      stopped = true;
      return done;
    },
  };
}
