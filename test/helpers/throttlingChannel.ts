import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A call the channel accepted. */
export interface AcceptedCall {
  method: 'POST' | 'PUT' | 'DELETE';
  conversationId: string;
  tenant: string;
  activityId: string;
  activity: Record<string, unknown>;
  at: number;
}

export interface ThrottlingChannelOptions {
  /** Requests per second per tenant (Teams: 50 per app per tenant). */
  tenantRps: number;
  /** Token bucket size per tenant (burst); default a tenth of a second's worth. */
  tenantBurst?: number;
  /** Per conversation windows [limit, ms]; default Teams' 7/1 s, 8/2 s, 60/30 s, 1,800/h. */
  conversationWindows?: ReadonlyArray<readonly [number, number]>;
  /** Retry-After (seconds) on a 429. */
  retryAfterSeconds?: number;
  /** Answer time, to stand in for Teams' latency (ms). */
  latencyMs?: number;
}

/**
 * A stand-in for Teams' Bot Connector service that enforces Teams' limits: a token bucket per tenant (the
 * tenant is the conversation's `tenantId`) and sliding windows per conversation, answering 429 with Retry-After
 * beyond them. It speaks the REST calls the engine makes (send, update, delete, create conversation), records
 * every accepted call, and can be told to fail conversations (403/404 for good, 503 a number of times).
 */
export class ThrottlingChannel {
  readonly accepted: AcceptedCall[] = [];
  readonly throttled: Array<{ tenant: string; conversationId: string; at: number }> = [];
  /** conversation id -> status to answer (and how many more times; undefined = always). */
  readonly failures = new Map<string, { status: number; times?: number }>();
  /**
   * An outage of the whole channel while set: every call is answered with this status, or, with 'reset', its
   * connection is dropped unanswered (connection reset). Counted in `outageCalls`.
   */
  outage?: number | 'reset';
  outageCalls = 0;
  /**
   * Called with each accepted call before it is answered (a test changes the world at that exact point); a promise
   * it returns holds the answer until it settles.
   */
  onAccept?: (call: AcceptedCall) => void | Promise<void>;
  private server?: http.Server;
  private readonly buckets = new Map<string, { tokens: number; last: number }>();
  private readonly logs = new Map<string, number[]>();
  private nextId = 1;
  private readonly windows: ReadonlyArray<readonly [number, number]>;

  constructor(private readonly options: ThrottlingChannelOptions) {
    this.windows = options.conversationWindows ?? [
      [7, 1_000],
      [8, 2_000],
      [60, 30_000],
      [1_800, 3_600_000],
    ];
  }

  get serviceUrl(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}/`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** A conversation reference in this channel (what a member row would hold). */
  ref(userId: string, tenant: string): Record<string, unknown> {
    return {
      serviceUrl: this.serviceUrl,
      channelId: 'msteams',
      conversation: { id: `a:chat-${userId}`, tenantId: tenant, conversationType: 'personal' },
      user: { id: userId },
      bot: { id: 'bot' },
    };
  }

  sends(): AcceptedCall[] {
    return this.accepted.filter((c) => c.method === 'POST');
  }

  /** Posts received per conversation id, in arrival order (their `text`). */
  textsByConversation(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const call of this.sends()) {
      const list = out.get(call.conversationId) ?? [];
      list.push(String(call.activity.text ?? ''));
      out.set(call.conversationId, list);
    }
    return out;
  }

  /** The most calls accepted for one tenant within any `windowMs` (to check the combined rate). */
  maxInWindow(tenant: string, windowMs = 1_000): number {
    const times = this.accepted
      .filter((c) => c.tenant === tenant)
      .map((c) => c.at)
      .sort((a, b) => a - b);
    let max = 0;
    let start = 0;
    for (let end = 0; end < times.length; end++) {
      while (times[end]! - times[start]! >= windowMs) start++;
      max = Math.max(max, end - start + 1);
    }
    return max;
  }

  async waitFor(predicate: () => boolean, timeoutMs = 15_000, what = 'the channel'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline)
        throw new Error(`ThrottlingChannel: ${what} not reached in ${timeoutMs} ms (${this.accepted.length} accepted)`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private allowTenant(tenant: string, now: number): boolean {
    const rate = this.options.tenantRps;
    const burst = this.options.tenantBurst ?? Math.max(1, rate / 10);
    const bucket = this.buckets.get(tenant) ?? { tokens: burst, last: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.last) * rate) / 1000);
    bucket.last = now;
    this.buckets.set(tenant, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private allowConversation(conversationId: string, now: number): boolean {
    const log = this.logs.get(conversationId) ?? [];
    for (const [limit, ms] of this.windows) {
      if (log.filter((t) => t > now - ms).length >= limit) return false;
    }
    log.push(now);
    this.logs.set(conversationId, log.length > 2_000 ? log.slice(-2_000) : log);
    return true;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
        const send = () => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(body === undefined ? '' : JSON.stringify(body));
        };
        if (this.options.latencyMs) setTimeout(send, this.options.latencyMs);
        else send();
      };
      let activity: Record<string, unknown>;
      try {
        activity = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
      } catch {
        return answer(400, { error: { code: 'BadSyntax' } });
      }
      if (this.outage !== undefined) {
        this.outageCalls++;
        if (this.outage === 'reset') return void req.socket.destroy();
        return answer(this.outage, { error: { code: 'ServiceUnavailable' } });
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/v3/conversations' && req.method === 'POST') {
        const member = (activity.members as Array<{ id: string }> | undefined)?.[0]?.id ?? 'unknown';
        return answer(200, { id: `a:chat-${member}` });
      }
      const match = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(url.pathname);
      if (!match || !['POST', 'PUT', 'DELETE'].includes(req.method ?? '')) return answer(404, { error: { code: 'NotFound' } });
      const conversationId = decodeURIComponent(match[1]!);
      const conversation = activity.conversation as { tenantId?: string } | undefined;
      const tenant = conversation?.tenantId ?? '';
      const now = Date.now();
      const failure = this.failures.get(conversationId);
      if (failure) {
        if (failure.times !== undefined && --failure.times <= 0) this.failures.delete(conversationId);
        return answer(failure.status, { error: { code: failure.status === 403 ? 'MessageWritesBlocked' : 'ServiceError' } });
      }
      if (!this.allowTenant(tenant, now) || !this.allowConversation(conversationId, now)) {
        this.throttled.push({ tenant, conversationId, at: now });
        return answer(429, { error: { code: 'Throttled' } }, { 'retry-after': String(this.options.retryAfterSeconds ?? 1) });
      }
      const activityId = req.method === 'POST' ? `m-${this.nextId++}` : decodeURIComponent(match[2] ?? '');
      const call = { method: req.method as AcceptedCall['method'], conversationId, tenant, activityId, activity, at: now };
      this.accepted.push(call);
      const held = this.onAccept?.(call);
      const respond = () => answer(200, req.method === 'DELETE' ? undefined : { id: activityId });
      if (held) void held.finally(respond);
      else respond();
    });
  }
}
