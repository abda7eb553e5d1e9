import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { odata, type TableClient } from '@azure/data-tables';
import type { UploadedFile } from '../import/importService';
import type { PackedExport, PackedReader } from '../import/packedExport';
import { PENDING_TTL_MS, type ImportJobOrder, type JobStatus, type PendingUpload, type PendingUploadStore } from '../import/pendingUploads';
import { defined } from './groupEntities';
import { deleteRows } from './partitionSweep';
import { isAlreadyExists, isNotFound, isPreconditionFailed, TableRepository } from './tables';

/*
 * Layout of `importuploads` (issue 20): one partition per upload, named by its token.
 *   RowKey 'chunk|<0000>'  the chat file gzipped, in pieces: PIECES properties of PIECE_BYTES each (Table Storage
 *                          allows 64 KiB per binary property and 1 MiB per entity, base64 on the wire).
 *   RowKey 'packed|<generation>|<chunk>|<row>'   the export as its latest preview read it (src/import/packedExport.ts),
 *                          gzipped chunks of messages in rows as above; the head names the generation to read.
 *   RowKey 'head'          who, which group, the read options, expiry; written last, so an upload is seen whole
 *                          or not at all. Once confirmed: state 'importing', the order (JSON), the lease
 *                          (holder, until) and the progress (written of total).
 * An unconfirmed upload past its expiry is swept with its chunks; a job's partition goes when its import is done.
 */

const HEAD = 'head';
const CHUNK_PREFIX = 'chunk|';
const PIECE_BYTES = 48 * 1024;
const PIECES = 12;
const CHUNK_BYTES = PIECE_BYTES * PIECES;
const PACKED_PREFIX = 'packed|';
const PACKED_END = 'packed}';

const zip = promisify(gzip);
const unzip = promisify(gunzip);

interface HeadEntity {
  groupId: string;
  userId: string;
  fileName: string;
  timeZone: string;
  dateOrder?: string;
  expiresAt: number;
  chunks: number;
  state: 'pending' | 'importing';
  order?: string;
  holder?: string;
  until?: number;
  written?: number;
  total?: number;
  refusal?: string;
  /** The export as its latest preview read it (keepPacked): which rows, how many, read how, of what. */
  packedGeneration?: string;
  packedChunks?: number;
  packedRead?: string;
  packedMeta?: string;
}

export class TablePendingUploads implements PendingUploadStore {
  private readonly heads: TableRepository<HeadEntity>;
  /** The head's etag after this instance's last lease or renewal of a job: the next renewal needs no read. */
  private readonly leased = new Map<string, string>();

  constructor(
    private readonly table: TableClient,
    private readonly now: () => number = Date.now,
  ) {
    this.heads = new TableRepository(table);
  }

  async put(upload: Omit<PendingUpload, 'expiresAt' | 'token'>): Promise<string> {
    const token = randomBytes(12).toString('base64url');
    const packed = await zip(upload.file.bytes);
    const chunks = Math.max(1, Math.ceil(packed.length / CHUNK_BYTES));
    for (let c = 0; c < chunks; c++) {
      const piece = packed.subarray(c * CHUNK_BYTES, (c + 1) * CHUNK_BYTES);
      const entity: { partitionKey: string; rowKey: string } & Record<string, unknown> = { partitionKey: token, rowKey: chunkKey(c) };
      for (let p = 0; p * PIECE_BYTES < piece.length; p++) entity[`p${p}`] = piece.subarray(p * PIECE_BYTES, (p + 1) * PIECE_BYTES);
      await this.table.upsertEntity(entity, 'Replace');
    }
    const head: HeadEntity = defined({
      groupId: upload.groupId,
      userId: upload.userId,
      fileName: upload.file.name,
      timeZone: upload.timeZone,
      dateOrder: upload.dateOrder,
      expiresAt: this.now() + PENDING_TTL_MS,
      chunks,
      state: 'pending' as const,
    });
    await this.table.createEntity({ partitionKey: token, rowKey: HEAD, ...head });
    return token;
  }

  async get(token: string, userId: string): Promise<PendingUpload | undefined> {
    const head = await this.head(token);
    // A confirmed upload is a job: it is read as one (job()), not previewed or confirmed again.
    if (!head || head.userId !== userId || head.state !== 'pending' || head.expiresAt <= this.now()) return undefined;
    const { file, ...upload } = this.uploadOf(token, head);
    return { ...upload, file: await file() };
  }

