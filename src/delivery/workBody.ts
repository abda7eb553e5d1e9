import type { Recipient } from './ports';

/**
 * The work queue's messages: small pointers into the tables (a post, a lane of it), never the list of
 * recipients. `t` is the tenant lane; only the lane's lease holder works on messages that carry one.
 */
export type WorkBody =
  /** Expand a post: one delivery row per recipient, then a `send` per tenant lane. */
  | { k: 'post'; g: string; s: number }
  /** Send a post's queued copies to one tenant. */
  | { k: 'send'; g: string; s: number; t: string }
  /** A post changed: find the lanes with copies to update. */
  | { k: 'change'; g: string; s: number }
  /** Update (or delete) one lane's delivered copies of a post. */
  | { k: 'update'; g: string; s: number; t: string }
  /** Delete the copies delivered to one member (organization removal). */
  | { k: 'purge'; g: string; u: string; t: string }
  /** One proactive message. */
  | { k: 'oneoff'; key: string; t: string; r: Recipient; a: Record<string, unknown> };

export function laneOf(body: WorkBody): string | undefined {
  return 't' in body ? body.t : undefined;
}
