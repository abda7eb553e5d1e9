import JSZip from 'jszip';
import { InvalidInputError, TooLargeError } from '../errors';
import { NOT_AN_EXPORT } from './model';

/*
 * The chat file inside an export's zip (WhatsApp: `_chat.txt` or `WhatsApp Chat with <name>.txt` beside the
 * media; Telegram: `result.json`). Only that one entry is ever decompressed, and only up to a limit, so a zip
 * bomb costs its compressed size; names that climb out of the archive or are absolute are ignored, never used.
 */

export const MAX_ZIP_ENTRIES = 20_000;
/** 40,000 WhatsApp messages are a few MB; a chat text ten times that is not an export. */
export const MAX_CHAT_BYTES = 64 * 1024 * 1024;
export const ZIP_TOO_LARGE = `The chat inside this zip is larger than ${MAX_CHAT_BYTES / 1024 / 1024} MB unpacked, which no export is. Nothing was imported.`;
export const ZIP_TOO_MANY = `This zip holds more than ${MAX_ZIP_ENTRIES.toLocaleString('en-US')} files, which no export does. Nothing was imported.`;
export const ZIP_DAMAGED = 'This zip file is damaged. Export the chat again and send the new file.';

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

export function isZip(bytes: Uint8Array): boolean {
  return ZIP_MAGIC.every((b, i) => bytes[i] === b);
}

/** A name that would reach outside the folder it is unpacked in (or names no file). */
export function isUnsafeEntryName(name: string): boolean {
  const parts = name.replace(/\\/g, '/').split('/');
  return name.startsWith('/') || /^[a-z]:/i.test(name) || parts.includes('..') || name.includes('\0');
}

/** The chat's entry, best first: Telegram's result.json, iOS's _chat.txt, Android's "WhatsApp Chat with ...txt", any lone .txt. */
function rank(name: string): number {
  const base = name.split('/').pop()!.toLowerCase();
  if (base === 'result.json') return 0;
  if (base === '_chat.txt') return 1;
  if (base.startsWith('whatsapp chat') && base.endsWith('.txt')) return 2;
  if (base.endsWith('.txt')) return 3;
  return -1;
}

export async function chatFileOfZip(bytes: Uint8Array): Promise<{ name: string; bytes: Uint8Array }> {
  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(bytes, { checkCRC32: false });
  } catch (err) {
    throw new InvalidInputError(ZIP_DAMAGED, { cause: err });
  }
  const entries = Object.values(zip.files);
  if (entries.length > MAX_ZIP_ENTRIES) throw new TooLargeError(ZIP_TOO_MANY);
  const candidates = entries
    .filter((e) => !e.dir && !isUnsafeEntryName(originalName(e)) && rank(e.name) >= 0)
    .sort((a, b) => rank(a.name) - rank(b.name) || a.name.length - b.name.length);
  const chosen = candidates[0];
  if (!chosen) throw new InvalidInputError(NOT_AN_EXPORT);
  // The size the zip declares first (cheap), then the bytes actually inflated (a zip may lie about its sizes).
  const declared = (chosen as unknown as { _data?: { uncompressedSize?: number } })._data?.uncompressedSize ?? 0;
  if (declared > MAX_CHAT_BYTES) throw new TooLargeError(ZIP_TOO_LARGE);
  return { name: chosen.name, bytes: await inflateBounded(chosen) };
}

/** jszip cleans "../" off names as it loads; the name as the archive wrote it is what tells an attack. */
function originalName(entry: JSZip.JSZipObject): string {
  return (entry as unknown as { unsafeOriginalName?: string }).unsafeOriginalName ?? entry.name;
}

function inflateBounded(entry: JSZip.JSZipObject): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const stream = entry.nodeStream('nodebuffer');
    stream.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > MAX_CHAT_BYTES) {
        (stream as unknown as { destroy?: () => void }).destroy?.();
        reject(new TooLargeError(ZIP_TOO_LARGE));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('error', (err) => reject(new InvalidInputError(ZIP_DAMAGED, { cause: err })));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}
