import type { Lane } from './lane';

/** What /healthz says about delivery: work that made no progress for minutes, by lane and by post. */
export interface DeliveryHealth {
  /** False when a lane with work or an unfinished post made no progress for `stallReportMs`. */
  progressing: boolean;
  stalledLanes: Array<{ tenant: string; sinceMs: number; paused: boolean }>;
  /** Unfinished posts whose work showed no progress (each by its own heartbeat), as the last sweep found them. */
  stalledPosts: Array<{ groupId: string; seq: number; sinceMs: number }>;
  /** Queue messages found no longer ours (harmless pop-receipt races), since start. */
  receiptRaces: number;
}

/**
 * A lane counts as stalled when it has had work and sent nothing for `stallReportMs` (a channel outage
 * included: that is worth reporting too, with `paused`); a post, when its heartbeat (written only while its work
 * makes progress) is that old.
 */
export function deliveryHealth(
  lanes: readonly Lane[],
  stalledPosts: Array<{ groupId: string; seq: number; sinceMs: number }>,
  stallReportMs: number,
  receiptRaces: number,
  now = Date.now(),
): DeliveryHealth {
  const stalledLanes = lanes.flatMap((lane) => {
    const since = lane.noProgressSince();
    return since !== undefined && now - since > stallReportMs
      ? [{ tenant: lane.tenant, sinceMs: now - since, paused: lane.isPaused(now) }]
      : [];
  });
  return { progressing: stalledLanes.length === 0 && stalledPosts.length === 0, stalledLanes, stalledPosts, receiptRaces };
}
