import { TableClient, type TableEntity, type TableEntityResult, odata, RestError } from '@azure/data-tables';
import { ConcurrentWriteError, StalePageError } from '../errors';
import { DEFAULT_STORAGE_TIMEOUT_MS, storageClientOptions } from './storageDeadline';

/**
 * The tables of the application. Each name is prefixed so that several independent stores (tests, a staging
 * slot) can share one account. The audit trail lives in each group's own partition of `groups` (written in the
 * same transaction as the change it records), not in a table of its own.
 */
export const TABLE_NAMES = [
  'groups',
  'invites',
  'usergroups',
  'orggroups',
  'botstate',
  'dedup',
  'photos',
  'settings',
  'limits',
  // Posts (issue 10): request key -> group of the post it made (edits arrive without the group).
  'postsources',
  // The delivery engine (src/delivery/): per-post delivery records, posts with unfinished fan-out, tenant lane leases.
  'deliveries',
  'outbox',
  'lanes',
  // Bulk add (src/bulkadd/): jobs, their rows and leases.
  'bulkjobs',
  // Announcements and polls (src/actions/): the action, who answered, the tallies.
  'actions',
  // Importing chat exports (src/import/): uploads between preview and Import, then the import job they become.
  'importuploads',
] as const;
export type TableName = (typeof TABLE_NAMES)[number];

export type TableClients = Readonly<Record<TableName, TableClient>>;

export interface TableServiceOptions {
  connectionString: string;
  /** Letters and digits only; Azure table names are alphanumeric. */
  prefix?: string;
  /** Bound of every storage call, the SDK's retries included (STORAGE_TIMEOUT_MS); see storageDeadline.ts. */
  timeoutMs?: number;
}

export function createTableClients({
  connectionString,
  prefix = '',
  timeoutMs = DEFAULT_STORAGE_TIMEOUT_MS,
}: TableServiceOptions): TableClients {
  if (!/^[A-Za-z0-9]*$/.test(prefix)) throw new Error('Table prefix must be letters and digits only');
  // Plain-http endpoints are only ever Azurite on this machine; a real account's connection string is https.
  const allowInsecureConnection = /TableEndpoint=http:\/\/|UseDevelopmentStorage=true/i.test(connectionString);
  const clients = {} as Record<TableName, TableClient>;
  for (const name of TABLE_NAMES) {
    clients[name] = TableClient.fromConnectionString(connectionString, `${prefix}${name}`, {
      allowInsecureConnection,
      ...storageClientOptions(timeoutMs),
    });
  }
  return Object.freeze(clients);
}

/** Creates every table; an existing table is success, any other failure is not. */
export async function ensureTables(clients: TableClients): Promise<void> {
  await Promise.all(
    Object.values(clients).map(async (client) => {
      try {
        await client.createTable();
      } catch (err) {
        if (statusOf(err) !== 409) throw err;
      }
    }),
  );
}

/** What a failed storage call means: its HTTP status and, for an entity-group transaction, the failed action. */
export interface StorageFailure {
  status?: number;
  /** The index of the action that failed a transaction (0-based), when the service says which. */
  failedAction?: number;
}

/**
 * The one place that reads a storage error. Single-entity errors leave `code` undefined, so the status is what
 * counts; a failed transaction names its failing action only at the start of its message ("1:The specified
 * entity already exists..."), so that is read here, once, and nowhere else.
 */
export function storageFailureOf(err: unknown): StorageFailure {
  const { statusCode, code } = (err ?? {}) as { statusCode?: number; code?: string };
  // The service's error code stands in for a status the SDK did not set.
  const status = (err instanceof RestError ? err.statusCode : statusCode) ?? (code ? STATUS_OF_CODE[code] : undefined);
  const match = /^(\d+):/.exec(err instanceof Error ? err.message : '');
  return { status, failedAction: match ? Number(match[1]) : undefined };
}

const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  EntityAlreadyExists: 409,
  UpdateConditionNotSatisfied: 412,
  ResourceNotFound: 404,
};

/** The HTTP status of a storage error. */
export function statusOf(err: unknown): number | undefined {
  return storageFailureOf(err).status;
}

/** The index of the action that failed a transaction, when the service named it. */
export function failedActionOf(err: unknown): number | undefined {
  return storageFailureOf(err).failedAction;
}

export const isNotFound = (err: unknown) => statusOf(err) === 404;
export const isAlreadyExists = (err: unknown) => statusOf(err) === 409;
export const isPreconditionFailed = (err: unknown) => statusOf(err) === 412;

