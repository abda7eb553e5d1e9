import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import type { BeginOutcome, ImportedPage, ImportProgress, ImportRecord, ImportStore, StoredImport } from '../import/ports';
import type { ExportSource, ImportedKind } from '../import/model';
import { defined } from './groupEntities';
import { deleteRows } from './partitionSweep';
import { isAlreadyExists, TableRepository, type TableClients } from './tables';

/*
 * Layout (issue 20). Imported history lives in the group's partition of `groups`, beside the live posts and
 * apart from them, so live sequence numbers, the counter and delivery never see it:
 *
 *   RowKey 'import|<importId>'    the import: source, file, content hash, who, when, state (running|done), count.
 *   RowKey 'imphash|<sha256>'     { importId }: the same chat imported twice is one import.
 *   RowKey 'implock'              { importId }: one import at a time per group. Inserted with the two rows
 *                                 above in one transaction; deleted when the import is done.
 *   RowKey 'imp|<inverted original time>|<importId>|<inverted index>'
 *                                 one imported message. Inverted so that a forward scan (the only order Table
 *                                 Storage reads) is newest first: a history page is the next N keys after the
 *                                 cursor, whatever the number of imports, in original time order across them.
 *                                 The key is a function of (import, index): a resumed import rewrites the
 *                                 same rows (upsert), so each message is stored once.
 *
 * 'imp|' sorts apart from 'import|', 'imphash|' and 'implock' ('|' is after every letter), so each prefix range
 * reads one kind of row.
 */

export const IMPORTED_PREFIX = 'imp|';
const IMPORTED_RANGE_END = 'imp}';
const RECORD_PREFIX = 'import|';
const HASH_PREFIX = 'imphash|';
const LOCK_ROW = 'implock';
const MAX_BATCH = 100;
const MAX_MS = 9_999_999_999_999;
const MAX_INDEX = 999_999;

export function importedRowKey(message: Pick<StoredImport, 'at' | 'importId' | 'index'>): string {
  const time = String(MAX_MS - Date.parse(message.at)).padStart(13, '0');
  return `${IMPORTED_PREFIX}${time}|${message.importId}|${String(MAX_INDEX - message.index).padStart(6, '0')}`;
}

interface RecordEntity {
  importId: string;
  source: ExportSource;
  fileName: string;
  contentHash: string;
  byId: string;
  byName: string;
  startedAt: string;
  state: 'running' | 'done';
  count: number;
  first?: string;
  last?: string;
}

interface ImportedEntity {
  importId: string;
  index: number;
  source: ExportSource;
  at: string;
  sender: string;
  text: string;
  kind: ImportedKind;
  fileName?: string;
  replyToName?: string;
  replyPreview?: string;
  memberId?: string;
  memberName?: string;
}

export class TableImportStore implements ImportStore {
  private readonly table: TableClient;
  private readonly records: TableRepository<RecordEntity>;
  private readonly pointers: TableRepository<{ importId: string }>;

  constructor(tables: Pick<TableClients, 'groups'>) {
    this.table = tables.groups;
    this.records = new TableRepository(tables.groups);
    this.pointers = new TableRepository(tables.groups);
  }

