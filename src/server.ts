import restify, { type Server, type Request, type Response } from 'restify';
import type { Logger } from './logger';
import type { DeliveryHealth } from './delivery/health';

/** Bot Framework activities are small (Teams caps a message at ~28 KB); anything far larger is refused early. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Something that registers its own routes (landing page, tab, API, downloads). */
export type RouteModule = (server: Server) => void;

export interface ServerDependencies {
  logger: Logger;
  /** Handles POST /api/messages: channel authentication, then the bot's turn. */
  handleMessages: (req: Request, res: Response) => Promise<void>;
  /** True while storage answers. */
  healthCheck: () => Promise<boolean>;
  /** Delivery work without progress for minutes (a field of /healthz; the status code stays storage's). */
  deliveryHealth?: () => DeliveryHealth | undefined;
  routes?: RouteModule[];
  /**
   * POST paths whose body is a file (application/octet-stream) read by the route itself, with its own limit
   * (the tab's chat export upload, 50 MB): the JSON body parser and its 256 KB limit let them through.
   */
  rawBodyPaths?: RegExp[];
}

export function createServer(deps: ServerDependencies): Server {
  const server = restify.createServer({ name: 'kaizala-groups', handleUncaughtExceptions: false });
  // A body the parser cannot read is a client error; restify answers it without reaching our handlers.
  server.use(restify.plugins.queryParser({ mapParams: false }));
  const rawBodyPaths = deps.rawBodyPaths ?? [];
  server.pre((req, _res, next) => {
    // restify's reader skips octet-stream bodies; its parser would refuse them (415) but for this mark.
    if (req.method === 'POST' && req.contentType() === 'application/octet-stream' && rawBodyPaths.some((p) => p.test(req.path())))
      (req as unknown as { _parsedBody: boolean })._parsedBody = true;
    next();
  });
  server.use(restify.plugins.bodyParser({ maxBodySize: MAX_BODY_BYTES, mapParams: false, rejectUnknown: true }));
  server.pre((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });

  server.post('/api/messages', async (req: Request, res: Response) => {
    await deps.handleMessages(req, res);
  });

  server.get('/healthz', async (req: Request, res: Response) => {
    const healthy = await deps.healthCheck().catch(() => false);
    res.status(healthy ? 200 : 503);
    if (!healthy) return void res.json({ status: 'storage unavailable' });
    // A stalled lane or post is reported (with its details), not a 503: a restart does not cure a channel
    // outage. `?detail` shows the delivery figures when all is well too.
    const delivery = deps.deliveryHealth?.();
    const detail = (req.query as Record<string, unknown> | undefined)?.['detail'] !== undefined;
    if (delivery && !delivery.progressing) return void res.json({ status: 'delivery stalled', delivery });
    res.json(delivery && detail ? { status: 'ok', delivery } : { status: 'ok' });
  });

  for (const register of deps.routes ?? []) register(server);

  // Users and callers never see a stack: restify's default error body is replaced by a short JSON message.
  server.on(
    'restifyError',
    (req: Request, _res: Response, err: Error & { statusCode?: number; toJSON?: () => unknown }, callback: () => void) => {
      const status = err.statusCode ?? 500;
      if (status >= 500) deps.logger.error({ err, path: req.path() }, 'request failed');
      err.toJSON = () => ({ error: status === 413 ? 'The request is too large.' : status >= 500 ? 'Something went wrong.' : err.message });
      callback();
    },
  );
  return server;
}

export function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(`http://${host.includes(':') ? `[${host}]` : host}:${address.port}`);
    });
  });
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive sockets would hold close() open; new requests are refused already.
    (server.server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });
}
