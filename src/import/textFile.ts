import { InvalidInputError } from '../errors';

/*
 * An uploaded file's bytes to text, refusing what is not text: an export is UTF-8 (both apps write it so), so a
 * file that does not decode, or that holds NUL bytes, is something else and gets one clear line.
 */

export const NOT_UTF8 = 'This file is not UTF-8 text. Export the chat again from the app and send the file it made.';
export const BINARY = 'This file is not a text file. Send the .txt, .json or .zip the app exported.';

export function textOf(bytes: Uint8Array): string {
  // Only the first few kilobytes: a NUL in text is an accident, in a binary file it comes early.
  if (bytes.subarray(0, 8192).includes(0)) throw new InvalidInputError(BINARY);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidInputError(NOT_UTF8);
  }
  return text.replace(/^\ufeff/, '');
}
