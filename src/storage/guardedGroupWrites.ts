import type { TransactionAction } from '@azure/data-tables';
import { ConcurrentChangeError } from '../groups/ports';
import { GROUP_ROW } from './groupPartition';
import { isNotFound, isPreconditionFailed } from './tables';

/** What the guarded writes need of a table: Table Storage's client, or the in-memory table of MemoryGroupStore. */
export interface GroupPartitionTable {
  submitTransaction(actions: TransactionAction[]): Promise<unknown>;
  deleteEntity(partitionKey: string, rowKey: string, options: { etag: string }): Promise<unknown>;
}

/**
 * A change of a group guarded by its group row's eTag (the caller's version): a stale version (412) or a group
 * gone meanwhile (404) is a ConcurrentChangeError, for the service to re-read and re-decide. The rule of both
 * group stores, stated once.
 */
export async function submitGroupChange(table: GroupPartitionTable, actions: TransactionAction[]): Promise<void> {
  try {
    await table.submitTransaction(actions);
  } catch (err) {
    if (isPreconditionFailed(err) || isNotFound(err)) throw new ConcurrentChangeError({ cause: err });
    throw err;
  }
}

/**
 * Deletes the group row at the caller's version: an admin change or a mapping since the caller's read must be
 * seen before deleting. A row already gone is fine (an interrupted clean-up being finished).
 */
export async function deleteGroupRow(table: GroupPartitionTable, groupId: string, version: string): Promise<void> {
  try {
    await table.deleteEntity(groupId, GROUP_ROW, { etag: version });
  } catch (err) {
    if (isPreconditionFailed(err)) throw new ConcurrentChangeError({ cause: err });
    if (!isNotFound(err)) throw err;
  }
}
