import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { ExportSource, ImportedMessage, ParsedExport } from './model';
import type { ReadOptions } from './readExport';

/*
 * A parsed export kept beside its upload, so that Import does not parse the file again (issue 20: parsing 40,000
 * lines at Import held the text, the parser's objects and the messages at once, some 50 MB): the messages in
 * time order, a few thousand to a gzipped chunk, read back one chunk at a time. Only good for the settings it
 * was read with; Import with other ones (the admin changed the zone and clicked Import without previewing
 * again) reads the file as before.
 */

export const MESSAGES_PER_CHUNK = 2000;

export interface PackedExport {
  /** The settings the messages were read with (the zone and date order the admin asked for). */
  read: ReadOptions;
  source: ExportSource;
  fileName: string;
  contentHash: string;
  chunks: Uint8Array[];
}

/** A packed export as the pending uploads keep it: its chunks read one at a time. */
export interface PackedReader extends Omit<PackedExport, 'chunks'> {
  chunkCount: number;
  chunk(index: number): Promise<Uint8Array>;
}

/** Positional, so that field names are not repeated 40,000 times: [at, sender, text, kind, fileName, replyTo]. */
type Packed = [string, string, string, ImportedMessage['kind'], string | null, [string, string] | null];

const zip = promisify(gzip);
const unzip = promisify(gunzip);

export async function packExport(parsed: ParsedExport, read: ReadOptions): Promise<PackedExport> {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < parsed.messages.length; i += MESSAGES_PER_CHUNK) {
    const packed = parsed.messages.slice(i, i + MESSAGES_PER_CHUNK).map((m): Packed => {
      return [m.at, m.sender, m.text, m.kind, m.fileName ?? null, m.replyTo ? [m.replyTo.sender, m.replyTo.preview] : null];
    });
    chunks.push(await zip(JSON.stringify(packed)));
  }
  const { source, fileName, contentHash, timeZone } = parsed;
  // The zone as the reading resolved it (the name Intl gives), as the upload keeps it for Import.
  return { read: sameRead({ ...read, timeZone }), source, fileName, contentHash, chunks };
}

export async function unpackChunk(bytes: Uint8Array): Promise<ImportedMessage[]> {
  const rows = JSON.parse((await unzip(bytes)).toString('utf8')) as Packed[];
  return rows.map(([at, sender, text, kind, fileName, replyTo]) => {
    const m: ImportedMessage = { at, sender, text, kind };
    if (fileName !== null) m.fileName = fileName;
    if (replyTo) m.replyTo = { sender: replyTo[0], preview: replyTo[1] };
    return m;
  });
}

/** Whether Import's settings are the ones the export was packed with. */
export function packedFor(packed: Pick<PackedExport, 'read'>, read: ReadOptions): boolean {
  const a = sameRead(packed.read);
  const b = sameRead(read);
  return a.timeZone === b.timeZone && a.dateOrder === b.dateOrder;
}

function sameRead(read: ReadOptions): ReadOptions {
  return read.dateOrder ? { timeZone: read.timeZone, dateOrder: read.dateOrder } : { timeZone: read.timeZone };
}