  async update(token: string, change: Partial<Pick<PendingUpload, 'timeZone' | 'dateOrder'>>): Promise<void> {
    await this.merge(token, defined({ timeZone: change.timeZone, dateOrder: change.dateOrder }));
  }

  async delete(token: string): Promise<void> {
    this.leased.delete(token);
    const keys: string[] = [];
    for await (const row of this.table.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${token}`, select: ['RowKey'] } }))
      keys.push(row.rowKey!);
    // The head first: a half-deleted upload is never read as whole.
    await this.heads.delete(token, HEAD, '*');
    await deleteRows(
      this.table,
      token,
      keys.filter((k) => k !== HEAD),
    );
  }

  async order(token: string, order: ImportJobOrder): Promise<void> {
    await this.merge(token, { state: 'importing', order: JSON.stringify(order), written: 0, total: 0, refusal: '' });
  }

  async reopen(token: string, refusal = ''): Promise<void> {
    await this.merge(token, { state: 'pending', expiresAt: this.now() + PENDING_TTL_MS, until: 0, refusal });
  }

  async job(token: string) {
    const head = await this.head(token);
    if (!head || head.state !== 'importing' || !head.order) return undefined;
    const { file, ...upload } = this.uploadOf(token, head);
    return { upload, order: JSON.parse(head.order) as ImportJobOrder, file };
  }

  async keepPacked(token: string, packed: PackedExport): Promise<void> {
    // A generation of its own: the head names the one to read, so a crash half-way through never mixes two.
    const generation = randomBytes(4).toString('hex');
    for (let c = 0; c < packed.chunks.length; c++)
      await this.putBytes(token, `${PACKED_PREFIX}${generation}|${pad(c)}|`, packed.chunks[c]!);
    const { chunks, read, ...meta } = packed;
    await this.merge(token, {
      packedGeneration: generation,
      packedChunks: chunks.length,
      packedRead: JSON.stringify(read),
      packedMeta: JSON.stringify(meta),
    });
    // Every other generation goes, but the one the head names now: two previews at once may end either way.
    const named = (await this.head(token))?.packedGeneration ?? generation;
    const older: string[] = [];
    const filter = odata`PartitionKey eq ${token} and RowKey ge ${PACKED_PREFIX} and RowKey lt ${PACKED_END}`;
    for await (const row of this.table.listEntities({ queryOptions: { filter, select: ['RowKey'] } }))
      if (!row.rowKey!.startsWith(`${PACKED_PREFIX}${named}|`)) older.push(row.rowKey!);
    await deleteRows(this.table, token, older);
  }

  async packed(token: string): Promise<PackedReader | undefined> {
    const head = await this.head(token);
    if (!head?.packedGeneration || !head.packedRead || !head.packedMeta) return undefined;
    const meta = JSON.parse(head.packedMeta) as Pick<PackedReader, 'source' | 'fileName' | 'contentHash'>;
    const generation = head.packedGeneration;
    return {
      ...meta,
      read: JSON.parse(head.packedRead) as PackedReader['read'],
      chunkCount: Number(head.packedChunks ?? 0),
      chunk: (c) => this.readBytes(token, `${PACKED_PREFIX}${generation}|${pad(c)}|`),
    };
  }

  async status(token: string): Promise<JobStatus | undefined> {
    const head = await this.head(token);
    if (!head) return undefined;
    const status: JobStatus = {
      groupId: head.groupId,
      state: head.state,
      written: Number(head.written ?? 0),
      total: Number(head.total ?? 0),
    };
    if (head.refusal) status.refusal = head.refusal;
    return status;
  }

  async openJobs(): Promise<string[]> {
    const tokens: string[] = [];
    const filter = odata`RowKey eq ${HEAD} and state eq ${'importing'}`;
    for await (const row of this.table.listEntities({ queryOptions: { filter, select: ['PartitionKey'] } })) tokens.push(row.partitionKey!);
    return tokens;
  }

  async lease(token: string, holder: string, ms: number): Promise<boolean> {
    const head = await this.heads.find(token, HEAD);
    const now = this.now();
    if (!head || head.state !== 'importing') return false;
    if (head.holder !== holder && (head.until ?? 0) >= now) return false;
    return this.leaseAt(token, head.etag, { holder, until: now + ms });
  }

  async renew(token: string, holder: string, ms: number, progress: { written: number; total: number }): Promise<boolean> {
    const etag = this.leased.get(token);
    // Not leased here before (or the write failed): read the head, as lease() does, then record the progress.
    if (!etag) return (await this.lease(token, holder, ms)) && (await this.renew(token, holder, ms, progress));
    return this.leaseAt(token, etag, { holder, until: this.now() + ms, ...progress });
  }

  /** A write conditional on the head's etag: only the holder changes a leased job, so a new etag means it was taken over. */
  private async leaseAt(token: string, etag: string, change: Partial<HeadEntity>): Promise<boolean> {
    this.leased.delete(token);
    try {
      const written = await this.table.updateEntity({ partitionKey: token, rowKey: HEAD, ...change }, 'Merge', { etag });
      if (written.etag) this.leased.set(token, written.etag);
      return true;
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err)) return false; // another instance was quicker
      throw err;
    }
  }

  async sweep(): Promise<number> {
    const filter = odata`RowKey eq ${HEAD} and state eq ${'pending'} and expiresAt lt ${this.now()}`;
    const expired: string[] = [];
    for await (const row of this.table.listEntities({ queryOptions: { filter, select: ['PartitionKey'] } }))
      expired.push(row.partitionKey!);
    for (const token of expired) await this.delete(token);
    return expired.length;
  }

  private async head(token: string): Promise<HeadEntity | undefined> {
    if (!/^[A-Za-z0-9_-]{16}$/.test(token)) return undefined;
    return this.heads.find(token, HEAD);
  }

  private async fileOf(token: string, head: HeadEntity): Promise<UploadedFile> {
    const pieces: Buffer[] = [];
    for (let c = 0; c < head.chunks; c++) {
      const row = await this.table.getEntity<Record<string, unknown>>(token, chunkKey(c));
      for (let p = 0; row[`p${p}`] !== undefined; p++) pieces.push(Buffer.from(row[`p${p}`] as Uint8Array));
    }
    return { name: head.fileName, bytes: await unzip(Buffer.concat(pieces)) };
  }

  private uploadOf(token: string, head: HeadEntity): Omit<PendingUpload, 'file'> & { file(): Promise<UploadedFile> } {
    const upload: Omit<PendingUpload, 'file'> & { file(): Promise<UploadedFile> } = {
      token,
      groupId: head.groupId,
      userId: head.userId,
      timeZone: head.timeZone,
      expiresAt: head.expiresAt,
      file: () => this.fileOf(token, head),
    };
    if (head.dateOrder === 'day-first' || head.dateOrder === 'month-first') upload.dateOrder = head.dateOrder;
    return upload;
  }

  /** Bytes in rows of up to PIECES pieces each, keyed `<prefix><0000>`. */
  private async putBytes(token: string, prefix: string, bytes: Uint8Array): Promise<void> {
    for (let r = 0; r === 0 || r * CHUNK_BYTES < bytes.length; r++) {
      const part = bytes.subarray(r * CHUNK_BYTES, (r + 1) * CHUNK_BYTES);
      const entity: { partitionKey: string; rowKey: string } & Record<string, unknown> = {
        partitionKey: token,
        rowKey: `${prefix}${pad(r)}`,
      };
      for (let p = 0; p * PIECE_BYTES < part.length; p++) entity[`p${p}`] = part.subarray(p * PIECE_BYTES, (p + 1) * PIECE_BYTES);
      await this.table.upsertEntity(entity, 'Replace');
    }
  }

  private async readBytes(token: string, prefix: string): Promise<Uint8Array> {
    const pieces: Buffer[] = [];
    const filter = odata`PartitionKey eq ${token} and RowKey ge ${prefix} and RowKey lt ${`${prefix}~`}`;
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } }))
      for (let p = 0; row[`p${p}`] !== undefined; p++) pieces.push(Buffer.from(row[`p${p}`] as Uint8Array));
    return Buffer.concat(pieces);
  }

  private async merge(token: string, change: Partial<HeadEntity>): Promise<void> {
    try {
      await this.table.updateEntity({ partitionKey: token, rowKey: HEAD, ...change }, 'Merge', { etag: '*' });
    } catch (err) {
      if (!isNotFound(err) && !isAlreadyExists(err)) throw err;
    }
  }
}

function chunkKey(c: number): string {
  return `${CHUNK_PREFIX}${pad(c)}`;
}

function pad(n: number): string {
  return String(n).padStart(4, '0');
}
