import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import type { ProxyCounts, ProxyRequest, ProxyWorkerData } from './countingProxy';

/**
 * The worker side of bench/countingProxy.ts: a loopback HTTP proxy in front of Azurite's table service that
 * forwards every request unchanged and counts it by table and operation. It runs on its own thread so that the
 * counting does not take event-loop time from the bot, which runs on the bench's main thread.
 */

const { targetPort, tablePrefix } = workerData as ProxyWorkerData;
let { delayMs } = workerData as ProxyWorkerData;
const upstream = new http.Agent({ keepAlive: true, maxSockets: 256 });
const BATCH = 'transaction ($batch)';
let counts: ProxyCounts = { total: 0, byOperation: {}, failures: {} };

/**
 * `GET /devstoreaccount1/groups(PartitionKey='g',RowKey='member|u')` -> "groups read". The table name loses the
 * bench's prefix; a query is a GET on the table itself; PUT is "update" with If-Match, "upsert" without.
 */
function operationOf(method: string, url: string, ifMatch: string | undefined): string {
  const path = decodeURIComponent(new URL(url, 'http://proxy').pathname).split('/').slice(2).join('/');
  if (path === '$batch') return BATCH;
  if (path.startsWith('Tables')) return `table admin (${method})`;
  const match = /^([A-Za-z0-9]+)(\(.*\))?$/.exec(path);
  if (!match) return `${method} ${path}`;
  const table = match[1]!.startsWith(tablePrefix) ? match[1]!.slice(tablePrefix.length) : match[1]!;
  const entity = match[2] !== undefined && match[2] !== '()';
  const op =
    method === 'GET'
      ? entity
        ? 'read'
        : 'query'
      : method === 'POST'
        ? 'insert'
        : method === 'PUT'
          ? ifMatch
            ? 'update'
            : 'upsert'
          : method === 'PATCH' || method === 'MERGE'
            ? ifMatch
              ? 'merge'
              : 'upsert (merge)'
            : method === 'DELETE'
              ? 'delete'
              : method;
  return `${table} ${op}`;
}

function record(operation: string, status: number): void {
  counts.total++;
  counts.byOperation[operation] = (counts.byOperation[operation] ?? 0) + 1;
  if (status >= 400) {
    const key = `${operation} -> ${status}`;
    counts.failures[key] = (counts.failures[key] ?? 0) + 1;
  }
}

/**
 * A transaction is answered 202 even when it fails; the failing operation's status (412 for a lost eTag race on
 * a counter shard, 409 for a duplicate) is inside the multipart body. Count those too, so retries show.
 */
function countInnerFailures(response: http.IncomingMessage): void {
  const chunks: Buffer[] = [];
  response.on('data', (chunk: Buffer) => chunks.push(chunk));
  response.on('end', () => {
    for (const [, status] of Buffer.concat(chunks)
      .toString('latin1')
      .matchAll(/^HTTP\/1\.1 (\d{3})/gm)) {
      if (Number(status) >= 400) {
        const key = `${BATCH} -> ${status} inside`;
        counts.failures[key] = (counts.failures[key] ?? 0) + 1;
      }
    }
  });
}

const server = http.createServer((req, res) => {
  // The request waits (its body buffered by the stream) as it would on the network; calls in parallel wait together.
  if (delayMs > 0) setTimeout(() => proxy(req, res), delayMs);
  else proxy(req, res);
});

function proxy(req: http.IncomingMessage, res: http.ServerResponse): void {
  const operation = operationOf(req.method ?? 'GET', req.url ?? '/', req.headers['if-match'] as string | undefined);
  const forward = http.request(
    { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers, agent: upstream },
    (upstreamRes) => {
      record(operation, upstreamRes.statusCode ?? 0);
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      if (operation === BATCH) countInnerFailures(upstreamRes);
      upstreamRes.pipe(res);
    },
  );
  forward.on('error', (err) => {
    record(operation, 502);
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`counting proxy: ${err.message}`);
  });
  req.pipe(forward);
}
server.keepAliveTimeout = 30_000;

server.listen(0, '127.0.0.1', () => {
  parentPort!.postMessage({ type: 'listening', port: (server.address() as AddressInfo).port });
});

parentPort!.on('message', (message: ProxyRequest) => {
  if (message.type === 'snapshot') {
    parentPort!.postMessage({ type: 'snapshot', id: message.id, counts });
    if (message.reset) counts = { total: 0, byOperation: {}, failures: {} };
  } else if (message.type === 'delay') {
    delayMs = message.ms;
  } else if (message.type === 'close') {
    server.closeAllConnections();
    server.close(() => parentPort!.postMessage({ type: 'closed' }));
  }
});
