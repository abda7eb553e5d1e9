/**
 * Per-recipient order within a tenant lane. A member's copies all go through one lane (the member's tenant),
 * held by one instance at a time, so the lane is where a group's posts can flow as waves behind each other:
 * a later post's copy goes to a member as soon as every earlier post of the group has settled that member's copy
 * (sent and recorded, or skipped, refused, given up). The copies of one post to different members do not wait
 * for each other.
 *
 * Each post's send item in the lane says, for a row key (a member), what it knows (see `CopyKnowledge`); a later
 * item asks the earlier ones, nearest first (`mayGo`). A member's copy that is settled implies every earlier
 * one was (it went only after they were), so the walk stops there; an earlier post without a row for the member
 * (its sender, a member who joined after it) is passed over.
 */

/**
 * What a post's lane item knows about one member's copy: `settled` (written to the table as sent, skipped, ...),
 * `pending` (read, not settled), `none` (the item has read past the member in a pass begun after the post was
 * expanded: it has no unsettled row for them), `unsure` (read past, but in a pass that may have missed rows the
 * expansion wrote behind it: the table is asked), `unread` (not reached yet).
 */
export type CopyKnowledge = 'settled' | 'pending' | 'none' | 'unsure' | 'unread';

export interface WaveItem {
  readonly groupId: string;
  readonly seq: number;
  knows(rowKey: string): CopyKnowledge;
  /** The item's own progress (calls, writes, pages), for the later items waiting on it. */
  readonly ownProgress: number;
}

interface GroupWaves {
  items: Map<number, WaveItem>;
  /** Posts whose part in this lane finished while items of the group were here (all their copies settled). */
  done: Set<number>;
  /** Earlier posts' rows read in the table (`<seq>|<row>`): whether the copy was still to be sent. */
  looked: Map<string, 'none' | 'pending' | 'asking'>;
}

/** The send items of one lane, by group. `version` moves whenever what they know moves (a later item looks again). */
export class Waves {
  private readonly groups = new Map<string, GroupWaves>();
  version = 0;

  /** An item joins before it reads which earlier posts it follows, so none finishes unseen in between. */
  join(item: WaveItem): void {
    let group = this.groups.get(item.groupId);
    if (!group) this.groups.set(item.groupId, (group = { items: new Map(), done: new Set(), looked: new Map() }));
    group.items.set(item.seq, item);
    this.moved();
  }

  /** The item leaves the lane; `finished`: every copy of its post in this lane is settled. */
  leave(item: WaveItem, finished: boolean): void {
    const group = this.groups.get(item.groupId);
    if (!group || group.items.get(item.seq) !== item) return;
    group.items.delete(item.seq);
    if (finished) group.done.add(item.seq);
    if (group.items.size === 0) this.groups.delete(item.groupId);
    this.moved();
  }

  moved(): void {
    this.version++;
  }

  /**
   * Whether a member's copy of a post may go now, given the earlier posts it follows (nearest first). An earlier
   * item that is `unsure` is answered by the table: `lookUp` reads that post's row for the member (once per lane).
   */
  mayGo(groupId: string, earlier: readonly number[], rowKey: string, lookUp: (seq: number) => Promise<'none' | 'pending'>): boolean {
    const group = this.groups.get(groupId);
    for (const seq of earlier) {
      if (group?.done.has(seq)) continue;
      const item = group?.items.get(seq);
      // Its work is not here (yet, or any more): its message comes (back), or the sweep queues it again.
      if (!item) return false;
      const knows = item.knows(rowKey);
      if (knows === 'settled') return true;
      if (knows === 'pending' || knows === 'unread') return false;
      if (knows === 'unsure') {
        const key = `${seq}|${rowKey}`;
        const found = group!.looked.get(key);
        if (found === undefined) {
          group!.looked.set(key, 'asking');
          lookUp(seq)
            .then(
              (answer) => group!.looked.set(key, answer),
              () => group!.looked.delete(key),
            )
            .finally(() => this.moved());
        }
        if (found !== 'none') return false;
      }
    }
    return true;
  }

  /** The latest progress of the earlier items still here (a later item waiting on them is not stalled). */
  progressOf(groupId: string, earlier: readonly number[]): number {
    const group = this.groups.get(groupId);
    let latest = 0;
    for (const seq of earlier) latest = Math.max(latest, group?.items.get(seq)?.ownProgress ?? 0);
    return latest;
  }
}

const byLane = new WeakMap<object, Waves>();

/** The waves of one lane (created with its first send item, gone with the lane). */
export function wavesOf(lane: object): Waves {
  let waves = byLane.get(lane);
  if (!waves) byLane.set(lane, (waves = new Waves()));
  return waves;
}
