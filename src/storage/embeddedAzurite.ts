import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger';

/** Azurite's well-known development account; public by design, not a secret. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface EmbeddedAzuriteOptions {
  /** Folder for the data; omitted = in memory (tests). */
  location?: string;
  port?: number;
  logger?: Logger;
  startTimeoutMs?: number;
}

export interface EmbeddedAzurite {
  readonly connectionString: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export function azuriteConnectionString(port: number): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
    `TableEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`
  );
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts Azurite's table service as a child process on loopback, telemetry off. A child rather than in-process
 * so that the storage work runs on the second core, as a real storage account would run elsewhere.
 */
export async function startEmbeddedAzurite(options: EmbeddedAzuriteOptions = {}): Promise<EmbeddedAzurite> {
  const port = options.port ?? (await freeLoopbackPort());
  const main = require.resolve('azurite/dist/src/table/main.js');
  const args = [
    '--require',
    path.join(__dirname, 'azuriteOrphanGuard.cjs'),
    main,
    '--tableHost',
    '127.0.0.1',
    '--tablePort',
    String(port),
    '--disableTelemetry',
    '--silent',
  ];
  if (options.location) {
    mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
  } else {
    args.push('--inMemoryPersistence');
  }

  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  await waitUntilReady(child, options.startTimeoutMs ?? 15_000);
  options.logger?.info({ port, persisted: Boolean(options.location), pid: child.pid }, 'embedded Azurite table service started');

  let stopped: Promise<void> | undefined;
  return {
    connectionString: azuriteConnectionString(port),
    port,
    pid: child.pid!,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        // Azurite saves its data on a graceful close, which it does on SIGINT or an IPC "shutdown" (not on
        // SIGTERM: that would lose up to 5 s of writes). Once closed, it is ended by signal.
        child.stdout?.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('successfully closed')) child.kill('SIGTERM');
        });
        if (child.connected) child.send('shutdown');
        else child.kill('SIGINT');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      });
      return stopped;
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
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('successfully started')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        // Keep draining so a chatty child never blocks on a full pipe.
        child.stdout?.on('data', () => undefined);
        child.stderr?.resume();
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited before it was ready (code ${code}, signal ${signal}): ${output.slice(-500)}`));
    });
  });
}
