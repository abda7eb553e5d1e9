/** The tab's client of the JSON API (src/web/api.ts): the Teams SSO token on every call, errors as ApiError. */

export type TokenProvider = () => Promise<string>;

export class ApiError extends Error {
  constructor(
    /** The HTTP status; 0 when the server could not be reached (the request may still have arrived). */
    readonly status: number,
    message: string,
    /** Seconds from a 429's Retry-After, when the server sent one. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export interface CallOptions {
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is, application/octet-stream (a file the user chose). */
  raw?: Blob;
  headers?: Record<string, string>;
}

export class ApiClient {
  constructor(
    private readonly token: TokenProvider,
    /** The server's base URL; API paths are relative to it. */
    private readonly base: URL,
  ) {}

  async call<T>(method: 'GET' | 'POST', path: string, options: CallOptions = {}): Promise<T> {
    let token: string;
    try {
      token = await this.token();
    } catch {
      throw new ApiError(401, 'We could not sign you in. Please try again.');
    }
    const headers: Record<string, string> = { ...options.headers, authorization: `Bearer ${token}`, accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.raw !== undefined) headers['content-type'] = 'application/octet-stream';
    let res: Response;
    try {
      res = await fetch(new URL(path, this.base), {
        method,
        headers,
        credentials: 'omit',
        cache: 'no-store',
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        ...(options.raw !== undefined ? { body: options.raw } : {}),
      });
    } catch {
      throw new ApiError(0, 'We could not reach the server. Check your connection and try again.');
    }
    const body = (await res.json().catch(() => ({}))) as { error?: unknown };
    if (!res.ok) {
      const retryAfter = Number(res.headers.get('retry-after'));
      throw new ApiError(
        res.status,
        typeof body.error === 'string' ? body.error : 'Something went wrong. Please try again.',
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
      );
    }
    return body as T;
  }
}
