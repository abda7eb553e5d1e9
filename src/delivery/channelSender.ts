/**
 * The engine's only way to Teams: send, update and delete one activity in a conversation named by an opaque
 * conversation reference. Implementations never retry: the engine owns backoff (it knows the lanes and budgets).
 */
export interface ChannelSender {
  send(conversationRef: unknown, activity: Record<string, unknown>): Promise<{ id: string }>;
  update(conversationRef: unknown, activityId: string, activity: Record<string, unknown>): Promise<void>;
  delete(conversationRef: unknown, activityId: string): Promise<void>;
  /**
   * A personal chat with a member who has none yet (joined in a group chat, a channel or the tab), where Teams
   * allows it; returns the new conversation's reference. Throws ChannelError 403/404 where it does not.
   */
  createConversation?(userId: string, tenantId: string, serviceUrl: string): Promise<unknown>;
}

/** A failed channel call: the HTTP status (0 for a network failure) and Teams' Retry-After, when it gave one. */
export class ChannelError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs?: number,
    readonly code?: string,
  ) {
    super(`channel answered ${status}${code ? ` ${code}` : ''}`);
    this.name = 'ChannelError';
  }
}

/**
 * What the engine does about a failed send: `throttled` (429) and `retry` (the channel or the way to it is not
 * answering: a network failure or timeout (status 0), 408, 412, any 5xx) are waited out; `unreachable`
 * (403/404) and `failed` (any other answer, e.g. 400 or 413) say the call never will succeed.
 */
export type FailureKind = 'throttled' | 'retry' | 'unreachable' | 'failed';

export function classify(err: unknown): FailureKind {
  if (!(err instanceof ChannelError)) return 'retry';
  if (err.status === 429) return 'throttled';
  if (err.status === 403 || err.status === 404) return 'unreachable';
  if (err.status === 0 || err.status === 408 || err.status === 412 || err.status >= 500) return 'retry';
  return 'failed';
}

/** Parses a Retry-After header (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
