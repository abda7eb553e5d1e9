import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** An activity the bot sent to the channel, with how it was sent. */
export interface SentActivity {
  method: string;
  path: string;
  conversationId: string;
  authorization?: string;
  /** When the channel accepted it (Date.now()). */
  at: number;
  /** The activity id the channel answered with. */
  id?: string;
  activity: Record<string, unknown> & {
    type?: string;
    text?: string;
    attachments?: Array<{ contentType: string; content: Record<string, unknown> }>;
    replyToId?: string;
    recipient?: { id: string };
  };
}

/**
 * A stand-in for the Teams channel's connector service (the activity's `serviceUrl`): a loopback HTTP server that
 * speaks the Bot Connector REST API the SDK calls (send, reply, update, create conversation) and records it.
 */
export class FakeChannel {
  readonly sent: SentActivity[] = [];
  /** Conversations the bot created (POST /v3/conversations): the new id and the body it sent. */
  readonly created: Array<{ id: string; body: { members?: Array<{ id: string }>; tenantId?: string } }> = [];
  private server?: http.Server;
  private waiters: Array<() => void> = [];
  private nextId = 1;
  /** Fault tests: connector calls whose activity matches fail with `status` (the SDK retries them, so all fail). */
  failWhen?: { match: (activity: SentActivity['activity']) => boolean; status: number };
  /**
   * Delivery tests: answers one connector call with a status (and Retry-After seconds) instead of accepting it,
   * as Teams does when a tenant is throttled (429) or a member blocked the bot (403). Asked once per call.
   */
  refuse?: (call: {
    method: string;
    conversationId: string;
    activity: SentActivity['activity'];
  }) => { status: number; retryAfterSeconds?: number } | undefined;
  /** The calls answered by `refuse`. */
  readonly refused: Array<{ method: string; conversationId: string; status: number; at: number }> = [];
  /** Requests the channel answers itself besides the connector API (attachments it hosts); true when handled. */
  hosted?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

  get serviceUrl(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}/`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  clear(): void {
    this.sent.length = 0;
  }

  /** Activities sent to one conversation, in order. */
  to(conversationId: string): SentActivity[] {
    return this.sent.filter((s) => s.conversationId === conversationId);
  }

  /** Resolves when `predicate` holds over what has been sent, or rejects after `timeoutMs`. */
  async waitFor(predicate: (sent: SentActivity[]) => boolean, timeoutMs = 5_000): Promise<SentActivity[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.sent)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `FakeChannel: condition not met in ${timeoutMs} ms; sent: ${JSON.stringify(this.sent.map((s) => s.activity.text ?? s.activity.attachments?.[0]?.contentType))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.sent;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.hosted?.(req, res)) return;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const parsed = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      if (this.failWhen?.match(parsed)) {
        // Two calls: restify, once loaded, patches writeHead to return undefined.
        res.writeHead(this.failWhen.status, { 'content-type': 'application/json' });
        res.end('{"error":{"code":"ServiceError"}}');
        return;
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const body = parsed;
      const create = url.pathname === '/v3/conversations' && req.method === 'POST';
      const match = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(url.pathname);
      if (create) {
        const id = `a:created-${this.nextId++}`;
        this.created.push({ id, body });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id, activityId: `act-${this.nextId}` }));
        return;
      }
      if (!match) {
        res.writeHead(404);
        res.end();
        return;
      }
      const conversationId = decodeURIComponent(match[1]!);
      const refusal = this.refuse?.({ method: req.method ?? 'POST', conversationId, activity: body });
      if (refusal) {
        this.refused.push({ method: req.method ?? 'POST', conversationId, status: refusal.status, at: Date.now() });
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (refusal.retryAfterSeconds !== undefined) headers['retry-after'] = String(refusal.retryAfterSeconds);
        res.writeHead(refusal.status, headers);
        res.end('{"error":{"code":"Refused"}}');
        for (const wake of this.waiters.splice(0)) wake();
        return;
      }
      // An update answers with the id it updated; a send or reply gets a new one.
      const id = req.method === 'PUT' && match[2] ? decodeURIComponent(match[2]) : `reply-${this.nextId++}`;
      this.sent.push({
        at: Date.now(),
        id,
        method: req.method ?? 'POST',
        path: url.pathname,
        conversationId,
        authorization: req.headers.authorization,
        activity: body,
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id }));
      for (const wake of this.waiters.splice(0)) wake();
    });
  }
}
