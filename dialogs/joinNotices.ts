import type { GroupService } from '../src/groups/groupService';
import type { Group, UserRef } from '../src/groups/model';
import type { BackgroundWork, ProactiveMessenger } from '../src/proactive';
import { buildMemberJoinedNoticeCard } from '../cards';
import type { JoinNotices } from './groupActions';

/**
 * "Ann joined Field Sales North", to each admin, in the chat where they last used the bot. Sent after the
 * joiner's turn has answered, so a slow or failing notice never holds up a join.
 */
export class AdminJoinNotices implements JoinNotices {
  constructor(
    private readonly groups: GroupService,
    private readonly messenger: ProactiveMessenger,
    private readonly background: BackgroundWork,
  ) {}

  memberJoined(group: Group, member: UserRef): void {
    this.background.run('member joined notice', async () => {
      const admins = await this.groups.listAdmins(group.id);
      const card = buildMemberJoinedNoticeCard({
        groupId: group.id,
        groupName: group.name,
        memberName: member.name,
        memberCount: group.memberCount,
      });
      await Promise.all(
        admins
          .filter((admin) => admin.conversationRef && admin.user.id !== member.id)
          .map((admin) => this.messenger.send(admin.conversationRef!, { attachments: [card] })),
      );
    });
  }
}
