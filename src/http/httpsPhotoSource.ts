import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import { classifyAddress, isPublicAddress } from './addressClass';
import {
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_REDIRECTS,
  DEFAULT_TIMEOUT_MS,
  MAX_URL_LENGTH,
  PhotoFetchError,
  type AddressPolicy,
  type FetchedImage,
  type PhotoFetchOptions,
  type PhotoSource,
  type ResolvedAddress,
} from './imageFetch';
import { abortable, pinnedGet, readImageResponse, readLimited, systemResolve } from './pinnedGet';

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

  /**
   * A file, not a picture (a chat export sent to the bot): the same URL, address and redirect rules, its own
   * size bound, the body as bytes (what it is, the caller reads).
   */
  fromFileUrl(url: string, maxBytes: number): Promise<Buffer> {
    return this.fetchWith(
      { url },
      (res) => {
        if (res.statusCode !== 200) {
          res.destroy();
          return Promise.reject(new PhotoFetchError('http_status', `status ${res.statusCode}`));
        }
        return readLimited(res, maxBytes);
      },
      '*/*',
    );
  }

  private fetchImage(request: FetchRequest): Promise<FetchedImage> {
    return this.fetchWith(request, (res) => readImageResponse(res, this.maxBytes));
  }

  private async fetchWith<T>(request: FetchRequest, read: (res: IncomingMessage) => Promise<T>, accept?: string): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      return await this.follow(request, controller.signal, read, accept);
    } catch (err) {
      if (controller.signal.aborted && !(err instanceof PhotoFetchError && err.reason !== 'network')) {
        throw new PhotoFetchError('timeout', `no answer within ${this.timeoutMs} ms`, { cause: err });
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async follow<T>(
    request: FetchRequest,
    signal: AbortSignal,
    read: (res: IncomingMessage) => Promise<T>,
    accept?: string,
  ): Promise<T> {
    let url = this.checkUrl(request.url);
    let bearerToken = request.bearerToken;
    const origin = url.origin;
    for (let hop = 0; ; hop++) {
      const target = await this.resolveChecked(url, signal);
      const res = await pinnedGet(url, target, { bearerToken, signal, ca: this.ca, ...(accept ? { accept } : {}) });
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
      return read(res);
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
