import { randomBytes } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { isAlreadyExists } from './tables';

/**
 * The base secret for HMAC derivations. Production sets APP_SECRET from a vault; a local run generates one
 * once and keeps it in the settings table, so invite links and download links survive a restart. Two
 * instances starting at once agree on one secret: the first insert wins and the other reads it.
 */
export async function loadOrCreateAppSecret(settings: TableClient, configured?: string): Promise<string> {
  if (configured) return configured;
  const candidate = randomBytes(32).toString('base64url');
  try {
    await settings.createEntity({ partitionKey: 'secrets', rowKey: 'app', value: candidate });
    return candidate;
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const stored = await settings.getEntity<{ value: string }>('secrets', 'app');
    return stored.value;
  }
}
