/**
 * npm run playground: the bot plus the Microsoft 365 Agents Playground (a Teams-like web client that runs
 * offline), for trying the bot by hand.
 *
 *   npm run playground                 # prints "Open http://127.0.0.1:<port>/"; Ctrl-C stops everything
 *   npm run playground -- --no-netns   # run both directly on this machine (see the warning below)
 *
 * Why a network namespace: the playground listens on ALL interfaces (it calls listen(port) with no host and has
 * no option for loopback only), and its telemetry SDK tries Azure IMDS and DNS even with --disable-telemetry.
 * So, when we are root and `unshare` exists, the bot and the playground run inside `unshare -n`: a private
 * network namespace with only a loopback interface (brought up with `ip link set lo up`). Nothing there is
 * reachable from outside and nothing there can reach out. To let a browser on this machine in, the inner half
 * serves the playground on a Unix socket (file system paths are shared across network namespaces) and this
 * outer half relays 127.0.0.1:<port> to it: the UI is reachable from loopback only.
 *
 * The bot's own port is relayed the same way, on a free port of this machine (PORT when it is free), and the
 * bot's PUBLIC_URL is set to it: every link the bot shows (invite links, posters, the email, photos) opens
 * in a browser here. The bot keeps its data in DATA_DIR=.data/playground, apart from `npm start`'s.
 *
 * Children are stopped by PID on SIGINT/SIGTERM (and the inner half stops when the outer one goes away: it
 * watches its stdin pipe).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';

const ROOT = path.join(__dirname, '..');
const PLAYGROUND_BIN = path.join(ROOT, 'node_modules', '.bin', 'agentsplayground');
const READY = 'PLAYGROUND-READY ';
const FIRST_PLAYGROUND_PORT = 56150;

interface PlaygroundPorts {
  /** Your window: the playground's own user, Alex Wilber. */
  first: number;
  /** The second person's window: Megan Bowen. */
  second: number;
}

/**
 * The second playground's mock data: the first one's (tenant, bot, people), with Megan Bowen as the one who types
 * and a personal chat of her own. The schema is the playground's (version 0.1.1: exactly five other users).
 */
const SECOND_PERSON_CONFIG = `version: "0.1.1"
tenantId: 00000000-0000-0000-0000-0000000000001
bot:
  id: 00000000-0000-0000-0000-00000000000011
  name: Test Bot
currentUser:
  id: user-id-1
  name: Megan Bowen
  userPrincipleName: meganb@example.com
  aadObjectId: 00000000-0000-0000-0000-0000000000021
  givenName: Megan
  surname: Bowen
  email: meganb@example.com
users:
  - id: user-id-0
    name: Alex Wilber
    userPrincipleName: alexw@example.com
    aadObjectId: 00000000-0000-0000-0000-0000000000020
    givenName: Alex
    surname: Wilber
    email: alexw@example.com
  - id: user-id-2
    name: Adele Vance
    userPrincipleName: adelev@example.com
    aadObjectId: 00000000-0000-0000-0000-0000000000022
    givenName: Adele
    surname: Vance
    email: adelev@example.com
  - id: user-id-3
    name: Isaiah Langer
    userPrincipleName: isaiah@example.com
    aadObjectId: 00000000-0000-0000-0000-0000000000023
    givenName: Isaiah
    surname: Langer
    email: isaiahl@example.com
  - id: user-id-4
    name: Patti Fernandez
    userPrincipleName: pattif@example.com
    aadObjectId: 00000000-0000-0000-0000-0000000000024
    givenName: Patti
    surname: Fernandez
    email: pattif@example.com
  - id: user-id-5
    name: Lynne Robbins
    userPrincipleName: lynner@example.com
    aadObjectId: 00000000-0000-0000-0000-0000000000025
    givenName: Lynne
    surname: Robbins
    email: lynner@example.com
personalChat:
  id: personal-chat-megan-bowen
groupChat:
  id: group-chat-megan-bowen
  name: Group Chat
team:
  id: team-id
  name: My Team
  aadGroupId: 00000000-0000-0000-0000-000000000031
  channels:
    - id: channel-announcements-id
      name: Announcements
`;

const { values: args } = parseArgs({
  options: {
    inner: { type: 'boolean', default: false },
    socket: { type: 'string' },
    'bot-socket': { type: 'string' },
    'public-url': { type: 'string' },
    /** Another data folder (tests); default .data/playground. */
    'data-dir': { type: 'string' },
    'no-netns': { type: 'boolean', default: false },
  },
  allowPositionals: false,
});

/** The playground's bot keeps its own data: never the folder a running `npm start` holds. */
const PLAYGROUND_DATA_DIR = args['data-dir'] ?? path.join('.data', 'playground');

function log(message: string): void {
  process.stderr.write(`[playground] ${message}\n`);
}

