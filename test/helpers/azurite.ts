import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { azuriteConnectionString, startEmbeddedAzurite, type EmbeddedAzurite } from '../../src/storage/embeddedAzurite';
import { createTableClients, ensureTables, type TableClients } from '../../src/storage/tables';

/**
 * One in-memory Azurite for the whole mocha run, shared by every suite; each suite gets its own table prefix, so
 * suites never see each other's rows.
 *
 * globalFixtures.ts starts it once in mocha's main process (mochaGlobalSetup) and hands its ports to the parallel
 * workers through SHARED_AZURITE_ENV; a process without that (a script, or a walkthrough in its own network
 * namespace, where the main process's loopback is not reachable) starts its own, lazily, on first use.
 */
let shared: Promise<EmbeddedAzurite> | undefined;

export const SHARED_AZURITE_ENV = 'KAIZALA_TEST_SHARED_AZURITE';

interface SharedAzuriteAddress {
  port: number;
  queuePort?: number;
  /** The network namespace it listens in (its loopback is only reachable from there). */
  netns: string;
}

function networkNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/net');
  } catch {
    return 'unknown';
  }
}

/** The Azurite another process of this run started and shares, when this process can reach it. */
function inheritedAzurite(): EmbeddedAzurite | undefined {
  const text = process.env[SHARED_AZURITE_ENV];
  if (!text) return undefined;
  const address = JSON.parse(text) as SharedAzuriteAddress;
  if (address.netns !== networkNamespace()) return undefined;
  return {
    connectionString: azuriteConnectionString(address.port, address.queuePort),
    port: address.port,
    pid: 0,
    queuePort: address.queuePort,
    healthy: () => true,
    restarts: () => 0,
    shuttingDown: () => undefined,
    // Not ours to stop: the process that started it does.
    stop: async () => undefined,
  };
}

export function sharedAzurite(): Promise<EmbeddedAzurite> {
  shared ??= Promise.resolve(inheritedAzurite() ?? startEmbeddedAzurite({ queue: true }));
  return shared;
}

/** Starts the shared Azurite in this process and tells child processes (mocha's workers) where it is. */
export async function shareAzuriteWithChildren(): Promise<void> {
  const azurite = await sharedAzurite();
  const address: SharedAzuriteAddress = { port: azurite.port, queuePort: azurite.queuePort, netns: networkNamespace() };
  process.env[SHARED_AZURITE_ENV] = JSON.stringify(address);
}

export async function stopSharedAzurite(): Promise<void> {
  if (shared) {
    const azurite = await shared;
    shared = undefined;
    await azurite.stop();
  }
}

export function uniquePrefix(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

/** Fresh, created tables with a unique prefix on the shared Azurite. */
export async function freshTables(): Promise<{ clients: TableClients; connectionString: string; prefix: string }> {
  const azurite = await sharedAzurite();
  const prefix = uniquePrefix();
  const clients = createTableClients({ connectionString: azurite.connectionString, prefix });
  await ensureTables(clients);
  return { clients, connectionString: azurite.connectionString, prefix };
}
