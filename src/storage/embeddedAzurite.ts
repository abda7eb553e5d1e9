import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger';
import type { AzuriteService } from './azuriteChild';
import { AzuriteSupervisor, type SupervisionOptions } from './azuriteSupervisor';

/** Azurite's well-known development account; public by design, not a secret. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/**
 * How often the embedded store saves to disk at most (Azurite's own interval is 5000 ms): this bounds what a
 * kill of the storage process can lose. The interval grows with the time a save takes, so that saving never
 * costs more than about a tenth of the storage process's time (see azuriteOrphanGuard.cjs and the README).
 */
export const EMBEDDED_AUTOSAVE_MS = 500;

export interface EmbeddedAzuriteOptions {
  /** Folder for the data; omitted = in memory (tests). */
  location?: string;
  port?: number;
  /**
   * Ports a chosen port must not be: the bot's own, picked free by whoever started it but not yet listened on
   * (the operating system may hand the same free port out twice).
   */
  avoidPorts?: readonly number[];
  /** Also run Azurite's queue service (its endpoint goes into the connection string). */
  queue?: boolean;
  queuePort?: number;
  /** Folder for `azurite-table.pid` and `azurite-queue.pid` (the running children's pids). */
  pidDir?: string;
  /** Save interval for a persisted store; defaults to EMBEDDED_AUTOSAVE_MS. */
  autosaveMs?: number;
  logger?: Logger;
  startTimeoutMs?: number;
  supervision?: SupervisionOptions;
  /** Called after a storage child was replaced (it may lack its last unsaved writes): drop caches here. */
  onRestart?: (service: AzuriteService) => void;
}

export interface EmbeddedAzurite {
  readonly connectionString: string;
  readonly port: number;
  /** The table service's current process (it changes when the child is replaced). */
  readonly pid: number;
  readonly queuePort?: number;
  readonly queuePid?: number;
  /** False while a storage child is down, not answering, or being replaced. */
  healthy(): boolean;
  /** How many times a storage child was replaced so far. */
  restarts(): number;
  /** The bot is stopping: from now on a storage child that exits is not replaced (stop() follows). */
  shuttingDown(): void;
  stop(): Promise<void>;
}

export function azuriteConnectionString(port: number, queuePort?: number): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
    `TableEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};` +
    (queuePort ? `QueueEndpoint=http://127.0.0.1:${queuePort}/${AZURITE_ACCOUNT};` : '')
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

async function freeLoopbackPortExcept(taken: ReadonlySet<number>): Promise<number> {
  for (;;) {
    const port = await freeLoopbackPort();
    if (!taken.has(port)) return port;
  }
}

/**
 * Starts Azurite's table service (and, with `queue`, its queue service) as supervised child processes on
 * loopback: each is replaced on the same port and folder when it dies or stops answering.
 */
export async function startEmbeddedAzurite(options: EmbeddedAzuriteOptions = {}): Promise<EmbeddedAzurite> {
  const start = async (service: AzuriteService, port: number) =>
    AzuriteSupervisor.start({
      service,
      port,
      location: options.location,
      autosaveMs: options.location ? (options.autosaveMs ?? EMBEDDED_AUTOSAVE_MS) : undefined,
      startTimeoutMs: options.startTimeoutMs,
      pidFile: options.pidDir ? path.join(options.pidDir, `azurite-${service}.pid`) : undefined,
      logger: options.logger,
      supervision: options.supervision,
      onRestart: options.onRestart,
    });

  const taken = new Set(options.avoidPorts ?? []);
  const tablePort = options.port ?? (await freeLoopbackPortExcept(taken));
  taken.add(tablePort);
  const queuePort = options.queue ? (options.queuePort ?? (await freeLoopbackPortExcept(taken))) : undefined;
  const [table, queue] = await Promise.allSettled([start('table', tablePort), queuePort ? start('queue', queuePort) : undefined]);
  if (table.status === 'rejected' || queue.status === 'rejected') {
    if (table.status === 'fulfilled') await table.value.stop();
    if (queue.status === 'fulfilled') await queue.value?.stop();
    throw table.status === 'rejected' ? table.reason : (queue as PromiseRejectedResult).reason;
  }
  const services = [table.value, queue.value].filter((s): s is AzuriteSupervisor => Boolean(s));
  options.logger?.info(
    { port: tablePort, queuePort, persisted: Boolean(options.location), pid: table.value.pid, queuePid: queue.value?.pid },
    'embedded Azurite started',
  );

  let stopped: Promise<void> | undefined;
  return {
    connectionString: azuriteConnectionString(tablePort, queuePort),
    port: tablePort,
    get pid() {
      return table.value.pid;
    },
    queuePort,
    get queuePid() {
      return queue.value?.pid;
    },
    healthy: () => services.every((s) => s.healthy),
    restarts: () => services.reduce((sum, s) => sum + s.restarts, 0),
    shuttingDown: () => services.forEach((s) => s.shuttingDown()),
    stop() {
      stopped ??= Promise.all(services.map((s) => s.stop())).then(() => undefined);
      return stopped;
    },
  };
}
