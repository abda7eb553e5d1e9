import { createHash } from 'node:crypto';
import { InvalidInputError, TooLargeError } from '../errors';
import { NOT_AN_EXPORT, type ParsedExport } from './model';
import { parseTelegram, looksLikeTelegram } from './telegram';
import { textOf } from './textFile';
import { checkTimeZone } from './timeZone';
import { parseWhatsApp } from './whatsapp';
import { chatFileOfZip, isZip } from './zipExport';

/*
 * One uploaded file (a .txt, a .json or a .zip holding either) to the messages of the chat it exports. Which
 * app made it is read from the content, not the file name (names get changed when files are shared).
 */

/** The tab's file picker and the chat upload both stop here. */
export const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;
export const UPLOAD_TOO_LARGE = 'This file is larger than 50 MB. Export the chat without media and send that file.';

export interface ReadOptions {
  timeZone: string;
  dateOrder?: 'day-first' | 'month-first';
}

/** The chat file of an upload: the upload itself, or the chat inside its zip (the media beside it are not read). */
export async function chatFileOf(fileName: string, bytes: Uint8Array): Promise<{ name: string; bytes: Uint8Array }> {
  if (bytes.length > MAX_UPLOAD_BYTES) throw new TooLargeError(UPLOAD_TOO_LARGE);
  return isZip(bytes) ? chatFileOfZip(bytes) : { name: fileName, bytes };
}

export async function readExport(fileName: string, bytes: Uint8Array, options: ReadOptions): Promise<ParsedExport> {
  const timeZone = checkTimeZone(options.timeZone);
  const { name: chatName, bytes: chatBytes } = await chatFileOf(fileName, bytes);
  const text = textOf(chatBytes);
  if (text.trim() === '') throw new InvalidInputError(NOT_AN_EXPORT);
  // Of the text, not the upload: the same chat sent as .txt and as the .zip around it is one import.
  const contentHash = createHash('sha256').update(text).digest('hex');
  if (looksLikeTelegram(text)) {
    const { messages } = parseTelegram(text, timeZone);
    if (messages.length === 0) throw new InvalidInputError(NOT_AN_EXPORT);
    return { source: 'telegram', messages, dateOrder: 'year-first', timeZone, fileName: chatName, contentHash };
  }
  const { messages, dateOrder } = parseWhatsApp(text, { timeZone, dateOrder: options.dateOrder });
  return { source: 'whatsapp', messages, dateOrder, timeZone, fileName: chatName, contentHash };
}
