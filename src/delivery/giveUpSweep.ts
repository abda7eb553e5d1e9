import type { Logger } from '../logger';
import type { DeliveryStore } from './deliveryStore';
import type { LaneWork } from './workBody';

export interface GiveUpSweepOptions {
  /** A given-up copy is tried again this long after its last give-up (or its last retry). */
  retryAfterMs: number;
  /** After this many give-ups a copy stays given up (and counted as not reached). */
  maxGiveUps: number;
}

/**
 * Copies given up after the channel failed them transiently for long are not lost: each sweep queues the due
 * ones again (their rows back to `queued`, one `send` per post and lane), so they go out once the channel answers
 * again. A copy that fails again is given up again, and tried again later, up to `maxGiveUps` times.
 */
export async function requeueGiveUps(
  store: DeliveryStore,
  toLane: (work: LaneWork) => Promise<void>,
  options: GiveUpSweepOptions,
  logger: Logger,
  now = Date.now(),
): Promise<number> {
  const lanes = new Map<string, LaneWork>();
  let copies = 0;
  for await (const entry of store.retries()) {
    if (entry.n >= options.maxGiveUps || entry.at > now - options.retryAfterMs) continue;
    if (!(await store.requeue(entry, now))) continue;
    copies++;
    lanes.set(`${entry.groupId}|${entry.seq}|${entry.tenant}`, { k: 'send', g: entry.groupId, s: entry.seq, t: entry.tenant });
  }
  for (const work of lanes.values()) await toLane(work);
  if (copies) logger.info({ copies, lanes: lanes.size }, 'given-up copies queued again');
  return copies;
}
