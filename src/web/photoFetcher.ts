/**
 * Group photos from Teams attachments, fetched with the rules of any photo URL. The outbound HTTP itself and its
 * SSRF guard are in src/http (imageFetch.ts has the rules); they are re-exported here for the web's callers.
 */
import { BOT_FRAMEWORK_HOSTS } from '../config';
import { HttpsPhotoSource } from '../http/httpsPhotoSource';
import { PhotoFetchError, type FetchedImage, type PhotoFetchOptions } from '../http/imageFetch';

export { classifyAddress, isPublicAddress, parseIPv6, type AddressClass } from '../http/addressClass';
export { HttpsPhotoSource } from '../http/httpsPhotoSource';
export {
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_REDIRECTS,
  DEFAULT_TIMEOUT_MS,
  PhotoFetchError,
  sniffImageType,
  type AddressPolicy,
  type FetchedImage,
  type ImageContentType,
  type PhotoFetchErrorReason,
  type PhotoFetchOptions,
  type PhotoSource,
  type ResolvedAddress,
} from '../http/imageFetch';
export { pinnedGet, readImageResponse, readLimited, systemResolve } from '../http/pinnedGet';

// ---------------------------------------------------------------------------------------------------------
// Teams attachments

/** The shape of an activity attachment, as far as photos need it. */
export interface AttachmentLike {
  contentType?: string;
  contentUrl?: string;
  name?: string;
  content?: unknown;
}

export interface AttachmentImageRef {
  url: string;
  /**
   * Inline images (`image/*` with a contentUrl on the Bot Framework service) need the bot's own token; files
   * (`file.download.info`) come with a short-lived pre-authenticated `downloadUrl` and must get no token.
   */
  needsBotToken: boolean;
  name?: string;
}

export const TEAMS_FILE_DOWNLOAD_INFO = 'application/vnd.microsoft.teams.file.download.info';
const IMAGE_FILE_TYPES = new Set(['png', 'jpg', 'jpeg', 'gif', 'webp']);

/** Hosts the bot's token may be sent to when fetching an inline image (the Bot Framework connector). */
export const BOT_TOKEN_HOSTS: readonly string[] = BOT_FRAMEWORK_HOSTS;

export function hostMatches(host: string, patterns: readonly string[]): boolean {
  const h = host.toLowerCase();
  return patterns.some((p) => {
    const pattern = p.toLowerCase();
    return pattern.startsWith('*.') ? h.endsWith(pattern.slice(1)) && h.length > pattern.length - 1 : h === pattern;
  });
}

/** The first image in a message's attachments, if any (Teams sends a text/html sibling too: ignored). */
export function imageRefFromAttachments(attachments: readonly AttachmentLike[] | undefined): AttachmentImageRef | undefined {
  for (const att of attachments ?? []) {
    const type = (att.contentType ?? '').toLowerCase();
    if (type === TEAMS_FILE_DOWNLOAD_INFO) {
      const content = (att.content ?? {}) as { downloadUrl?: unknown; fileType?: unknown };
      const fileType =
        typeof content.fileType === 'string' ? content.fileType.toLowerCase() : (att.name?.split('.').pop() ?? '').toLowerCase();
      if (typeof content.downloadUrl === 'string' && IMAGE_FILE_TYPES.has(fileType)) {
        return { url: content.downloadUrl, needsBotToken: false, ...(att.name ? { name: att.name } : {}) };
      }
    } else if (type.startsWith('image/') && typeof att.contentUrl === 'string') {
      return { url: att.contentUrl, needsBotToken: true, ...(att.name ? { name: att.name } : {}) };
    }
  }
  return undefined;
}

export interface AttachmentFetchOptions extends PhotoFetchOptions {
  /** Where the bearer token may go. Default BOT_TOKEN_HOSTS. */
  tokenHosts?: readonly string[];
}

/**
 * Fetches an image from a Teams attachment URL with the same rules as any photo URL. A bearer token (the bot's
 * connector token, for inline images) is sent only when the URL's host is a Bot Framework host, and never
 * across a redirect to another origin.
 */
export function fetchAttachmentImage(url: string, bearerToken?: string, options: AttachmentFetchOptions = {}): Promise<FetchedImage> {
  const source = new HttpsPhotoSource(options);
  if (bearerToken) {
    const host = source.checkUrl(url).hostname;
    if (!hostMatches(host, options.tokenHosts ?? BOT_TOKEN_HOSTS)) {
      return Promise.reject(new PhotoFetchError('bad_url', `will not send the bot token to ${host}`));
    }
  }
  return source.fromAttachmentUrl(url, bearerToken);
}
