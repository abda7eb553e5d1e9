import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TableClient, RestError } from '@azure/data-tables';
import { StorageUnavailableError } from '../../src/errors';
import { QueueClient } from '@azure/storage-queue';
import { addQueueDeadline, storageClientOptions, storageQueueOptions } from '../../src/storage/storageDeadline';
import { AZURITE_ACCOUNT, AZURITE_KEY, azuriteConnectionString, freeLoopbackPort } from '../../src/storage/embeddedAzurite';
import { freshTables } from '../helpers/azurite';

/** A table client as the app makes one (deadline and retries), pointed at whatever listens on `port`. */
function clientOn(port: number, timeoutMs: number): TableClient {
  return TableClient.fromConnectionString(azuriteConnectionString(port), 'deadlines', {
    allowInsecureConnection: true,
    ...storageClientOptions(timeoutMs),
  });
}

describe('Storage deadlines: every call ends within STORAGE_TIMEOUT_MS, retries included', () => {
  let silent: http.Server;
  let busy: http.Server;
  let busyRequests = 0;
  before(async () => {
    // Accepts connections and reads requests, never answers: a stopped or partitioned storage service.
    silent = http.createServer(() => undefined);
    // Answers every request 503 (a busy account): the SDK retries it, inside the deadline.
    busy = http.createServer((_req, res) => {
      busyRequests++;
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"odata.error":{"code":"ServerBusy","message":{"value":"busy"}}}');
    });
    await Promise.all([silent, busy].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
  });
  after(async () => {
    for (const s of [silent, busy]) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  it('ends a call to a storage that never answers with StorageUnavailableError (timeout)', async () => {
    const client = clientOn((silent.address() as AddressInfo).port, 300);
    const err = await client.getEntity('p', 'r').then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StorageUnavailableError, String(err));
    assert.equal(err.reason, 'timeout');
    assert.doesNotMatch(err.message, /PartitionKey|'p'/, 'keys stay out of the message');
  });

  it('ends a call to a storage that is not there with StorageUnavailableError (unreachable)', async () => {
    const client = clientOn(await freeLoopbackPort(), 2_000);
    await assert.rejects(client.getEntity('p', 'r'), (e: unknown) => e instanceof StorageUnavailableError && e.reason === 'unreachable');
  });

  it('retries a busy storage a few times, then gives its answer, never past the deadline', async () => {
    const client = clientOn((busy.address() as AddressInfo).port, 3_000);
    busyRequests = 0;
    const err = await client.getEntity('p', 'r').then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    // Either the retries ran out (the service's own 503) or the deadline came first; both are bounded.
    assert.ok(err instanceof RestError || err instanceof StorageUnavailableError, String(err));
    assert.ok(busyRequests >= 2, `retried: ${busyRequests} requests`);
  });

  it('bounds a queue client the same way', async () => {
    const port = (silent.address() as AddressInfo).port;
    const connectionString = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};QueueEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`;
    const queue = addQueueDeadline(new QueueClient(connectionString, 'work', storageQueueOptions(300)), 300);
    await assert.rejects(queue.sendMessage('hello'), (e: unknown) => e instanceof StorageUnavailableError && e.reason === 'timeout');
  });

  it("leaves the service's answers and the caller's own aborts as they were", async () => {
    const { clients } = await freshTables();
    await assert.rejects(clients.dedup.getEntity('p', 'missing'), (e: unknown) => e instanceof RestError && e.statusCode === 404);
    const client = clientOn((silent.address() as AddressInfo).port, 5_000);
    await assert.rejects(
      client.getEntity('p', 'r', { abortSignal: AbortSignal.timeout(100) }),
      (e: unknown) => (e as Error).name === 'AbortError',
    );
  });
});
