import type { Attachment } from 'botbuilder';
import { InvalidInputError, TooLargeError } from '../errors';
import { HttpsPhotoSource } from '../http/httpsPhotoSource';
import { PhotoFetchError, type PhotoFetchOptions } from '../http/imageFetch';
import { MAX_UPLOAD_BYTES, UPLOAD_TOO_LARGE } from '../import/readExport';
import type { UploadedFile } from '../import/importService';
import { hostMatches } from './photoFetcher';

/*
 * A chat export sent to the bot as a file (issue 20), to its bytes. Two ways in:
 * - inline, a `data:<type>;base64,` contentUrl (the playground, Web Chat, tests): decoded here, no network,
 *   exactly as a group photo's data: URL is;
 * - Teams: a `application/vnd.microsoft.teams.file.download.info` attachment whose pre-authenticated
 *   downloadUrl is fetched through the outbound guard (https, public addresses, bounded size, no token), and
 *   only from the hosts Teams keeps files on.
 */

export const TEAMS_FILE = 'application/vnd.microsoft.teams.file.download.info';
/** Where Teams' personal-chat files live (OneDrive for Business). */
export const DEFAULT_FILE_HOSTS: readonly string[] = ['*.sharepoint.com'];
const DATA_URL = /^data:([a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+)?((?:;[a-z0-9_.+-]+=[a-z0-9_.+"-]*)*);base64,([a-z0-9+/=\s]*)$/i;
export const NOT_A_FILE = 'Send the chat export as a file: the .txt, .json or .zip the app made.';
const FETCH_FAILED = 'The file could not be fetched from Teams. Send it again in a moment.';

export interface ExportIntakeOptions extends PhotoFetchOptions {
  fileHosts?: readonly string[];
}

/** True when the attachment is a file the import could read (not a card, not a picture pasted inline). */
export function isFileAttachment(attachment: Attachment): boolean {
  // A Teams file by its name: an export is a .txt, .json or .zip; other files keep "not supported".
  if (attachment.contentType === TEAMS_FILE) return /\.(txt|json|zip)$/i.test(attachment.name ?? '');
  return (
    typeof attachment.contentUrl === 'string' && /^\s*data:/i.test(attachment.contentUrl) && !/^image\//i.test(attachment.contentType ?? '')
  );
}

export class ExportIntake {
  private readonly source: HttpsPhotoSource;
  private readonly hosts: readonly string[];

  constructor(options: ExportIntakeOptions = {}) {
    this.source = new HttpsPhotoSource(options);
    this.hosts = options.fileHosts ?? DEFAULT_FILE_HOSTS;
  }

  async fromAttachment(attachment: Attachment): Promise<UploadedFile> {
    const name = attachment.name?.trim() || 'export';
    if (typeof attachment.contentUrl === 'string' && /^\s*data:/i.test(attachment.contentUrl)) {
      return { name, bytes: decodeDataUrl(attachment.contentUrl) };
    }
    const url = (attachment.content as { downloadUrl?: unknown } | undefined)?.downloadUrl;
    if (attachment.contentType !== TEAMS_FILE || typeof url !== 'string') throw new InvalidInputError(NOT_A_FILE);
    let host: string;
    try {
      host = new URL(url).hostname;
    } catch {
      throw new InvalidInputError(FETCH_FAILED);
    }
    // The host first: a URL elsewhere is refused whatever its scheme or port (those the guard checks next).
    if (!hostMatches(host, this.hosts)) throw new InvalidInputError(`Files are fetched only from Teams' own storage, not from ${host}.`);
    try {
      return { name, bytes: await this.source.fromFileUrl(url, MAX_UPLOAD_BYTES) };
    } catch (err) {
      if (err instanceof PhotoFetchError && err.reason === 'too_large') throw new TooLargeError(UPLOAD_TOO_LARGE, { cause: err });
      if (err instanceof PhotoFetchError) throw new InvalidInputError(FETCH_FAILED, { cause: err });
      throw err;
    }
  }
}

export function decodeDataUrl(url: string): Uint8Array {
  const match = DATA_URL.exec(url.trim());
  if (!match) throw new InvalidInputError(NOT_A_FILE);
  const base64 = match[3]!.replace(/\s+/g, '');
  // Checked before decoding: 4 base64 characters are 3 bytes.
  if ((base64.length * 3) / 4 > MAX_UPLOAD_BYTES + 3) throw new TooLargeError(UPLOAD_TOO_LARGE);
  return Buffer.from(base64, 'base64');
}
