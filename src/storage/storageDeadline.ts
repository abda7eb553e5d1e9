import type { Pipeline, PipelinePolicy, PipelineRetryOptions } from '@azure/core-rest-pipeline';
import type { QueueClient } from '@azure/storage-queue';
import { RestError } from '@azure/data-tables';
import { StorageUnavailableError } from '../errors';

export const DEFAULT_STORAGE_TIMEOUT_MS = 3_000;

/** Network failures of the HTTP client (no status: the service never answered). */
const UNREACHABLE_CODES = new Set([
  'REQUEST_SEND_ERROR',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

/**
 * One deadline per storage operation, retries and their back-off included. The Azure SDK has no such thing: its
 * default is no per-try timeout and 3 retries with exponential back-off, so a storage service that accepts
 * connections but never answers (a stopped process, a partitioned network) holds a turn for as long as the
 * connection lives. This policy runs per call, outside the retry policy, and hands every try the same abort
 * signal, which fires `timeoutMs` after the call started; the retry policy's waits listen to it too.
 *
 * A call cut by the deadline, or that never reached the service, ends as StorageUnavailableError; an abort asked
 * for by the caller stays the caller's AbortError, and every answer from the service (404, 409, 412, 5xx after
 * the retries) stays the SDK's RestError.
 */
export function storageDeadlinePolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: 'storageDeadlinePolicy',
    async sendRequest(request, next) {
      const caller = request.abortSignal;
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(), timeoutMs);
      const onCallerAbort = () => deadline.abort();
      if (caller?.aborted) deadline.abort();
      caller?.addEventListener('abort', onCallerAbort);
      request.abortSignal = deadline.signal;
      try {
        return await next(request);
      } catch (err) {
        if (caller?.aborted) throw err;
        if (deadline.signal.aborted) {
          throw new StorageUnavailableError('timeout', `${request.method} ${pathOf(request.url)} got no answer within ${timeoutMs} ms`, {
            cause: err,
          });
        }
        if (err instanceof RestError && err.statusCode === undefined && UNREACHABLE_CODES.has(err.code ?? '')) {
          throw new StorageUnavailableError('unreachable', `${request.method} ${pathOf(request.url)}: ${err.code}`, { cause: err });
        }
        throw err;
      } finally {
        clearTimeout(timer);
        caller?.removeEventListener('abort', onCallerAbort);
        request.abortSignal = caller;
      }
    },
  };
}

/**
 * Retries that fit inside the deadline: a few quick ones for a blip (a dropped connection, a 503 from a busy
 * account), not the SDK's default back-off of 0.8 s doubling to a minute.
 */
export function storageRetryOptions(timeoutMs: number): PipelineRetryOptions {
  return {
    maxRetries: 3,
    retryDelayInMs: Math.max(20, Math.min(200, Math.floor(timeoutMs / 15))),
    maxRetryDelayInMs: Math.max(50, Math.floor(timeoutMs / 3)),
  };
}

/**
 * Options for any core-client based storage client (TableClient; the same shape works for other Azure SDK
 * clients built on @azure/core-client): the deadline policy per call, and retries that fit in it.
 */
export function storageClientOptions(timeoutMs: number = DEFAULT_STORAGE_TIMEOUT_MS) {
  return {
    retryOptions: storageRetryOptions(timeoutMs),
    additionalPolicies: [{ policy: storageDeadlinePolicy(timeoutMs), position: 'perCall' as const }],
  };
}

/**
 * The same for an @azure/storage-queue QueueClient, whose pipeline is built differently: pass
 * `storageQueueOptions(timeoutMs)` to its constructor, then `addQueueDeadline(client, timeoutMs)`. The client
 * keeps its core pipeline in `storageClientContext.pipeline` (protected; stable across 12.x), which is where the
 * deadline policy goes.
 */
export function storageQueueOptions(timeoutMs: number = DEFAULT_STORAGE_TIMEOUT_MS) {
  const retry = storageRetryOptions(timeoutMs);
  return {
    retryOptions: { maxTries: retry.maxRetries! + 1, retryDelayInMs: retry.retryDelayInMs, maxRetryDelayInMs: retry.maxRetryDelayInMs },
  };
}

export function addQueueDeadline<T extends QueueClient>(client: T, timeoutMs: number = DEFAULT_STORAGE_TIMEOUT_MS): T {
  const context = (client as unknown as { storageClientContext: { pipeline: Pipeline } }).storageClientContext;
  // No phase: such policies run before the Retry phase, so once per call, around every retry and its waits.
  context.pipeline.addPolicy(storageDeadlinePolicy(timeoutMs));
  return client;
}

function pathOf(url: string): string {
  try {
    // The table, not the keys (user ids) nor the query (a SAS signature would be there).
    return new URL(url).pathname.replace(/\(.*$/, '');
  } catch {
    return '(url)';
  }
}
