import type { DeliveryEngine } from '../../delivery/ports';
import { NotFoundError } from '../../errors';
import type { GroupService } from '../../groups/groupService';
import { joinNoticeMode } from '../../groups/groupTypes';
import { buildMemberJoinedNoticeCard } from '../../../cards';
import { recipientOf } from './joinNotices';

/** Where a group's digest waits: marked at its first join since the last digest (a store in src/storage). */
export interface JoinDigestStore {
  /** Marks the group's digest pending since `at` (the join of `userId`), unless it is pending already. */
  mark(groupId: string, at: string, userId: string): Promise<void>;
  /** Digests pending since before `cutoff`, at most `limit`. */
  due(cutoff: string, limit: number): Promise<PendingDigest[]>;
  /** The digest pending since `since` was told: unmarked (a mark made since stays). */
  clear(groupId: string, since: string): Promise<void>;
}

export interface PendingDigest {
  groupId: string;
  since: string;
  /** The member whose join marked it: the digest counts back to their join (written a moment before the mark). */
  firstUserId: string;
}

/** How far before the mark the first join's audit entry may be (the two are written one after the other). */
const MARK_SLACK_MS = 60_000;
/** Join entries of the audit trail one digest reads at most ("5,000+ people joined"). */
const AUDIT_ENTRIES_READ = 5_000;
const NAMES_SHOWN = 3;
const DUE_PER_SWEEP = 200;

/**
 * Daily digests of joins (issue 18, group types): a group whose admins chose the digest (or, unasked, a group of
 * over 50 members) marks its digest at the first join; a sweep every hour sends the digests marked a day ago or
 * more: "Ann, Bob, Cy and 212 others joined Field Sales in the last day", counted from the audit trail. The
 * tables are the truth (any instance sends, a crash loses nothing); each admin's notice is one engine one-off
 * whose key names the digest, so a sweep that runs again after a crash tells nobody twice.
 */
export class JoinDigests {
  constructor(
    private readonly store: JoinDigestStore,
    private readonly groups: Pick<GroupService, 'getGroup' | 'listAdmins' | 'auditTrail'>,
    private readonly engine: Pick<DeliveryEngine, 'sendOneOff'>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** A member joined a group whose admins get the digest. */
  async joined(groupId: string, userId: string): Promise<void> {
    await this.store.mark(groupId, this.now().toISOString(), userId);
  }

  /** Sends the digests pending since before `cutoff` (a day ago, from the hourly sweep); how many went. */
  async deleteOlderThan(cutoff: string): Promise<number> {
    let sent = 0;
    for (const pending of await this.store.due(cutoff, DUE_PER_SWEEP)) {
      if (await this.send(pending)) sent++;
      await this.store.clear(pending.groupId, pending.since);
    }
    return sent;
  }

  private async send(pending: PendingDigest): Promise<boolean> {
    const { groupId, since } = pending;
    let group;
    try {
      group = await this.groups.getGroup(groupId);
    } catch (err) {
      if (err instanceof NotFoundError) return false; // deleted since: nothing to tell
      throw err;
    }
    // Admins who turned notices off since the mark get nothing; "each join" since: the day's digest still goes.
    if (joinNoticeMode(group, group.memberCount) === 'off') return false;
    const { count, names, more } = await this.joinsSince(pending);
    if (count === 0) return false;
    const others = count - names.length;
    const memberName =
      others > 0 ? `${names.join(', ')} and ${others}${more ? '+' : ''} other${others === 1 ? '' : 's'}` : names.join(', ');
    const card = buildMemberJoinedNoticeCard({ groupId, groupName: group.name, memberName, memberCount: group.memberCount, digest: true });
    for (const admin of await this.groups.listAdmins(groupId)) {
      const recipient = admin.conversationRef ? recipientOf(admin.user.id, admin.conversationRef) : undefined;
      if (!recipient) continue;
      await this.engine.sendOneOff(`joindigest|${groupId}|${admin.user.id}|${since}`, recipient, { type: 'message', attachments: [card] });
    }
    return true;
  }

  /**
   * The joins of the audit trail since the mark (newest first), back to the join that marked it, read in pages,
   * a bounded number.
   */
  private async joinsSince({ groupId, since, firstUserId }: PendingDigest): Promise<{ count: number; names: string[]; more: boolean }> {
    const floor = new Date(Date.parse(since) - MARK_SLACK_MS).toISOString();
    let count = 0;
    let read = 0;
    const names: string[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.groups.auditTrail(groupId, { pageSize: 100, continuationToken });
      for (const entry of page.items) {
        if (entry.at < floor) return { count, names, more: false };
        if (++read > AUDIT_ENTRIES_READ) return { count, names, more: true };
        if (entry.action !== 'joined' && entry.action !== 'added') continue;
        const person = entry.subject ?? entry.actor;
        const first = person.id === firstUserId;
        // Before the mark only the join that made it counts (the others were told another way, or not at all).
        if (entry.at < since && !first) continue;
        count++;
        if (names.length < NAMES_SHOWN && person.name) names.push(person.name);
        if (first && entry.at <= since) return { count, names, more: false };
      }
      continuationToken = page.continuationToken;
    } while (continuationToken);
    return { count, names, more: false };
  }
}
