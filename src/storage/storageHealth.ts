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

/**
 * Healthy only while the embedded store's children are (not down, answering, not being replaced) and `check`
 * passes. A check during which a child was replaced spanned an outage (the SDK's retries can hide one), so it
 * counts as unhealthy too.
 */
export function withEmbeddedHealth(
  store: { healthy(): boolean; restarts(): number },
  check: () => Promise<boolean>,
): () => Promise<boolean> {
  return async () => {
    const restarts = store.restarts();
    if (!store.healthy()) return false;
    const ok = await check();
    return ok && store.healthy() && store.restarts() === restarts;
  };
}
