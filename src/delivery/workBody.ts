import type { Recipient } from './ports';

/**
 * The work queues' messages: small pointers into the tables (a post, a lane of it), never the list of
 * recipients. `t` is the tenant lane: messages for a lane go to the lane's own queue, which only the lane's
 * lease holder polls (so they never bounce between instances); the shared queue carries posts, changes and
 * doorbells.
 */
export type WorkBody =
  /**
   * Doorbell on the shared queue: lane `t` has work in its own queue. Whoever gets it takes the lane when it is
   * free (and then polls the lane's queue); the holder polls it anyway.
   */
  | { k: 'lane'; t: string }
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
  | {
      k: 'oneoff';
      key: string;
      t: string;
      r: Recipient;
      a: Record<string, unknown>;
      /** Set for a chat the bot has never delivered to: the group whose "not reached" count takes its failure. */
      fresh?: { g: string };
    };

export type LaneWork = Extract<WorkBody, { k: 'send' | 'update' | 'purge' | 'oneoff' }>;
