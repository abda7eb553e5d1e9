import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

/** The Azurite services the bot runs: tables for its data, queues for its background work. */
export type AzuriteService = 'table' | 'queue';

export interface AzuriteChildOptions {
  port: number;
  /** Folder for the data; omitted = in memory (tests). */
  location?: string;
  /** How often Azurite saves to `location` (its own default is 5000 ms). */
  autosaveMs?: number;
  startTimeoutMs?: number;
}

/** One running Azurite service process. */
export interface AzuriteChild {
  readonly service: AzuriteService;
  readonly port: number;
  readonly pid: number;
  /** Settles when the process has exited, however it ended. */
  readonly exited: Promise<void>;
  readonly hasExited: boolean;
  /** Graceful close: Azurite saves, then exits. Killed if it has not exited after `deadlineMs`. */
  stop(deadlineMs?: number): Promise<void>;
  /** SIGKILL (a stopped process too), then wait for the exit. */
  kill(): Promise<void>;
}

const MAIN: Record<AzuriteService, string> = {
  table: 'azurite/dist/src/table/main.js',
  queue: 'azurite/dist/src/queue/main.js',
};

/**
 * Starts one Azurite service as a child process on loopback, telemetry off. A child rather than in-process so
 * that the storage work runs on another core, as a real storage account would run elsewhere. The preloaded
 * guard (azuriteOrphanGuard.cjs) makes it save and exit when the bot is gone.
 */
export async function spawnAzuriteChild(service: AzuriteService, options: AzuriteChildOptions): Promise<AzuriteChild> {
  const { port } = options;
  const args = ['--require', path.join(__dirname, 'azuriteOrphanGuard.cjs'), require.resolve(MAIN[service])];
  args.push(`--${service}Host`, '127.0.0.1', `--${service}Port`, String(port), '--disableTelemetry', '--silent');
  if (options.location) {
    mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
  } else {
    args.push('--inMemoryPersistence');
  }
  const env: NodeJS.ProcessEnv = { ...process.env, AZURITE_PARENT_PID: String(process.pid) };
  if (options.autosaveMs) env.AZURITE_AUTOSAVE_MS = String(options.autosaveMs);
  else delete env.AZURITE_AUTOSAVE_MS;

  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitUntilReady(child, options.startTimeoutMs ?? 15_000);
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;

  let stopping: Promise<void> | undefined;
  return {
    service,
    port,
    pid: child.pid!,
    exited,
    get hasExited() {
      return hasExited();
    },
    stop(deadlineMs = 10_000) {
      stopping ??= (async () => {
        if (hasExited()) return;
        // Azurite saves its data on a graceful close, which it does on SIGINT or an IPC "shutdown" (not on
        // SIGTERM: that would lose the writes since the last save). The guard exits once it has closed.
        if (child.connected) child.send('shutdown');
        else child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
    async kill() {
      if (!hasExited()) child.kill('SIGKILL');
      await exited;
    },
  };
}

function waitUntilReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Azurite did not start within ${timeoutMs} ms: ${output.slice(-500)}`));
    }, timeoutMs);
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited before it was ready (code ${code}, signal ${signal}): ${output.slice(-500)}`));
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/successfully (started|listens)/.test(output)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
        // Keep draining so a chatty child never blocks on a full pipe.
        child.stdout?.on('data', () => undefined);
        child.stderr?.resume();
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', onExit);
  });
}
