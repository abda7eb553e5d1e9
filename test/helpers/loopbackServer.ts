import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/** One recorded request to a loopback test double (headers as received; tests may inspect them). */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface JsonReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type LoopbackHandler = (req: RecordedRequest) => JsonReply | Promise<JsonReply>;

/** A minimal HTTP server on 127.0.0.1:<ephemeral> that records every request and answers JSON. */
export class LoopbackServer {
  readonly requests: RecordedRequest[] = [];
  private server?: http.Server | https.Server;
  private base = '';

  /** `tls`: serve HTTPS with this key and certificate (clients that insist on https, such as MSAL's authority). */
  constructor(
    private readonly handler: LoopbackHandler,
    private readonly tls?: { key: string; cert: string },
  ) {}

  get url(): string {
    return this.base;
  }

  async start(): Promise<this> {
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const parsed = new URL(req.url ?? '/', this.base);
        const recorded: RecordedRequest = {
          method: req.method ?? 'GET',
          path: parsed.pathname,
          query: parsed.searchParams,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        this.requests.push(recorded);
        Promise.resolve()
          .then(() => this.handler(recorded))
          .catch((): JsonReply => ({ status: 500, body: { error: 'fake failed' } }))
          .then((reply) => {
            const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
            res.writeHead(reply.status, {
              ...(payload ? { 'content-type': 'application/json' } : {}),
              ...reply.headers,
            });
            res.end(payload);
          });
      });
    };
    const server = this.tls ? https.createServer(this.tls, onRequest) : http.createServer(onRequest);
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.base = `${this.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  /** Requests whose path equals `path`. */
  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
