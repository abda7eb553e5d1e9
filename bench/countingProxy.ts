import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { azuriteConnectionString } from '../src/storage/embeddedAzurite';

/** Requests Azurite answered through the proxy, by "<table> <operation>", since the last reset. */
export interface ProxyCounts {
  total: number;
  byOperation: Record<string, number>;
  /** "<operation> -> <status>" for answers >= 400 (412 and 409 are the retries and duplicates worth seeing). */
  failures: Record<string, number>;
}

export interface ProxyWorkerData {
  targetPort: number;
  tablePrefix: string;
  /** Added before each request is forwarded: one storage round trip's network time (8 ms ~ in-region Azure). */
  delayMs: number;
}

export type ProxyRequest = { type: 'snapshot'; id: number; reset: boolean } | { type: 'delay'; ms: number } | { type: 'close' };
type ProxyReply = { type: 'listening'; port: number } | { type: 'snapshot'; id: number; counts: ProxyCounts } | { type: 'closed' };

export interface CountingProxy {
  /** An Azurite connection string whose table endpoint is the proxy. */
  readonly connectionString: string;
  /** The counts so far; `reset` starts a new count. */
  snapshot(reset?: boolean): Promise<ProxyCounts>;
  /** From now on each request waits this long before it is forwarded. */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

/**
 * A request-counting loopback proxy in front of Azurite, on a worker thread. Counting what Azurite actually
 * receives (rather than what the code meant to send) includes SDK retries, and a transaction counts once, as the
 * one round trip it is.
 */
export async function startCountingProxy(targetPort: number, tablePrefix = '', delayMs = 0): Promise<CountingProxy> {
  // tsx's loader hooks do not reach workers; its CommonJS hook, required first, does.
  const entry = path.join(__dirname, 'countingProxy.worker.ts');
  const workerData: ProxyWorkerData = { targetPort, tablePrefix, delayMs };
  const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(entry)});`, { eval: true, workerData });
  const waiting = new Map<number, (counts: ProxyCounts) => void>();
  let onClosed: (() => void) | undefined;
  let nextId = 1;

  const port = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (reply: ProxyReply) => {
      if (reply.type === 'listening') resolve(reply.port);
      else if (reply.type === 'snapshot') {
        waiting.get(reply.id)?.(reply.counts);
        waiting.delete(reply.id);
      } else onClosed?.();
    });
  });

  return {
    connectionString: azuriteConnectionString(port),
    setDelay(ms) {
      worker.postMessage({ type: 'delay', ms } satisfies ProxyRequest);
    },
    snapshot(reset = false) {
      const id = nextId++;
      return new Promise<ProxyCounts>((resolve) => {
        waiting.set(id, resolve);
        worker.postMessage({ type: 'snapshot', id, reset } satisfies ProxyRequest);
      });
    },
    async close() {
      await new Promise<void>((resolve) => {
        onClosed = resolve;
        worker.postMessage({ type: 'close' } satisfies ProxyRequest);
      });
      await worker.terminate();
    },
  };
}

/** Counts `b - a`, per operation. */
export function countsBetween(a: ProxyCounts, b: ProxyCounts): ProxyCounts {
  const diff = (before: Record<string, number>, after: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(after)
        .map(([k, v]) => [k, v - (before[k] ?? 0)])
        .filter(([, v]) => v !== 0),
    );
  return { total: b.total - a.total, byOperation: diff(a.byOperation, b.byOperation), failures: diff(a.failures, b.failures) };
}
