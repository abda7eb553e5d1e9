/**
 * Outbound HTTP (src/http): fetching a group photo from a URL a user typed, or from a Teams attachment, without
 * letting that URL reach into our network (SSRF). This module holds what a fetch gives and throws; the fetcher is
 * httpsPhotoSource.ts, the pinned GET pinnedGet.ts, the address ranges addressClass.ts. The rules:
 * - https only; no credentials in the URL; port 443 unless configured.
 * - The host is resolved here and every address must be public (see classifyAddress): no private, loopback,
 *   link-local, CGNAT, multicast, unspecified, documentation or reserved ranges, and no IPv6 forms that embed
 *   such an IPv4 address (IPv4-mapped, NAT64, 6to4). The connection then goes to that checked address (a pinned
 *   `lookup`), so a second DNS answer cannot swap it (DNS rebinding).
 * - Redirects are followed by hand, at most 3, and each hop is checked again the same way.
 * - At most 1 MiB (Content-Length is checked first, and the stream is cut past the limit), 10 s in total.
 * - The bytes must be PNG, JPEG, GIF or WebP by their magic numbers; Content-Type alone is not trusted.
 */
import { InvalidInputError } from '../errors';

export { sniffImageType, type ImageContentType } from '../imageType';
import type { ImageContentType } from '../imageType';

export interface FetchedImage {
  bytes: Buffer;
  /** From the bytes' magic numbers, not from the server's Content-Type. */
  contentType: ImageContentType;
}

/** Where group photos come from. Tests inject one with their own address policy. */
export interface PhotoSource {
  fromUrl(url: string): Promise<FetchedImage>;
}

/** Decides whether the fetcher may connect to a resolved address. */
export type AddressPolicy = (address: string) => boolean;

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export interface PhotoFetchOptions {
  /** Default 1 MiB. */
  maxBytes?: number;
  /** For the whole fetch, redirects included. Default 10 s. */
  timeoutMs?: number;
  /** Default 3. */
  maxRedirects?: number;
  /** Ports a URL may name. Default [443]. */
  allowedPorts?: readonly number[];
  /** Default: isPublicAddress. */
  addressPolicy?: AddressPolicy;
  /** Default: the system resolver (dns.lookup, every address). */
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
  /** Trust roots to use instead of the system ones (tests use their own CA). */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
}

export type PhotoFetchErrorReason =
  'bad_url' | 'blocked_address' | 'dns' | 'too_many_redirects' | 'http_status' | 'too_large' | 'not_image' | 'timeout' | 'network';

const USER_MESSAGES: Record<PhotoFetchErrorReason, string> = {
  bad_url: 'That photo link is not valid. Use an https:// link to an image.',
  blocked_address: 'That photo link points to an address the bot may not fetch from.',
  dns: 'The site in that photo link could not be found.',
  too_many_redirects: 'That photo link redirects too many times.',
  http_status: 'The site did not return the photo.',
  too_large: 'That photo is too large (at most 1 MB).',
  not_image: 'That link is not a PNG, JPEG, GIF or WebP image.',
  timeout: 'Fetching the photo took too long.',
  network: 'The photo could not be fetched.',
};

export class PhotoFetchError extends InvalidInputError {
  constructor(
    readonly reason: PhotoFetchErrorReason,
    /** For logs; never shown to users. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(USER_MESSAGES[reason], options);
  }
}

export const DEFAULT_MAX_BYTES = 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_REDIRECTS = 3;
export const MAX_URL_LENGTH = 2048;