function canUseNetns(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  return spawnSync('unshare', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('ip', ['-V'], { stdio: 'ignore' }).status === 0;
}

function botPort(): number {
  const port = loadConfig().PORT;
  return port === 0 ? 3978 : port;
}

/** Relays every TCP connection accepted by `server` to `connectTo()`. */
function relay(server: net.Server, connectTo: () => net.Socket): void {
  server.on('connection', (client) => {
    const upstream = connectTo();
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
}

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/** Listens on 127.0.0.1:<preferred>, or on a free port when that one is taken; resolves to the port. */
function listenPreferring(server: net.Server, preferred: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const done = () => resolve((server.address() as net.AddressInfo).port);
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') return reject(err);
      server.once('error', reject);
      server.listen(0, '127.0.0.1', done);
    });
    server.listen(preferred, '127.0.0.1', done);
  });
}

/**
 * Starts the bot and the two playgrounds (you, and Megan Bowen as a second person) in this process's network
 * namespace; resolves to their ports. `publicUrl`: where a browser on this machine reaches the bot.
 */
async function startBotAndPlayground(
  children: ChildProcess[],
  onExit: (name: string, code: number | null) => void,
  port: number,
  publicUrl: string,
): Promise<PlaygroundPorts> {
  const bot = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: publicUrl, DATA_DIR: PLAYGROUND_DATA_DIR },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // The bot's own "chat with it: npm run playground" line is for `npm start`; here this script says where to go.
  bot.stdout!.on('data', (chunk: Buffer) => {
    const lines = chunk.toString('utf8').split(/(?<=\n)/);
    process.stdout.write(lines.filter((line) => !line.startsWith('Kaizala Groups bot on ')).join(''));
  });
  children.push(bot);
  bot.once('exit', (code) => onExit('bot', code));
  log(`bot pid ${bot.pid} on http://127.0.0.1:${port}/api/messages (links: ${publicUrl}, data: ${PLAYGROUND_DATA_DIR})`);
  await waitForPort(port, 60_000);

  const first = await startPlayground(children, onExit, port, { name: 'playground', cwd: ROOT, port: FIRST_PLAYGROUND_PORT });
  // The second person: another playground whose own user is Megan Bowen (the first one's mock user), talking to
  // the same bot. Her chat, and every copy the bot delivers to it, shows in her own window.
  const meganDir = mkdtempSync(path.join(os.tmpdir(), 'kaizala-playground-megan-'));
  writeFileSync(path.join(meganDir, '.m365agentsplayground.yml'), SECOND_PERSON_CONFIG);
  const second = await startPlayground(children, onExit, port, {
    name: 'second playground',
    cwd: meganDir,
    port: FIRST_PLAYGROUND_PORT + 1,
  });
  children.at(-1)!.once('exit', () => rmSync(meganDir, { recursive: true, force: true }));
  return { first, second };
}

/** One playground process; resolves to the port it listens on (its own, or a random one when that is taken). */
function startPlayground(
  children: ChildProcess[],
  onExit: (name: string, code: number | null) => void,
  botPortNumber: number,
  options: { name: string; cwd: string; port: number },
): Promise<number> {
  const playground = spawn(
    PLAYGROUND_BIN,
    ['-e', `http://127.0.0.1:${botPortNumber}/api/messages`, '-c', 'msteams', '--disable-telemetry', '-p', String(options.port)],
    {
      cwd: options.cwd,
      // NO_STATSBEAT stops the telemetry SDK's remaining outbound connections; BROWSER=none: don't open one.
      env: { ...process.env, APPLICATION_INSIGHTS_NO_STATSBEAT: 'true', TEAMSAPPTESTER_BROWSER: 'none' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(playground);
  playground.once('exit', (code) => onExit(options.name, code));
  log(`${options.name} pid ${playground.pid}`);

  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`the ${options.name} printed no "Listening on" line in 60 s`)), 60_000);
    playground.stdout!.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      buffered = (buffered + chunk.toString('utf8')).slice(-4096);
      const match = /Listening on (\d+)/.exec(buffered);
      if (match) {
        clearTimeout(timer);
        buffered = '';
        resolve(Number(match[1]));
      }
    });
  });
}

