import type { Group, Member, UserRef } from '../src/groups/model';
import type { BackgroundWork, ProactiveMessenger } from '../src/proactive';
import { buildMemberJoinedNoticeCard } from '../cards';
import type { JoinNotices } from './groupActions';

interface PendingNotice {
  group: Group;
  admins: readonly Member[];
  joiners: UserRef[];
}

/**
 * "Ann joined Field Sales North", to each admin, in the chat where they last used the bot. Joins that arrive
 * close together are told in one notice ("Ann and 14 others joined"): when a link goes out to a big WhatsApp
 * group, hundreds join within a minute, and one message each would flood the admin (and Teams allows a bot
 * about 7 messages a second per conversation). Sent after the joiner's turn has answered. Pending notices live
 * in memory: a crash can lose a notice, never a membership.
 */
export class AdminJoinNotices implements JoinNotices {
  private readonly pending = new Map<string, PendingNotice>();

  constructor(
    private readonly messenger: ProactiveMessenger,
    private readonly background: BackgroundWork,
    private readonly windowMs = 2_000,
  ) {}

  memberJoined(group: Group, member: UserRef, admins: readonly Member[]): void {
    const existing = this.pending.get(group.id);
    if (existing) {
      existing.joiners.push(member);
      // The latest read has the latest count.
      if (group.memberCount > existing.group.memberCount) existing.group = group;
      existing.admins = admins;
      return;
    }
    this.pending.set(group.id, { group, admins, joiners: [member] });
    this.background.run('member joined notice', async () => {
      await new Promise((resolve) => setTimeout(resolve, this.windowMs));
      const notice = this.pending.get(group.id)!;
      this.pending.delete(group.id);
      await this.send(notice);
    });
  }

  private async send({ group, admins, joiners }: PendingNotice): Promise<void> {
    const card = buildMemberJoinedNoticeCard({
      groupId: group.id,
      groupName: group.name,
      memberName: joiners.length === 1 ? joiners[0]!.name : `${joiners[0]!.name} and ${joiners.length - 1} other${joiners.length === 2 ? '' : 's'}`,
      memberCount: group.memberCount,
    });
    const joinerIds = new Set(joiners.map((j) => j.id));
    await Promise.all(
      admins
        .filter((admin) => admin.conversationRef && !joinerIds.has(admin.user.id))
        .map((admin) => this.messenger.send(admin.conversationRef!, { attachments: [card] })),
    );
  }
}
