import { RestError, type TransactionAction } from '@azure/data-tables';

/**
 * One table of Table Storage, in memory, with the rules the service enforces (checked against Azurite in
 * test/storage/transactionContract.test.ts): a create of an existing row is 409, a write at a stale eTag is
 * 412, a change of a missing row is 404, and an entity-group transaction is all or nothing, holds at most 100
 * actions of ONE partition, each row at most once. Failures are RestErrors shaped as the SDK's, so the one
 * reader of storage errors (storageFailureOf in tables.ts) understands both. Used by MemoryGroupStore.
 */
export const MAX_TRANSACTION_ACTIONS = 100;

export type Row = Record<string, unknown> & { partitionKey: string; rowKey: string };
export type StoredRow = Row & { etag: string };

export interface TransactionResult {
  getResponseForEntity(rowKey: string): { etag?: string } | undefined;
}

let etagCounter = 0;
const nextEtag = () => `W/"memory-${++etagCounter}"`;

function fail(status: number, code: string, message: string, actionIndex?: number): RestError {
  return new RestError(actionIndex === undefined ? message : `${actionIndex}:${message}`, { statusCode: status, code });
}

export class MemoryTable {
  private readonly partitions = new Map<string, Map<string, StoredRow>>();

  /** A copy of the row, or undefined. */
  get(partitionKey: string, rowKey: string): StoredRow | undefined {
    const row = this.partitions.get(partitionKey)?.get(rowKey);
    return row ? { ...row } : undefined;
  }

  /** Copies of a partition's rows with RowKey in [from, to), in key order. */
  range(partitionKey: string, from = '', to = '\uffff'): StoredRow[] {
    const rows = [...(this.partitions.get(partitionKey)?.values() ?? [])].filter((r) => r.rowKey >= from && r.rowKey < to);
    return rows.sort((a, b) => (a.rowKey < b.rowKey ? -1 : a.rowKey > b.rowKey ? 1 : 0)).map((r) => ({ ...r }));
  }

  /** Row keys of a partition (for tests and clean-up). */
  rowKeys(partitionKey: string): string[] {
    return this.range(partitionKey).map((r) => r.rowKey);
  }

  async createEntity(entity: Row): Promise<void> {
    this.apply([['create', entity]], false);
  }

  async upsertEntity(entity: Row, mode: 'Merge' | 'Replace' = 'Merge'): Promise<void> {
    this.apply([['upsert', entity, mode]], false);
  }

  async updateEntity(entity: Row, mode: 'Merge' | 'Replace' = 'Merge', options?: { etag?: string }): Promise<void> {
    this.apply([['update', entity, mode, options ?? {}]], false);
  }

  async deleteEntity(partitionKey: string, rowKey: string, options?: { etag?: string }): Promise<void> {
    const row = this.partitions.get(partitionKey)?.get(rowKey);
    if (!row) throw fail(404, 'ResourceNotFound', 'The specified resource does not exist.');
    if (options?.etag && options.etag !== '*' && options.etag !== row.etag) {
      throw fail(412, 'UpdateConditionNotSatisfied', 'The update condition specified in the request was not satisfied.');
    }
    this.partitions.get(partitionKey)!.delete(rowKey);
  }

  /** An entity-group transaction: every action or none. */
  async submitTransaction(actions: readonly TransactionAction[]): Promise<TransactionResult> {
    const etags = this.apply(actions, true);
    return { getResponseForEntity: (rowKey) => (etags.has(rowKey) ? { etag: etags.get(rowKey) } : undefined) };
  }

  /** Checks every action against a scratch copy of the partition, then swaps it in: atomic by construction. */
  private apply(actions: readonly TransactionAction[], transaction: boolean): Map<string, string> {
    const index = (i: number) => (transaction ? i : undefined);
    const partitionKey = actions[0]?.[1].partitionKey;
    if (partitionKey === undefined) throw new TypeError('A transaction needs at least one action');
    if (actions.some(([, entity]) => entity.partitionKey !== partitionKey)) {
      throw new Error('All operations in a transaction must target the same partitionKey');
    }
    if (actions.length > MAX_TRANSACTION_ACTIONS) {
      throw fail(
        400,
        'InvalidInput',
        `The batch request operation exceeds the maximum ${MAX_TRANSACTION_ACTIONS} changes per change set.`,
        0,
      );
    }
    const scratch = new Map(this.partitions.get(partitionKey) ?? []);
    const seen = new Set<string>();
    const etags = new Map<string, string>();
    actions.forEach((action, i) => {
      const [kind, entity] = action;
      const rowKey = String(entity.rowKey);
      if (seen.has(rowKey)) {
        throw fail(400, 'InvalidDuplicateRow', `A command with RowKey '${rowKey}' is already present in the batch.`, index(i));
      }
      seen.add(rowKey);
      const existing = scratch.get(rowKey);
      const fields = { ...entity, partitionKey, rowKey } as Row;
      delete fields.etag;
      if (kind === 'create') {
        if (existing) throw fail(409, 'EntityAlreadyExists', 'The specified entity already exists.', index(i));
        scratch.set(rowKey, { ...fields, etag: nextEtag() });
      } else if (kind === 'delete') {
        if (!existing) throw fail(404, 'ResourceNotFound', 'The specified resource does not exist.', index(i));
        scratch.delete(rowKey);
      } else {
        const mode = action[2] ?? 'Merge';
        if (kind === 'update') {
          if (!existing) throw fail(404, 'ResourceNotFound', 'The specified resource does not exist.', index(i));
          const etag = (action[3] as { etag?: string } | undefined)?.etag ?? '*';
          if (etag !== '*' && etag !== existing.etag) {
            throw fail(412, 'UpdateConditionNotSatisfied', 'The update condition specified in the request was not satisfied.', index(i));
          }
        }
        const merged = mode === 'Merge' && existing ? { ...existing, ...fields } : fields;
        scratch.set(rowKey, { ...merged, etag: nextEtag() });
      }
      const written = scratch.get(rowKey);
      if (written) etags.set(rowKey, written.etag);
    });
    this.partitions.set(partitionKey, scratch);
    return etags;
  }
}