/** A stored entity with the eTag it was read at. */
export type Stored<T extends object> = T & { partitionKey: string; rowKey: string; etag: string };

/**
 * A thin base for repositories: typed point reads that return undefined on 404, inserts that report "already
 * there" instead of throwing, and updates that always carry the eTag they read (the SDK's default is `*`, an
 * unconditional write that loses concurrent changes).
 */
export class TableRepository<T extends object> {
  constructor(protected readonly table: TableClient) {}

  async find(partitionKey: string, rowKey: string): Promise<Stored<T> | undefined> {
    try {
      const entity = await this.table.getEntity<T>(partitionKey, rowKey);
      return entity as Stored<T>;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Inserts; returns false when the key exists already. */
  async insert(entity: TableEntity<T>): Promise<boolean> {
    try {
      await this.table.createEntity(entity);
      return true;
    } catch (err) {
      if (isAlreadyExists(err)) return false;
      throw err;
    }
  }

  /** Replaces or merges an entity read earlier; throws ConcurrentWriteError (a ConflictError) when someone changed it since. */
  async update(entity: TableEntity<T> & { etag: string }, mode: 'Merge' | 'Replace' = 'Merge'): Promise<string> {
    const { etag, ...rest } = entity;
    try {
      const result = await this.table.updateEntity(rest as TableEntity<T>, mode, { etag });
      return result.etag ?? '';
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err)) {
        throw new ConcurrentWriteError({ cause: err });
      }
      throw err;
    }
  }

  /** Deletes at an eTag ('*' only where the caller means "whatever is there"); a missing entity is success. */
  async delete(partitionKey: string, rowKey: string, etag: string): Promise<void> {
    try {
      await this.table.deleteEntity(partitionKey, rowKey, { etag });
    } catch (err) {
      if (isNotFound(err)) return;
      if (isPreconditionFailed(err)) {
        throw new ConcurrentWriteError({ cause: err });
      }
      throw err;
    }
  }

  /** One page of a partition's rows whose RowKey starts with `rowKeyPrefix`, in key order. */
  async page(
    partitionKey: string,
    rowKeyPrefix: string,
    options: { pageSize: number; continuationToken?: string; below?: string },
  ): Promise<{ items: Stored<T>[]; continuationToken?: string }> {
    assertContinuationToken(options.continuationToken);
    const upper = options.below ?? `${rowKeyPrefix}\uffff`;
    const iterator = this.table
      .listEntities<T>({
        queryOptions: {
          filter: odata`PartitionKey eq ${partitionKey} and RowKey ge ${rowKeyPrefix} and RowKey lt ${upper}`,
        },
      })
      .byPage({ maxPageSize: options.pageSize, continuationToken: options.continuationToken });
    const next = await iterator.next();
    if (next.done) return { items: [] };
    const page = next.value as TableEntityResult<T>[] & { continuationToken?: string };
    return { items: page as unknown as Stored<T>[], continuationToken: page.continuationToken };
  }

  /** Every row of a partition with the prefix; for exports and small partitions only. */
  async *all(partitionKey: string, rowKeyPrefix = ''): AsyncGenerator<Stored<T>> {
    const upper = `${rowKeyPrefix}\uffff`;
    const filter = rowKeyPrefix
      ? odata`PartitionKey eq ${partitionKey} and RowKey ge ${rowKeyPrefix} and RowKey lt ${upper}`
      : odata`PartitionKey eq ${partitionKey}`;
    for await (const entity of this.table.listEntities<T>({ queryOptions: { filter } })) {
      yield entity as unknown as Stored<T>;
    }
  }
}

/** Tokens come back from clients (a card button, the tab's query string): a damaged one is their mistake. */
export function assertContinuationToken(token: string | undefined): void {
  if (token !== undefined && !isContinuationToken(token)) throw new StalePageError();
}

/** The SDK's continuation token: base64 of `{"nextPartitionKey":"…","nextRowKey":"…"}`. The SDK throws a bare
 * SyntaxError on anything else, which would be a 500 for what is bad input. */
function isContinuationToken(token: string): boolean {
  if (typeof token !== 'string' || token.length === 0 || token.length > 4096 || !/^[A-Za-z0-9+/_-]+=*$/.test(token)) return false;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('latin1')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return false;
    const { nextPartitionKey, nextRowKey } = parsed as Record<string, unknown>;
    return typeof nextPartitionKey === 'string' && (nextRowKey === undefined || typeof nextRowKey === 'string');
  } catch {
    return false;
  }
}
