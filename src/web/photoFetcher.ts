/**
 * Fetches a group photo from a URL a user typed, or from a Teams attachment, without letting that URL reach
 * into our network (SSRF). The rules:
 * - https only; no credentials in the URL; port 443 unless configured.
 * - The host is resolved here and every address must be public (see classifyAddress): no private, loopback,
 *   link-local, CGNAT, multicast, unspecified, documentation or reserved ranges, and no IPv6 forms that embed
 *   such an IPv4 address (IPv4-mapped, NAT64, 6to4). The connection then goes to that checked address (a pinned
 *   `lookup`), so a second DNS answer cannot swap it (DNS rebinding).
 * - Redirects are followed by hand, at most 3, and each hop is checked again the same way.
 * - At most 1 MiB (Content-Length is checked first, and the stream is cut past the limit), 10 s in total.
 * - The bytes must be PNG, JPEG, GIF or WebP by their magic numbers; Content-Type alone is not trusted.
 */
import dns from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { InvalidInputError } from '../errors';

export type ImageContentType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';

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
  | 'bad_url'
  | 'blocked_address'
  | 'dns'
  | 'too_many_redirects'
  | 'http_status'
  | 'too_large'
  | 'not_image'
  | 'timeout'
  | 'network';

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
const MAX_URL_LENGTH = 2048;

// ---------------------------------------------------------------------------------------------------------
// Address classification

export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'linkLocal'
  | 'cgnat'
  | 'multicast'
  | 'broadcast'
  | 'uniqueLocal'
  | 'siteLocal'
  | 'documentation'
  | 'benchmarking'
  | 'reserved'
  | 'invalid';

function parseIPv4(text: string): number[] | undefined {
  if (!net.isIPv4(text)) return undefined;
  return text.split('.').map(Number);
}

