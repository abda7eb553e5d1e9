import type { DeliveryEngine } from '../../delivery/ports';
import { NotFoundError } from '../../errors';
import type { GroupService } from '../../groups/groupService';
import { joinNoticeMode } from '../../groups/groupTypes';
import { buildMemberJoinedNoticeCard } from '../../../cards';
import { recipientOf } from './joinNotices';

/** Where a group's digest waits: marked at its first join since the last digest (a store in src/storage). */
export interface JoinDigestStore {
  /** Marks the group's digest pending since `at`, unless it is pending already. */
  mark(groupId: string, at: string): Promise<void>;
  /** Digests pending since before `cutoff`, at most `limit`. */
  due(cutoff: string, limit: number): Promise<Array<{ groupId: string; since: string }>>;
  /** The digest pending since `since` was told: unmarked (a mark made since stays). */
  clear(groupId: string, since: string): Promise<void>;
}

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
  async joined(groupId: string): Promise<void> {
    await this.store.mark(groupId, this.now().toISOString());
  }

  /** Sends the digests pending since before `cutoff` (a day ago, from the hourly sweep); how many went. */
  async deleteOlderThan(cutoff: string): Promise<number> {
    let sent = 0;
    for (const { groupId, since } of await this.store.due(cutoff, DUE_PER_SWEEP)) {
      if (await this.send(groupId, since)) sent++;
      await this.store.clear(groupId, since);
    }
    return sent;
  }

  private async send(groupId: string, since: string): Promise<boolean> {
    let group;
    try {
      group = await this.groups.getGroup(groupId);
    } catch (err) {
      if (err instanceof NotFoundError) return false; // deleted since: nothing to tell
      throw err;
    }
    // Admins who turned notices off since the mark get nothing; "each join" since: the day's digest still goes.
    if (joinNoticeMode(group, group.memberCount) === 'off') return false;
    const { count, names, more } = await this.joinsSince(groupId, since);
    if (count === 0) return false;
    const others = count - names.length;
    const memberName = others > 0 ? `${names.join(', ')} and ${others}${more ? '+' : ''} other${others === 1 ? '' : 's'}` : names.join(', ');
    const card = buildMemberJoinedNoticeCard({ groupId, groupName: group.name, memberName, memberCount: group.memberCount, digest: true });
    for (const admin of await this.groups.listAdmins(groupId)) {
      const recipient = admin.conversationRef ? recipientOf(admin.user.id, admin.conversationRef) : undefined;
      if (!recipient) continue;
      await this.engine.sendOneOff(`joindigest|${groupId}|${admin.user.id}|${since}`, recipient, { type: 'message', attachments: [card] });
    }
    return true;
  }

  /** The joins of the audit trail since `since` (newest first), read in pages, a bounded number. */
  private async joinsSince(groupId: string, since: string): Promise<{ count: number; names: string[]; more: boolean }> {
    let count = 0;
    let read = 0;
    const names: string[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.groups.auditTrail(groupId, { pageSize: 100, continuationToken });
      for (const entry of page.items) {
        if (entry.at < since) return { count, names, more: false };
        if (++read > AUDIT_ENTRIES_READ) return { count, names, more: true };
        if (entry.action !== 'joined' && entry.action !== 'added') continue;
        count++;
        const name = (entry.subject ?? entry.actor).name;
        if (names.length < NAMES_SHOWN && name) names.push(name);
      }
      continuationToken = page.continuationToken;
    } while (continuationToken);
    return { count, names, more: false };
  }
}
