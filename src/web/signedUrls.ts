import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed, expiring download links such as
 * `https://bot.example.com/downloads/poster.pptx?group=<id>&variant=move&exp=1767225600&sig=…`.
 *
 * The signature is HMAC-SHA256 (base64url, no padding) over a canonical form that does not depend on how the
 * query string was written:
 *
 *     kgt-url-v1 \n <path> \n <k1>=<v1>&<k2>=<v2>… \n <exp>
 *
 * where the path is the URL pathname (percent-encoded the way the WHATWG URL parser writes it), the parameters
 * are sorted by key (UTF-16 code unit order) and each key and value is `encodeURIComponent`-ed, and `exp` is the
 * expiry in whole seconds since the epoch. Changing the path, any parameter, `exp` or `sig` breaks the signature.
 *
 * The path signed is the one given to `sign()` (the route the server sees). When `publicUrl` has a base path
 * (`https://host/bot`), links are served under it, and `verify()` accepts the pathname with or without it.
 */

export interface UrlSignerOptions {
  /** The HMAC key: at least 32 bytes (a string is taken as UTF-8). */
  secret: string | Buffer;
  /** The public base URL of the bot's web server, e.g. `https://bot.example.com`. */
  publicUrl: string;
  /** Milliseconds since the epoch; `Date.now` by default. */
  now?: () => number;
}

export type VerifyResult = { ok: true; params: Record<string, string> } | { ok: false; reason: 'expired' | 'bad_signature' | 'malformed' };

/** The query parameters `verify()` accepts: a URLSearchParams, a query string, or a parsed query object. */
export type SearchParamsInput = URLSearchParams | string | Readonly<Record<string, string | readonly string[] | undefined>>;

export const MIN_SECRET_BYTES = 32;
/** The longest lifetime a link can be given (30 days). */
export const MAX_TTL_SECONDS = 30 * 24 * 60 * 60;

const RESERVED = new Set(['exp', 'sig']);
const SIG_PATTERN = /^[A-Za-z0-9_-]{43}$/; // 32 bytes, base64url without padding
const EXP_PATTERN = /^[1-9][0-9]{0,11}$/;
const CONTEXT = 'kgt-url-v1';

export class UrlSigner {
  readonly #key: Buffer;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #now: () => number;

  constructor(options: UrlSignerOptions) {
    const key = typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : Buffer.from(options.secret);
    if (key.length < MIN_SECRET_BYTES) {
      throw new RangeError(`UrlSigner: the secret must be at least ${MIN_SECRET_BYTES} bytes`);
    }
    let base: URL;
    try {
      base = new URL(options.publicUrl);
    } catch {
      throw new RangeError('UrlSigner: publicUrl must be an absolute URL');
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:') {
      throw new RangeError('UrlSigner: publicUrl must be an http(s) URL');
    }
    this.#key = key;
    this.#origin = base.origin;
    this.#basePath = base.pathname.replace(/\/+$/, '');
    this.#now = options.now ?? Date.now;
  }

  /** An absolute URL for `path` with `params`, valid for `ttlSeconds` from now. */
  sign(path: string, params: Record<string, string>, ttlSeconds: number): string {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > MAX_TTL_SECONDS) {
      throw new RangeError(`UrlSigner: ttlSeconds must be a whole number from 1 to ${MAX_TTL_SECONDS}`);
    }
    const pathname = normalizePath(path);
    if (pathname === undefined) throw new RangeError('UrlSigner: path must start with "/" and contain no query or fragment');
    const entries = Object.entries(params);
    for (const [key, value] of entries) {
      if (RESERVED.has(key)) throw new RangeError(`UrlSigner: "${key}" is reserved`);
      if (key === '' || typeof value !== 'string') throw new RangeError('UrlSigner: parameters must be non-empty keys with string values');
    }
    const exp = Math.floor(this.#now() / 1000) + ttlSeconds;
    const sig = this.#signature(pathname, entries, exp);

    const query = new URLSearchParams();
    for (const [key, value] of sortEntries(entries)) query.append(key, value);
    query.append('exp', String(exp));
    query.append('sig', sig);
    return `${this.#origin}${this.#basePath}${pathname}?${query.toString()}`;
  }

  /**
   * Checks a request's pathname and query. A wrong signature is reported before an expiry, so only an untouched
   * link is ever called "expired". On success, `params` holds the signed parameters (without `exp` and `sig`).
   */
  verify(pathname: string, searchParams: SearchParamsInput): VerifyResult {
    const normalized = normalizePath(pathname);
    const entries = toEntries(searchParams);
    if (normalized === undefined || entries === undefined) return { ok: false, reason: 'malformed' };

    const seen = new Set<string>();
    const params: [string, string][] = [];
    let exp: string | undefined;
    let sig: string | undefined;
    for (const [key, value] of entries) {
      if (seen.has(key) || key === '') return { ok: false, reason: 'malformed' };
      seen.add(key);
      if (key === 'exp') exp = value;
      else if (key === 'sig') sig = value;
      else params.push([key, value]);
    }
    if (exp === undefined || sig === undefined || !EXP_PATTERN.test(exp) || !SIG_PATTERN.test(sig)) {
      return { ok: false, reason: 'malformed' };
    }
    const expSeconds = Number(exp);
    // Compare the base64url text, not the decoded bytes: the last of 43 characters carries 2 unused bits, so
    // decoding would accept four spellings of the same signature.
    const given = Buffer.from(sig, 'ascii');
    const candidates = [normalized];
    if (this.#basePath !== '' && normalized.startsWith(`${this.#basePath}/`)) candidates.push(normalized.slice(this.#basePath.length));
    const valid = candidates.some((candidate) => {
      const expected = Buffer.from(this.#signature(candidate, params, expSeconds), 'ascii');
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
    if (!valid) return { ok: false, reason: 'bad_signature' };
    if (Math.floor(this.#now() / 1000) >= expSeconds) return { ok: false, reason: 'expired' };
    return { ok: true, params: Object.fromEntries(params) };
  }

  #signature(pathname: string, entries: readonly (readonly [string, string])[], exp: number): string {
    const query = sortEntries(entries)
      .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
      .join('&');
    return createHmac('sha256', this.#key).update(`${CONTEXT}\n${pathname}\n${query}\n${exp}`, 'utf8').digest('base64url');
  }
}

/** The pathname as the URL parser writes it, or undefined when it is not a bare absolute path. */
function normalizePath(path: string): string | undefined {
  if (!path.startsWith('/') || path.startsWith('//') || /[?#\\]/.test(path)) return undefined;
  try {
    return new URL(path, 'http://x.invalid').pathname;
  } catch {
    return undefined;
  }
}

function sortEntries(entries: readonly (readonly [string, string])[]): (readonly [string, string])[] {
  return [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function toEntries(input: SearchParamsInput): [string, string][] | undefined {
  if (typeof input === 'string') return [...new URLSearchParams(input)];
  if (input instanceof URLSearchParams) return [...input];
  const out: [string, string][] = [];
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (typeof value === 'string') out.push([key, value]);
    else if (value.length === 1 && typeof value[0] === 'string') out.push([key, value[0]]);
    else return undefined; // repeated parameter
  }
  return out;
}
