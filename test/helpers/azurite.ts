import { randomBytes } from 'node:crypto';
import { startEmbeddedAzurite, type EmbeddedAzurite } from '../../src/storage/embeddedAzurite';
import { createTableClients, ensureTables, type TableClients } from '../../src/storage/tables';

/**
 * One in-memory Azurite for the whole mocha run (started lazily by the first suite that asks, stopped by the
 * root hook in globalFixtures.ts). Each suite gets its own table prefix, so suites never see each other's rows.
 */
let shared: Promise<EmbeddedAzurite> | undefined;

export function sharedAzurite(): Promise<EmbeddedAzurite> {
  shared ??= startEmbeddedAzurite({ queue: true });
  return shared;
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