/** 16 bytes of an IPv6 address (zone ids are dropped), or undefined. */
export function parseIPv6(text: string): Uint8Array | undefined {
  const withoutZone = text.replace(/%.*$/, '');
  if (!net.isIPv6(withoutZone)) return undefined;
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = parseIPv4(g);
        if (!v4) return [NaN];
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const halves = withoutZone.split('::');
  const head = groups(halves[0]!);
  const tail = halves.length > 1 ? groups(halves[1]!) : [];
  const words = halves.length > 1 ? [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail] : head;
  if (words.length !== 8 || words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return undefined;
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

function classifyIPv4Bytes(b: ArrayLike<number>): AddressClass {
  const [a, c] = [b[0]!, b[1]!];
  const d = b[2]!;
  if (a === 0) return 'unspecified'; // 0.0.0.0/8 "this network"
  if (a === 10) return 'private';
  if (a === 100 && c >= 64 && c <= 127) return 'cgnat'; // 100.64.0.0/10
  if (a === 127) return 'loopback';
  if (a === 169 && c === 254) return 'linkLocal';
  if (a === 172 && c >= 16 && c <= 31) return 'private';
  if (a === 192 && c === 0 && d === 0) return 'reserved'; // IETF protocol assignments
  if (a === 192 && c === 0 && d === 2) return 'documentation';
  if (a === 192 && c === 88 && d === 99) return 'reserved'; // 6to4 relay anycast (deprecated)
  if (a === 192 && c === 168) return 'private';
  if (a === 198 && (c === 18 || c === 19)) return 'benchmarking';
  if (a === 198 && c === 51 && d === 100) return 'documentation';
  if (a === 203 && c === 0 && d === 113) return 'documentation';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a === 255 && c === 255 && d === 255 && b[3] === 255) return 'broadcast';
  if (a >= 240) return 'reserved';
  return 'public';
}

function classifyIPv6Bytes(b: Uint8Array): AddressClass {
  const zeroUpTo = (n: number) => b.subarray(0, n).every((x) => x === 0);
  const word = (i: number) => (b[2 * i]! << 8) | b[2 * i + 1]!;
  if (zeroUpTo(16)) return 'unspecified';
  if (zeroUpTo(15) && b[15] === 1) return 'loopback';
  // ::ffff:a.b.c.d (IPv4-mapped): the kernel connects to the IPv4 address.
  if (zeroUpTo(10) && b[10] === 0xff && b[11] === 0xff) return classifyIPv4Bytes(b.subarray(12));
  if (b[0] === 0 && b[1] === 0) return 'reserved'; // rest of ::/16, incl. deprecated IPv4-compatible ::a.b.c.d
  // 64:ff9b::/96 NAT64: reaches the embedded IPv4 address.
  if (word(0) === 0x64 && word(1) === 0xff9b && word(2) === 0 && word(3) === 0 && word(4) === 0 && word(5) === 0) {
    return classifyIPv4Bytes(b.subarray(12));
  }
  if (word(0) === 0x64 && word(1) === 0xff9b && word(2) === 1) return 'private'; // 64:ff9b:1::/48 local-use NAT64
  if (word(0) === 0x100 && word(1) === 0 && word(2) === 0 && word(3) === 0) return 'reserved'; // 100::/64 discard
  if (word(0) === 0x2001 && word(1) === 0x0db8) return 'documentation';
  if (word(0) === 0x2001 && word(1) < 0x200) return 'reserved'; // 2001::/23 incl. Teredo (hides the target)
  if (word(0) === 0x2002) return classifyIPv4Bytes(b.subarray(2, 6)); // 6to4 embeds an IPv4 address
  if (word(0) === 0x3fff && word(1) < 0x1000) return 'documentation'; // 3fff::/20
  if (word(0) === 0x5f00) return 'reserved'; // SRv6 SIDs
  if ((b[0]! & 0xfe) === 0xfc) return 'uniqueLocal'; // fc00::/7
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'linkLocal'; // fe80::/10
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return 'siteLocal'; // fec0::/10 (deprecated)
  if (b[0] === 0xff) return 'multicast';
  if ((b[0]! & 0xe0) === 0x20) return 'public'; // 2000::/3 global unicast
  return 'reserved';
}

/** What kind of address this is; anything not 'public' must not be fetched from. */
export function classifyAddress(address: string): AddressClass {
  const text = address.replace(/^\[(.*)\]$/, '$1');
  const v4 = parseIPv4(text);
  if (v4) return classifyIPv4Bytes(v4);
  const v6 = parseIPv6(text);
  if (v6) return classifyIPv6Bytes(v6);
  return 'invalid';
}

export function isPublicAddress(address: string): boolean {
  return classifyAddress(address) === 'public';
}

// ---------------------------------------------------------------------------------------------------------
// Image sniffing

export function sniffImageType(bytes: Uint8Array): ImageContentType | undefined {
  const starts = (sig: number[], at = 0) => bytes.length >= at + sig.length && sig.every((x, i) => bytes[at + i] === x);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts([0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts([0x47, 0x49, 0x46, 0x38, 0x37, 0x61]) || starts([0x47, 0x49, 0x46, 0x38, 0x39, 0x61])) return 'image/gif';
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Fetching

interface FetchRequest {
  url: string;
  /** Sent only to the origin of `url`; dropped when a redirect leaves it. */
  bearerToken?: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** The default PhotoSource: https with the rules in this file's header. */
export class HttpsPhotoSource implements PhotoSource {
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  private readonly maxRedirects: number;
  private readonly allowedPorts: ReadonlySet<number>;
  private readonly addressPolicy: AddressPolicy;
  private readonly resolve: (hostname: string) => Promise<ResolvedAddress[]>;
  private readonly ca: PhotoFetchOptions['ca'];

  constructor(options: PhotoFetchOptions = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    this.allowedPorts = new Set(options.allowedPorts ?? [443]);
    this.addressPolicy = options.addressPolicy ?? isPublicAddress;
    this.resolve = options.resolve ?? systemResolve;
    this.ca = options.ca;
  }

  fromUrl(url: string): Promise<FetchedImage> {
    return this.fetchImage({ url });
  }

  /** Same rules; the bearer token goes to the URL's own origin only. */
  fromAttachmentUrl(url: string, bearerToken?: string): Promise<FetchedImage> {
    return this.fetchImage({ url, ...(bearerToken ? { bearerToken } : {}) });
  }

  /** Checks a URL against the scheme/credentials/port rules; returns it parsed. */
  checkUrl(raw: string): URL {
    if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_URL_LENGTH) {
      throw new PhotoFetchError('bad_url', 'empty or too long');
    }
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      throw new PhotoFetchError('bad_url', 'not an absolute URL');
    }
    if (url.protocol !== 'https:') throw new PhotoFetchError('bad_url', `scheme ${url.protocol} refused`);
    if (url.username || url.password) throw new PhotoFetchError('bad_url', 'credentials in URL');
    const port = url.port === '' ? 443 : Number(url.port);
    if (!this.allowedPorts.has(port)) throw new PhotoFetchError('bad_url', `port ${port} refused`);
    if (!url.hostname) throw new PhotoFetchError('bad_url', 'no host');
    return url;
  }

  private async fetchImage(request: FetchRequest): Promise<FetchedImage> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      return await this.follow(request, controller.signal);
    } catch (err) {
      if (controller.signal.aborted && !(err instanceof PhotoFetchError && err.reason !== 'network')) {
        throw new PhotoFetchError('timeout', `no answer within ${this.timeoutMs} ms`, { cause: err });
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async follow(request: FetchRequest, signal: AbortSignal): Promise<FetchedImage> {
    let url = this.checkUrl(request.url);
    let bearerToken = request.bearerToken;
    const origin = url.origin;
    for (let hop = 0; ; hop++) {
      const target = await this.resolveChecked(url, signal);
      const res = await pinnedGet(url, target, { bearerToken, signal, ca: this.ca });
      const status = res.statusCode ?? 0;
      if (REDIRECTS.has(status)) {
        res.destroy();
        if (hop >= this.maxRedirects) throw new PhotoFetchError('too_many_redirects', `more than ${this.maxRedirects}`);
        const location = res.headers.location;
        if (!location) throw new PhotoFetchError('http_status', `${status} without Location`);
        let next: string;
        try {
          next = new URL(location, url).href;
        } catch {
          throw new PhotoFetchError('bad_url', 'redirect to an invalid URL');
        }
        url = this.checkUrl(next);
        if (url.origin !== origin) bearerToken = undefined;
        continue;
      }
      return readImageResponse(res, this.maxBytes);
    }
  }

  private async resolveChecked(url: URL, signal: AbortSignal): Promise<ResolvedAddress> {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    let addresses: ResolvedAddress[];
    const family = net.isIP(host);
    if (family === 4 || family === 6) {
      addresses = [{ address: host, family }];
    } else {
      try {
        addresses = await abortable(this.resolve(host), signal);
      } catch (err) {
        if (signal.aborted) throw err;
        throw new PhotoFetchError('dns', `cannot resolve ${host}`, { cause: err });
      }
      if (addresses.length === 0) throw new PhotoFetchError('dns', `no address for ${host}`);
    }
    // Every answer must pass, not just the first: a mixed answer is an attack or a misconfiguration.
    const refused = addresses.find((a) => !this.addressPolicy(a.address));
    if (refused) throw new PhotoFetchError('blocked_address', `${host} -> ${refused.address} (${classifyAddress(refused.address)})`);
    return addresses[0]!;
  }

}

/**
 * GET `url` from the address already checked, whatever DNS says now (no rebinding); TLS still verifies the
 * certificate against the URL's host name. No connection pool: each photo fetch stands alone.
 */
export function pinnedGet(
  url: URL,
  target: ResolvedAddress,
  options: { bearerToken?: string; signal: AbortSignal; ca?: PhotoFetchOptions['ca'] },
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      accept: 'image/png, image/jpeg, image/gif, image/webp',
      'user-agent': 'KaizalaGroupsForTeams/1 (group photo)',
    };
    if (options.bearerToken) headers['authorization'] = `Bearer ${options.bearerToken}`;
    const pinned = ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
      if (opts?.all) cb(null, [{ address: target.address, family: target.family }]);
      else cb(null, target.address, target.family);
    }) as unknown as net.LookupFunction;
    const secure = url.protocol === 'https:';
    const req = (secure ? https.request : http.request)(
      {
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers,
        agent: false,
        lookup: pinned,
        signal: options.signal,
        ...(secure && options.ca ? { ca: options.ca as string | Buffer | Array<string | Buffer> } : {}),
      },
      resolve,
    );
    req.on('error', (err) => reject(err instanceof PhotoFetchError ? err : new PhotoFetchError('network', err.message, { cause: err })));
    req.end();
  });
}

