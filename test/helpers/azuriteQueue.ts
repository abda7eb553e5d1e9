import { spawn } from 'node:child_process';
import { AZURITE_ACCOUNT, freeLoopbackPort } from '../../src/storage/embeddedAzurite';

/**
 * Azurite's queue service for the delivery engine's tests: in memory, loopback, telemetry off, one per mocha run
 * (stopped by the root hook). The embedded launcher will start it beside the table service; until then the
 * tests start it here and append its endpoint to the table connection string.
 */
export interface AzuriteQueue {
  readonly port: number;
  readonly pid: number;
  /** `QueueEndpoint=...;` to append to an Azurite connection string. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

let shared: Promise<AzuriteQueue> | undefined;

export function sharedAzuriteQueue(): Promise<AzuriteQueue> {
  shared ??= startAzuriteQueue();
  return shared;
}

export async function stopSharedAzuriteQueue(): Promise<void> {
  if (shared) {
    const queue = await shared;
    shared = undefined;
    await queue.stop();
  }
}

/** Adds the queue endpoint to a table-only Azurite connection string. */
export async function withQueueEndpoint(connectionString: string): Promise<string> {
  const queue = await sharedAzuriteQueue();
  return `${connectionString.replace(/;?$/, ';')}${queue.endpoint}`;
}

export async function startAzuriteQueue(timeoutMs = 15_000): Promise<AzuriteQueue> {
  const port = await freeLoopbackPort();
  const main = require.resolve('azurite/dist/src/queue/main.js');
  const child = spawn(
    process.execPath,
    [main, '--queueHost', '127.0.0.1', '--queuePort', String(port), '--inMemoryPersistence', '--disableTelemetry', '--silent'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Azurite queue did not start within ${timeoutMs} ms: ${output.slice(-500)}`));
    }, timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`Azurite queue exited before it was ready (code ${code}): ${output.slice(-500)}`));
    };
    child.once('exit', onExit);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (/successfully (started|listens)/.test(output)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        output = '';
        resolve();
      }
    });
  });
  let stopped: Promise<void> | undefined;
  return {
    port,
    pid: child.pid!,
    endpoint: `QueueEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        // In memory: nothing to save, so a plain signal is enough.
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      });
      return stopped;
    },
  };
}
