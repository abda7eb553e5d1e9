import dns from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { PhotoFetchError, sniffImageType, type FetchedImage, type PhotoFetchOptions, type ResolvedAddress } from './imageFetch';

/* Outbound GET, one request at a time: to an address already checked, from the system resolver, read with a bound. */

/**
 * GET `url` from the address already checked, whatever DNS says now (no rebinding); TLS still verifies the
 * certificate against the URL's host name. No connection pool: each photo fetch stands alone.
 */
export function pinnedGet(
  url: URL,
  target: ResolvedAddress,
  options: { bearerToken?: string; signal: AbortSignal; ca?: PhotoFetchOptions['ca']; accept?: string },
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      accept: options.accept ?? 'image/png, image/jpeg, image/gif, image/webp',
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

export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
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
