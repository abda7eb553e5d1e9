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
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';

const ROOT = path.join(__dirname, '..');
const PLAYGROUND_BIN = path.join(ROOT, 'node_modules', '.bin', 'agentsplayground');
const READY = 'PLAYGROUND-READY ';

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
 * Starts the bot and the playground in this process's network namespace; resolves to the playground port.
 * `publicUrl`: where a browser on this machine reaches the bot (the relay of the outer half).
 */
async function startBotAndPlayground(
  children: ChildProcess[],
  onExit: (name: string, code: number | null) => void,
  port: number,
  publicUrl: string,
): Promise<number> {
  const bot = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: publicUrl, DATA_DIR: PLAYGROUND_DATA_DIR },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(bot);
  bot.once('exit', (code) => onExit('bot', code));
  log(`bot pid ${bot.pid} on http://127.0.0.1:${port}/api/messages (links: ${publicUrl}, data: ${PLAYGROUND_DATA_DIR})`);
  await waitForPort(port, 60_000);

  const playground = spawn(PLAYGROUND_BIN, ['-e', `http://127.0.0.1:${port}/api/messages`, '-c', 'msteams', '--disable-telemetry'], {
    cwd: ROOT,
    // NO_STATSBEAT stops the telemetry SDK's remaining outbound connections; BROWSER=none: don't open one.
    env: { ...process.env, APPLICATION_INSIGHTS_NO_STATSBEAT: 'true', TEAMSAPPTESTER_BROWSER: 'none' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(playground);
  playground.once('exit', (code) => onExit('playground', code));
  log(`playground pid ${playground.pid}`);

  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('the playground printed no "Listening on" line in 60 s')), 60_000);
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
    rmSync(botSocketPath, { force: true });
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  process.stdin.on('end', () => void stop(0)); // the outer half went away
  process.stdin.resume();

  // Alone in this namespace, so the bot's usual port is always free here.
  const port = botPort();
  const pgPort = await startBotAndPlayground(
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
  const unixServer = net.createServer();
  relay(unixServer, () => net.connect(pgPort, '127.0.0.1'));
  await new Promise<void>((resolve) => unixServer.listen(socketPath, resolve));
  process.stdout.write(`${READY}${JSON.stringify({ port: pgPort })}\n`);
}

function printOpen(port: number, botUrl: string, extra = ''): void {
  process.stdout.write(
    `\nPlayground ready. Open http://127.0.0.1:${port}/ in a browser${extra}. The links the bot shows open at ${botUrl}. Ctrl-C stops the bot and the playground.\n\n`,
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

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    tcpServer.close();
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
      const { port } = JSON.parse(line.slice(READY.length)) as { port: number };
      // Same port number as inside when it is free here, so absolute URLs in the page still work.
      void listenPreferring(tcpServer, port).then((uiPort) => printOpen(uiPort, publicUrl, ' (relayed into the network namespace)'));
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
  const port = await startBotAndPlayground(
    children,
    (name, code) => {
      if (!stopping) log(`${name} exited (${code}); stopping`);
      void stop(1);
    },
    botListenPort,
    publicUrl,
  );
  printOpen(port, publicUrl);
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