  async begin(record: ImportRecord): Promise<BeginOutcome> {
    const pk = record.groupId;
    try {
      await this.table.submitTransaction([
        ['create', { partitionKey: pk, rowKey: LOCK_ROW, importId: record.importId }],
        ['create', { partitionKey: pk, rowKey: `${HASH_PREFIX}${record.contentHash}`, importId: record.importId }],
        ['create', { partitionKey: pk, rowKey: `${RECORD_PREFIX}${record.importId}`, ...toRecordEntity(record) }],
      ]);
      return { kind: 'started', record };
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    const hash = await this.pointers.find(pk, `${HASH_PREFIX}${record.contentHash}`);
    const earlier = hash && (await this.get(pk, hash.importId));
    if (earlier) return earlier.state === 'done' ? { kind: 'duplicate', record: earlier } : { kind: 'resume', record: earlier };
    const lock = await this.pointers.find(pk, LOCK_ROW);
    const running = lock && (await this.get(pk, lock.importId));
    if (running) return { kind: 'busy', running };
    // The lock went between the write and the reads (the other import finished): try once more.
    return this.begin(record);
  }

  async write(groupId: string, messages: readonly StoredImport[], progress?: ImportProgress): Promise<void> {
    for (let i = 0; i < messages.length; i += MAX_BATCH) {
      const rows = messages.slice(i, i + MAX_BATCH).map((m) => ({ partitionKey: groupId, rowKey: importedRowKey(m), ...toImportedEntity(m) }));
      // Inserts, not upserts: the rows are new (a resumed import clears first). Azurite finds the row an
      // upsert replaces by scanning the whole partition, so 40,000 upserts into one group took minutes, where
      // inserts keep their pace (bench/importBench.ts). Should rows be there after all (two instances on one
      // job after a lost lease), the batch is written again as upserts: same keys, same content.
      try {
        await this.table.submitTransaction(rows.map((row): TransactionAction => ['create', row]));
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        await this.table.submitTransaction(rows.map((row): TransactionAction => ['upsert', row, 'Replace']));
      }
      await progress?.(Math.min(i + MAX_BATCH, messages.length), messages.length);
    }
  }

  async clear(groupId: string, importId: string): Promise<void> {
    await deleteRows(this.table, groupId, await this.messageKeys(groupId, importId));
  }

  async finish(groupId: string, importId: string, summary: Pick<ImportRecord, 'count' | 'first' | 'last'>): Promise<ImportRecord> {
    const entity = defined({ partitionKey: groupId, rowKey: `${RECORD_PREFIX}${importId}`, state: 'done', ...summary });
    await this.table.updateEntity(entity, 'Merge', { etag: '*' });
    await this.pointers.delete(groupId, LOCK_ROW, '*');
    return (await this.get(groupId, importId))!;
  }

  async list(groupId: string): Promise<ImportRecord[]> {
    const out: ImportRecord[] = [];
    for await (const row of this.records.all(groupId, RECORD_PREFIX)) out.push(fromRecordEntity(groupId, row));
    return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  async remove(groupId: string, importId: string): Promise<number> {
    const record = await this.get(groupId, importId);
    if (!record) return 0;
    const keys = await this.messageKeys(groupId, importId);
    await deleteRows(this.table, groupId, keys);
    // The record last: should this fail half-way, the import is still listed and can be removed again.
    const lock = await this.pointers.find(groupId, LOCK_ROW);
    if (lock?.importId === importId) await this.pointers.delete(groupId, LOCK_ROW, '*');
    await this.pointers.delete(groupId, `${HASH_PREFIX}${record.contentHash}`, '*');
    await this.records.delete(groupId, `${RECORD_PREFIX}${importId}`, '*');
    return keys.length;
  }

  async page(groupId: string, options: { before?: string; pageSize: number; visibleFrom?: string }): Promise<ImportedPage> {
    const from = options.before ?? IMPORTED_PREFIX;
    const filter = options.visibleFrom
      ? odata`PartitionKey eq ${groupId} and RowKey gt ${from} and RowKey lt ${IMPORTED_RANGE_END} and at ge ${options.visibleFrom}`
      : odata`PartitionKey eq ${groupId} and RowKey gt ${from} and RowKey lt ${IMPORTED_RANGE_END}`;
    const rows: Array<ImportedEntity & { rowKey: string }> = [];
    // One more than a page: whether there is anything earlier, without a second query.
    for await (const page of this.table
      .listEntities<ImportedEntity>({ queryOptions: { filter } })
      .byPage({ maxPageSize: options.pageSize + 1 })) {
      for (const row of page) if (rows.length <= options.pageSize) rows.push(row as ImportedEntity & { rowKey: string });
      if (rows.length > options.pageSize) break;
    }
    const more = rows.length > options.pageSize;
    const kept = rows.slice(0, options.pageSize);
    const messages = kept.map(fromImportedEntity).reverse();
    return more ? { messages, earlier: kept.at(-1)!.rowKey } : { messages };
  }

  async *all(groupId: string): AsyncIterable<StoredImport> {
    // Stored newest first; an export reads oldest first, so the group's rows are turned around in memory
    // (WhatsApp's own cap, 40,000 messages, is a few MB).
    const rows: StoredImport[] = [];
    const filter = odata`PartitionKey eq ${groupId} and RowKey ge ${IMPORTED_PREFIX} and RowKey lt ${IMPORTED_RANGE_END}`;
    for await (const row of this.table.listEntities<ImportedEntity>({ queryOptions: { filter } })) rows.push(fromImportedEntity(row));
    yield* rows.reverse();
  }

  async deleteOlderThan(cutoff: string): Promise<number> {
    const byGroup = new Map<string, string[]>();
    const filter = odata`RowKey ge ${IMPORTED_PREFIX} and RowKey lt ${IMPORTED_RANGE_END} and at lt ${cutoff}`;
    for await (const row of this.table.listEntities({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } })) {
      const keys = byGroup.get(row.partitionKey!) ?? [];
      keys.push(row.rowKey!);
      byGroup.set(row.partitionKey!, keys);
    }
    let deleted = 0;
    for (const [groupId, keys] of byGroup) {
      await deleteRows(this.table, groupId, keys);
      deleted += keys.length;
    }
    return deleted;
  }

  private async messageKeys(groupId: string, importId: string): Promise<string[]> {
    const keys: string[] = [];
    const filter = odata`PartitionKey eq ${groupId} and RowKey ge ${IMPORTED_PREFIX} and RowKey lt ${IMPORTED_RANGE_END} and importId eq ${importId}`;
    for await (const row of this.table.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) keys.push(row.rowKey!);
    return keys;
  }

  private async get(groupId: string, importId: string): Promise<ImportRecord | undefined> {
    const row = await this.records.find(groupId, `${RECORD_PREFIX}${importId}`);
    return row ? fromRecordEntity(groupId, row) : undefined;
  }
}

function toRecordEntity(r: ImportRecord): RecordEntity {
  return defined({
    importId: r.importId,
    source: r.source,
    fileName: r.fileName,
    contentHash: r.contentHash,
    byId: r.by.id,
    byName: r.by.name,
    startedAt: r.startedAt,
    state: r.state,
    count: r.count,
    first: r.first,
    last: r.last,
  });
}

function fromRecordEntity(groupId: string, row: RecordEntity): ImportRecord {
  return defined({
    groupId,
    importId: row.importId,
    source: row.source,
    fileName: row.fileName,
    contentHash: row.contentHash,
    by: { id: row.byId, name: row.byName },
    startedAt: row.startedAt,
    state: row.state,
    count: Number(row.count),
    first: row.first,
    last: row.last,
  });
}

function toImportedEntity(m: StoredImport): ImportedEntity {
  return defined({
    importId: m.importId,
    index: m.index,
    source: m.source,
    at: m.at,
    sender: m.sender,
    text: m.text,
    kind: m.kind,
    fileName: m.fileName,
    replyToName: m.replyTo?.sender,
    replyPreview: m.replyTo?.preview,
    memberId: m.member?.userId,
    memberName: m.member?.name,
  });
}

function fromImportedEntity(row: ImportedEntity): StoredImport {
  return defined({
    importId: row.importId,
    index: Number(row.index),
    source: row.source,
    at: row.at,
    sender: row.sender,
    text: row.text,
    kind: row.kind,
    fileName: row.fileName,
    replyTo: row.replyToName !== undefined ? { sender: row.replyToName, preview: row.replyPreview ?? '' } : undefined,
    member: row.memberId ? { userId: row.memberId, name: row.memberName ?? '' } : undefined,
  });
}
