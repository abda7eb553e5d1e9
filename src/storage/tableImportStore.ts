import { odata, type TableClient } from '@azure/data-tables';
import type { BeginOutcome, ImportedPage, ImportProgress, ImportRecord, ImportStore, StoredImport } from '../import/ports';
import type { ExportSource, ImportedKind } from '../import/model';
import { submitEntityBatch, type BatchRow } from './entityBatch';
import { defined } from './groupEntities';
import { deleteRows } from './partitionSweep';
import { isAlreadyExists, TableRepository, type TableClients } from './tables';

/*
 * Layout (issue 20), in `groups`. The import's records live in the group's partition (claimed in one
 * transaction); its messages in partitions of their own, one per group and original day, apart from live
 * posts, so live sequence numbers, the counter and delivery never see them:
 *
 *   RowKey 'import|<importId>'    the import: source, file, content hash, who, when, state (running|done), count.
 *   RowKey 'imphash|<sha256>'     { importId }: the same chat imported twice is one import.
 *   RowKey 'implock'              { importId }: one import at a time per group. Inserted with the two rows
 *                                 above in one transaction; deleted when the import is done.
 *   PartitionKey '<groupId>|imp|<inverted day>', RowKey 'imp|<inverted original time>|<importId>|<inverted index>'
 *                                 one imported message. Inverted so that a forward scan (the only order Table
 *                                 Storage reads) is newest first: a history page is the next N keys after the
 *                                 cursor, whatever the number of imports, in original time order across them.
 *                                 The key is a function of (import, index): a resumed import rewrites the
 *                                 same rows, so each message is stored once. The day partitions are
 *                                 inverted too: (partition, row) order is newest first across them, and a
 *                                 row key alone names its partition (the time is in it), so a page's cursor
 *                                 is a row key. Why not the group's partition: Azurite (the embedded store)
 *                                 finds a row by scanning its partition, so 40,000 messages in one partition
 *                                 made every later write to the group (an import's, a post's) slow and an
 *                                 import quadratic (bench/importBench.ts); a day's messages are a few thousand
 *                                 at most.
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

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_DAY = 99_999;

/** The day partition of a message at `at` (ISO), newest day first. */
export function importedPartition(groupId: string, at: string): string {
  return `${groupId}|imp|${String(MAX_DAY - Math.floor(Date.parse(at) / DAY_MS)).padStart(5, '0')}`;
}

/** The partition a row key's message is in (its time is in the key). */
function partitionOfKey(groupId: string, rowKey: string): string {
  const time = MAX_MS - Number(rowKey.slice(IMPORTED_PREFIX.length, IMPORTED_PREFIX.length + 13));
  return importedPartition(groupId, new Date(time).toISOString());
}

/** Every day partition of the group's imported messages: PartitionKey in [start, end). */
function partitionRange(groupId: string): { start: string; end: string } {
  return { start: `${groupId}|imp|`, end: `${groupId}|imp}` };
}

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
    let written = 0;
    // A transaction is one partition: batches of up to 100 of one day, in the messages' order.
    for (let i = 0; i < messages.length;) {
      const partitionKey = importedPartition(groupId, messages[i]!.at);
      const rows: BatchRow[] = [];
      for (; i < messages.length && rows.length < MAX_BATCH; i++) {
        const m = messages[i]!;
        if (importedPartition(groupId, m.at) !== partitionKey) break;
        rows.push({ partitionKey, rowKey: importedRowKey(m), ...toImportedEntity(m) });
      }
      // Inserts, not upserts: the rows are new (a resumed import clears first), and an upsert costs Azurite a
      // scan of the partition. Should rows be there after all (two instances on one job after a lost lease),
      // the batch is written again as upserts: same keys, same content. (entityBatch.ts: why not the SDK's.)
      try {
        await submitEntityBatch(this.table, rows, 'create');
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        await submitEntityBatch(this.table, rows, 'replace');
      }
      written += rows.length;
      await progress?.(written, messages.length);
    }
  }

  async clear(groupId: string, importId: string): Promise<void> {
    await this.deleteKeys(await this.messageKeys(groupId, importId));
  }

  /** A deleted group's imported messages (its own partition goes with the group; these are apart). */
  async forgetGroup(groupId: string): Promise<number> {
    const keys = await this.messageKeys(groupId);
    await this.deleteKeys(keys);
    return keys.length;
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
    await this.deleteKeys(keys);
    // The record last: should this fail half-way, the import is still listed and can be removed again.
    const lock = await this.pointers.find(groupId, LOCK_ROW);
    if (lock?.importId === importId) await this.pointers.delete(groupId, LOCK_ROW, '*');
    await this.pointers.delete(groupId, `${HASH_PREFIX}${record.contentHash}`, '*');
    await this.records.delete(groupId, `${RECORD_PREFIX}${importId}`, '*');
    return keys.length;
  }

  async page(groupId: string, options: { before?: string; pageSize: number; visibleFrom?: string }): Promise<ImportedPage> {
    const { end } = partitionRange(groupId);
    const from = options.before ?? IMPORTED_PREFIX;
    // Rows after the cursor in its own day, and every row of the older days (their keys are all after it).
    const start = options.before ? partitionOfKey(groupId, options.before) : partitionRange(groupId).start;
    const range = odata`PartitionKey ge ${start} and PartitionKey lt ${end} and RowKey gt ${from} and RowKey lt ${IMPORTED_RANGE_END}`;
    const filter = options.visibleFrom ? `${range} and ${odata`at ge ${options.visibleFrom}`}` : range;
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
    const { start, end } = partitionRange(groupId);
    const filter = odata`PartitionKey gt ${start} and PartitionKey lt ${end}`;
    for await (const row of this.table.listEntities<ImportedEntity>({ queryOptions: { filter } })) rows.push(fromImportedEntity(row));
    yield* rows.reverse();
  }

  async deleteOlderThan(cutoff: string): Promise<number> {
    const byPartition = new Map<string, string[]>();
    const filter = odata`RowKey ge ${IMPORTED_PREFIX} and RowKey lt ${IMPORTED_RANGE_END} and at lt ${cutoff}`;
    for await (const row of this.table.listEntities({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } })) {
      const keys = byPartition.get(row.partitionKey!) ?? [];
      keys.push(row.rowKey!);
      byPartition.set(row.partitionKey!, keys);
    }
    let deleted = 0;
    for (const [partitionKey, keys] of byPartition) {
      await deleteRows(this.table, partitionKey, keys);
      deleted += keys.length;
    }
    return deleted;
  }

  /** The (partition, row) keys of the group's imported messages, of one import or of all. */
  private async messageKeys(groupId: string, importId?: string): Promise<Array<[string, string]>> {
    const keys: Array<[string, string]> = [];
    const { start, end } = partitionRange(groupId);
    const range = odata`PartitionKey gt ${start} and PartitionKey lt ${end}`;
    const filter = importId ? `${range} and ${odata`importId eq ${importId}`}` : range;
    for await (const row of this.table.listEntities({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } }))
      keys.push([row.partitionKey!, row.rowKey!]);
    return keys;
  }

  private async deleteKeys(keys: ReadonlyArray<[string, string]>): Promise<void> {
    const byPartition = new Map<string, string[]>();
    for (const [partitionKey, rowKey] of keys) byPartition.set(partitionKey, [...(byPartition.get(partitionKey) ?? []), rowKey]);
    for (const [partitionKey, rowKeys] of byPartition) await deleteRows(this.table, partitionKey, rowKeys);
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
