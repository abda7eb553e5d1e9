/**
 * A thin typed client for the few Microsoft Graph calls bulk add makes (users, `$batch`, installedApps, chat).
 * Why not @microsoft/microsoft-graph-client: it is in maintenance (no release since 2023, its successor still a
 * preview), and it retries throttled calls itself, while bulk add's budget must own every retry (README,
 * "Bulk add"). Tokens come from @azure/identity (a TokenCredential); nothing here makes or reads a token.
 */
import type { TokenCredential } from '@azure/identity';

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
/** Graph's JSON batching takes at most 20 requests. */
export const MAX_BATCH = 20;

export interface GraphRequest {
  id: string;
  method: 'GET' | 'POST';
  /** Relative to the version root: `/users/ann@contoso.example?$select=id`. */
  url: string;
  body?: unknown;
}

export interface GraphResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Graph could not be used (not a per-request answer): the network, a 5xx of the batch itself, a bad token. */
export class GraphUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'GraphUnavailableError';
  }
}

export interface GraphClientOptions {
  /** GRAPH_BASE_URL, e.g. https://graph.microsoft.com/v1.0 */
  baseUrl: string;
  credential: TokenCredential;
  fetch?: typeof fetch;
  /** Per HTTP call. */
  timeoutMs?: number;
}

export class GraphClient {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: GraphClientOptions) {
    this.fetch = options.fetch ?? fetch;
  }

  /** One call; its status is the caller's to read (404, 409, 429 are answers, not errors). */
  async call(request: Omit<GraphRequest, 'id'>): Promise<GraphResponse> {
    const res = await this.send(request.method, request.url, request.body);
    return { id: '', status: res.status, headers: headersOf(res.headers), body: await bodyOf(res) };
  }

  /** Up to 20 requests in one `$batch`; each answer keeps its own status (one may be 429 while others are 200). */
  async batch(requests: readonly GraphRequest[]): Promise<GraphResponse[]> {
    if (requests.length === 0) return [];
    if (requests.length > MAX_BATCH) throw new RangeError(`a Graph batch takes at most ${MAX_BATCH} requests`);
    const res = await this.send('POST', '/$batch', {
      requests: requests.map((r) => ({
        id: r.id,
        method: r.method,
        url: r.url,
        ...(r.body !== undefined ? { body: r.body, headers: { 'content-type': 'application/json' } } : {}),
      })),
    });
    if (res.status !== 200) {
      throw new GraphUnavailableError(`Graph $batch answered ${res.status}`, retryAfterMs(res.headers.get('retry-after')));
    }
    const body = (await bodyOf(res)) as {
      responses?: Array<{ id: string; status: number; headers?: Record<string, string>; body?: unknown }>;
    };
    const byId = new Map((body.responses ?? []).map((r) => [String(r.id), r]));
    return requests.map((r) => {
      const answer = byId.get(r.id);
      if (!answer) throw new GraphUnavailableError(`Graph $batch gave no answer for request ${r.id}`);
      return { id: r.id, status: answer.status, headers: lowerKeys(answer.headers ?? {}), body: answer.body };
    });
  }

  private async send(method: string, url: string, body: unknown): Promise<Response> {
    let token: string;
    try {
      const issued = await this.options.credential.getToken(GRAPH_SCOPE);
      if (!issued) throw new Error('no token');
      token = issued.token;
    } catch (err) {
      // The credential's own message can name the tenant and app, never the secret; keep only its first line.
      throw new GraphUnavailableError(`no Graph token: ${String((err as Error).message).split('\n')[0]}`);
    }
    try {
      return await this.fetch(`${this.options.baseUrl.replace(/\/$/, '')}${url}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new GraphUnavailableError(`Graph did not answer: ${(err as Error).message}`);
    }
  }
}

/** Retry-After in seconds (Graph's form), as milliseconds; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds * 1000) : undefined;
}

function headersOf(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => (out[key.toLowerCase()] = value));
  return out;
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
}

async function bodyOf(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
