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