/** Every address the system resolver gives for a host (checked one by one by the address policy). */
export function systemResolve(hostname: string): Promise<ResolvedAddress[]> {
  return dns.promises
    .lookup(hostname, { all: true, verbatim: true })
    .then((list) => list.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })));
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * The image in a final (non-redirect) response: 200 only, a declared type that can be an image, at most
 * `maxBytes`, and bytes that really are PNG, JPEG, GIF or WebP (the declared type is not trusted).
 */
export async function readImageResponse(res: IncomingMessage, maxBytes: number): Promise<FetchedImage> {
  const status = res.statusCode ?? 0;
  if (status !== 200) {
    res.destroy();
    throw new PhotoFetchError('http_status', `HTTP ${status}`);
  }
  const declared = (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (declared && !declared.startsWith('image/') && declared !== 'application/octet-stream') {
    res.destroy();
    throw new PhotoFetchError('not_image', `Content-Type ${declared}`);
  }
  const length = Number(res.headers['content-length']);
  if (Number.isFinite(length) && length > maxBytes) {
    res.destroy();
    throw new PhotoFetchError('too_large', `Content-Length ${length}`);
  }
  const bytes = await readLimited(res, maxBytes);
  const contentType = sniffImageType(bytes);
  if (!contentType) throw new PhotoFetchError('not_image', 'unknown magic bytes');
  return { bytes, contentType };
}

/** The response body, or a too_large error as soon as it passes `maxBytes`. */
export function readLimited(res: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    res.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) {
        // Reject before destroying: destroy() emits 'aborted' synchronously.
        reject(new PhotoFetchError('too_large', `more than ${maxBytes} bytes`));
        res.destroy();
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', (err) => reject(new PhotoFetchError('network', err.message, { cause: err })));
    res.on('aborted', () => reject(new PhotoFetchError('network', 'response aborted')));
  });
}

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
export const BOT_TOKEN_HOSTS: readonly string[] = ['smba.trafficmanager.net', '*.smba.trafficmanager.net', '*.botframework.com'];

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
      const fileType = typeof content.fileType === 'string' ? content.fileType.toLowerCase() : (att.name?.split('.').pop() ?? '').toLowerCase();
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