function stopChildren(children: ChildProcess[]): Promise<void> {
  const alive = children.filter((c) => c.exitCode === null && c.signalCode === null && c.pid !== undefined);
  for (const c of alive) {
    try {
      process.kill(c.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  return Promise.all(
    alive.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const timer = setTimeout(() => {
            try {
              process.kill(c.pid!, 'SIGKILL');
            } catch {
              // already gone
            }
            resolve();
          }, 5000);
          c.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    ),
  ).then(() => undefined);
}

/** Inside `unshare -n`: loopback up, bot + playground, Unix-socket relays (UI and bot) for the outer half. */
async function inner(socketPath: string, botSocketPath: string, publicUrl: string): Promise<void> {
  const up = spawnSync('ip', ['link', 'set', 'lo', 'up'], { stdio: 'inherit' });
  if (up.status !== 0) throw new Error('ip link set lo up failed');
  const children: ChildProcess[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await stopChildren(children);
    rmSync(socketPath, { force: true });
    rmSync(secondSocketPath(socketPath), { force: true });
    rmSync(botSocketPath, { force: true });
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  process.stdin.on('end', () => void stop(0)); // the outer half went away
  process.stdin.resume();

  // Alone in this namespace, so the bot's usual port is always free here.
  const port = botPort();
  const ports = await startBotAndPlayground(
    children,
    (name, code) => {
      if (!stopping) log(`${name} exited (${code}); stopping`);
      void stop(1);
    },
    port,
    publicUrl,
  );
  const botServer = net.createServer();
  relay(botServer, () => net.connect(port, '127.0.0.1'));
  await new Promise<void>((resolve) => botServer.listen(botSocketPath, resolve));
  for (const [file, uiPort] of [
    [socketPath, ports.first],
    [secondSocketPath(socketPath), ports.second],
  ] as const) {
    const unixServer = net.createServer();
    relay(unixServer, () => net.connect(uiPort, '127.0.0.1'));
    await new Promise<void>((resolve) => unixServer.listen(file, resolve));
  }
  process.stdout.write(`${READY}${JSON.stringify(ports)}\n`);
}

/** The second window's Unix socket, beside the first's. */
const secondSocketPath = (socketPath: string) => socketPath.replace(/\.sock$/, '-second.sock');

function printOpen(ports: PlaygroundPorts, botUrl: string, extra = ''): void {
  process.stdout.write(
    `\nPlayground ready. Open http://127.0.0.1:${ports.first}/ in a browser${extra}. A second person (Megan Bowen, her own chat with the bot): http://127.0.0.1:${ports.second}/ . The links the bot shows open at ${botUrl}. Ctrl-C stops the bot and the playground.\n\n`,
  );
}

/** Outside: run `inner` under `unshare -n` and relay 127.0.0.1:<port> to it. */
async function outerWithNetns(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kaizala-playground-'));
  const socketPath = path.join(dir, 'playground.sock');
  const botSocketPath = path.join(dir, 'bot.sock');
  // The bot's links must answer here: relay a port of this machine (PORT when free) to the bot inside.
  const botRelay = net.createServer();
  relay(botRelay, () => net.connect(botSocketPath));
  const botHostPort = await listenPreferring(botRelay, botPort());
  const publicUrl = `http://127.0.0.1:${botHostPort}`;
  const child = spawn(
    'unshare',
    [
      '-n',
      '--',
      process.execPath,
      '--import',
      'tsx',
      __filename,
      '--inner',
      '--socket',
      socketPath,
      '--bot-socket',
      botSocketPath,
      '--public-url',
      publicUrl,
      '--data-dir',
      PLAYGROUND_DATA_DIR,
    ],
    {
      cwd: ROOT,
      env: process.env,
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  log(`network namespace pid ${child.pid}; the bot's links relayed at ${publicUrl}`);
  const tcpServer = net.createServer();
  relay(tcpServer, () => net.connect(socketPath));
  const secondTcpServer = net.createServer();
  relay(secondTcpServer, () => net.connect(secondSocketPath(socketPath)));

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    tcpServer.close();
    secondTcpServer.close();
    botRelay.close();
    await stopChildren([child]);
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  child.once('exit', (code) => void stop(code ?? 1));

  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.startsWith(READY)) {
        process.stdout.write(`${line}\n`);
        continue;
      }
      const inside = JSON.parse(line.slice(READY.length)) as PlaygroundPorts;
      // Same port numbers as inside when they are free here, so absolute URLs in the pages still work.
      void Promise.all([listenPreferring(tcpServer, inside.first), listenPreferring(secondTcpServer, inside.second)]).then(
        ([first, second]) => printOpen({ first, second }, publicUrl, ' (relayed into the network namespace)'),
      );
    }
  });
}

/** No namespace (not root, no unshare, or --no-netns): the playground is then reachable on every interface. */
async function outerDirect(): Promise<void> {
  log('WARNING: running without a network namespace: the playground listens on all interfaces of this machine.');
  const children: ChildProcess[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await stopChildren(children);
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  const botListenPort = botPort();
  const publicUrl = `http://127.0.0.1:${botListenPort}`;
  const ports = await startBotAndPlayground(
    children,
    (name, code) => {
      if (!stopping) log(`${name} exited (${code}); stopping`);
      void stop(1);
    },
    botListenPort,
    publicUrl,
  );
  printOpen(ports, publicUrl);
}

const run = args.inner
  ? inner(
      args.socket ?? path.join(os.tmpdir(), `kaizala-playground-${process.pid}.sock`),
      args['bot-socket'] ?? path.join(os.tmpdir(), `kaizala-playground-bot-${process.pid}.sock`),
      args['public-url'] ?? `http://127.0.0.1:${botPort()}`,
    )
  : !args['no-netns'] && canUseNetns()
    ? outerWithNetns()
    : outerDirect();

run.catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? err.message : String(err)}`);
  process.kill(process.pid, 'SIGTERM');
  process.exitCode = 1;
});
