import { randomUUID } from 'node:crypto';
import { createDefaultHttpClient, createHttpHeaders, createPipelineRequest, type HttpClient } from '@azure/core-rest-pipeline';
import { RestError, type TableClient } from '@azure/data-tables';

/*
 * Inserts (or replaces) up to 100 entities of one partition as one entity-group transaction, with the request
 * body written here and sent through the table client's own pipeline (its credential, deadline and retries).
 * Why not the SDK's submitTransaction: it runs every entity through a whole client pipeline of its own to
 * build the body, some 40 KB of short-lived objects per row; over an import's 40,000 rows that garbage was
 * promoted faster than collected and grew the process by about 100 MB (bench/importBench.ts). Here a row costs
 * its JSON. Only plain string and number properties (what imported rows hold); failures are the SDK's
 * RestError with the sub-request's status and code, so isAlreadyExists and friends read them alike.
 */

export type BatchRow = { partitionKey: string; rowKey: string } & Record<string, string | number | boolean>;

const CRLF = '\r\n';
const clients = new WeakMap<TableClient, HttpClient>();

export async function submitEntityBatch(table: TableClient, rows: readonly BatchRow[], mode: 'create' | 'replace'): Promise<void> {
  if (rows.length === 0) return;
  const partitionKey = rows[0]!.partitionKey;
  if (rows.length > 100 || rows.some((r) => r.partitionKey !== partitionKey)) {
    throw new Error('An entity-group transaction holds at most 100 entities of one partition');
  }
  const base = table.url.replace(/\/+$/, '');
  const batch = `batch_${randomUUID()}`;
  const changeset = `changeset_${randomUUID()}`;
  const parts = [`--${batch}${CRLF}Content-Type: multipart/mixed; boundary=${changeset}${CRLF}`];
  for (const { partitionKey: pk, rowKey, ...properties } of rows) {
    const body = JSON.stringify({ PartitionKey: pk, RowKey: rowKey, ...properties });
    const line =
      mode === 'create'
        ? `POST ${base}/${table.tableName} HTTP/1.1`
        : `PUT ${base}/${table.tableName}(PartitionKey='${keyOf(pk)}',RowKey='${keyOf(rowKey)}') HTTP/1.1`;
    parts.push(
      [
        `--${changeset}`,
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        '',
        line,
        'Content-Type: application/json',
        'Accept: application/json;odata=minimalmetadata',
        'Prefer: return-no-content',
        'DataServiceVersion: 3.0',
        '',
        body,
      ].join(CRLF),
    );
  }
  const request = createPipelineRequest({
    url: `${base}/$batch`,
    method: 'POST',
    body: `${parts.join(CRLF)}${CRLF}--${changeset}--${CRLF}--${batch}--${CRLF}`,
    headers: createHttpHeaders({
      accept: 'application/json',
      'x-ms-version': '2019-02-02',
      DataServiceVersion: '3.0;',
      MaxDataServiceVersion: '3.0;NetFx',
      'Content-Type': `multipart/mixed; boundary=${batch}`,
    }),
    allowInsecureConnection: base.startsWith('http://'),
  });
  let http = clients.get(table);
  if (!http) clients.set(table, (http = createDefaultHttpClient()));
  const response = await table.pipeline.sendRequest(http, request);
  const text = response.bodyAsText ?? '';
  if (response.status < 200 || response.status >= 300) throw failure(text, response.status);
  // A changeset fails whole: the failed sub-request answers with its status and an error body.
  const failed = /HTTP\/1\.1 ([3-5]\d\d)/.exec(text);
  if (failed) throw failure(/\{[^]*\}/.exec(text.slice(failed.index))?.[0] ?? '', Number(failed[1]));
}

/** A key in a sub-request's URL: quotes doubled (OData), then URL-encoded. */
function keyOf(key: string): string {
  return encodeURIComponent(key.replace(/'/g, "''"));
}

function failure(body: string, statusCode: number): RestError {
  let error: { code?: string; message?: { value?: string } } | undefined;
  try {
    error = (JSON.parse(body) as { 'odata.error'?: typeof error })['odata.error'];
  } catch {
    error = undefined;
  }
  return new RestError(error?.message?.value ?? 'Transaction Failed', { code: error?.code, statusCode });
}
