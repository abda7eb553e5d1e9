import type { TableClient } from '@azure/data-tables';
import { isNotFound, TableRepository } from './tables';

/** Entity-group transactions take at most 100 operations. */
const MAX_BATCH = 100;
/** Parallel single deletes when a transactional delete met a row someone else deleted. */
const SINGLE_DELETE_CONCURRENCY = 8;

/**
 * Deletes rows of one partition in transactions of 100. Transactional deletes are unconditional (the SDK
 * sends no If-Match for them); callers use this only for rows that must go whatever they hold (a group that
 * is already gone, posts past their retention).
 */
export async function deleteRows(table: TableClient, partitionKey: string, rowKeys: readonly string[]): Promise<void> {
  for (let i = 0; i < rowKeys.length; i += MAX_BATCH) {
    const chunk = rowKeys.slice(i, i + MAX_BATCH);
    try {
      await table.submitTransaction(chunk.map((rowKey) => ['delete', { partitionKey, rowKey }]));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // Someone else deleted one of them (two clean-ups at once): fall back to one by one, 404 = done.
      const repository = new TableRepository<object>(table);
      await forEachLimited(chunk, SINGLE_DELETE_CONCURRENCY, (rowKey) => repository.delete(partitionKey, rowKey, '*'));
    }
  }
}

/** Runs `work` over the items with at most `limit` of them in flight at once. */
export async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(workers);
}
