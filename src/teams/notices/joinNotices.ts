import { createHash } from 'node:crypto';
import type { DeliveryEngine, Recipient } from '../../delivery/ports';
import type { Group, Member, UserRef } from '../../groups/model';
import type { BackgroundWork } from '../proactive';
import { buildMemberJoinedNoticeCard } from '../../../cards';
import type { JoinNotices } from '../handlers/groupActions';
import { joinNoticeMode } from '../../groups/groupTypes';
import type { JoinDigests } from './joinDigest';

interface PendingNotice {
  group: Group;
  admins: readonly Member[];
  joiners: UserRef[];
  /** One per join request (the joiner and the join activity's id): a redelivered join is the same join. */
  joinKeys: Set<string>;
}

/**
 * "Ann joined Field Sales North", to each admin, in the chat where they last used the bot. Joins that arrive
 * close together are told in one notice ("Ann and 14 others joined"): when a link goes out to a big WhatsApp
 * group, hundreds join within a minute, and one message each would flood the admin. The notices go through the
 * delivery engine (sendOneOff), so they share the tenant's budget and the conversation's windows with the posts,
 * and each has a key made of the joins it tells: a join activity Teams delivers again adds nothing to a pending
 * notice, and a notice already sent is not sent again. Pending notices live in memory for the batching window:
 * a crash can lose a notice, never a membership. Group types: admins may choose a daily digest (joinDigest.ts)
 * or no notices; groups over 50 members get the digest unless they chose.
 */
export class AdminJoinNotices implements JoinNotices {
  private readonly pending = new Map<string, PendingNotice>();

  constructor(
    private readonly engine: Pick<DeliveryEngine, 'sendOneOff'>,
    private readonly background: BackgroundWork,
    private readonly windowMs = 2_000,
    /** Group types: groups whose admins get a daily digest instead (joinDigest.ts); absent: each join. */
    private readonly digests?: Pick<JoinDigests, 'joined'>,
  ) {}

  memberJoined(group: Group, member: UserRef, admins: readonly Member[], joinKey = member.id): void {
    const mode = joinNoticeMode(group, group.memberCount);
    if (mode === 'off') return;
    if (mode === 'digest' && this.digests) {
      const digests = this.digests;
      this.background.run('join digest mark', () => digests.joined(group.id, member.id));
      return;
    }
    const key = `${member.id}|${joinKey}`;
    const existing = this.pending.get(group.id);
    if (existing) {
      if (existing.joinKeys.has(key)) return;
      existing.joinKeys.add(key);
      if (!existing.joiners.some((j) => j.id === member.id)) existing.joiners.push(member);
      // The latest read has the latest count.
      if (group.memberCount > existing.group.memberCount) existing.group = group;
      existing.admins = admins;
      return;
    }
    this.pending.set(group.id, { group, admins, joiners: [member], joinKeys: new Set([key]) });
    this.background.run('member joined notice', async () => {
      await new Promise((resolve) => setTimeout(resolve, this.windowMs));
      const notice = this.pending.get(group.id)!;
      this.pending.delete(group.id);
      await this.send(notice);
    });
  }

  private async send({ group, admins, joiners, joinKeys }: PendingNotice): Promise<void> {
    const card = buildMemberJoinedNoticeCard({
      groupId: group.id,
      groupName: group.name,
      memberName:
        joiners.length === 1 ? joiners[0]!.name : `${joiners[0]!.name} and ${joiners.length - 1} other${joiners.length === 2 ? '' : 's'}`,
      memberCount: group.memberCount,
    });
    const joins = createHash('sha256')
      .update([...joinKeys].sort().join('\n'), 'utf8')
      .digest('hex')
      .slice(0, 32);
    const joinerIds = new Set(joiners.map((j) => j.id));
    for (const admin of admins) {
      const recipient = admin.conversationRef ? recipientOf(admin.user.id, admin.conversationRef) : undefined;
      if (!recipient || joinerIds.has(admin.user.id)) continue;
      await this.engine.sendOneOff(`join|${group.id}|${admin.user.id}|${joins}`, recipient, { type: 'message', attachments: [card] });
    }
  }
}

/** A member's stored personal-chat reference as the engine's recipient (its tenant is the rate lane). */
export function recipientOf(userId: string, conversationRefJson: string): Recipient | undefined {
  try {
    const conversationRef = JSON.parse(conversationRefJson) as { conversation?: { tenantId?: unknown } };
    const tenantId = typeof conversationRef.conversation?.tenantId === 'string' ? conversationRef.conversation.tenantId.toLowerCase() : '';
    return { userId, tenantId, conversationRef, muted: false, joinedAt: '' };
  } catch {
    return undefined;
  }
}
