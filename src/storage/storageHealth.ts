import type { TableClient } from '@azure/data-tables';
import { isNotFound } from './tables';

/** True when a point read comes back (404 counts: the service answered) within the timeout. */
export function createStorageHealthCheck(table: TableClient, timeoutMs = 2_000): () => Promise<boolean> {
  return async () => {
    try {
      await table.getEntity('health', 'probe', { abortSignal: AbortSignal.timeout(timeoutMs) });
      return true;
    } catch (err) {
      return isNotFound(err);
    }
  };
}

/** Healthy only while the embedded store's children are (not down, answering, not being replaced) and `check` passes. */
export function withEmbeddedHealth(store: { healthy(): boolean }, check: () => Promise<boolean>): () => Promise<boolean> {
  return async () => store.healthy() && (await check());
}
