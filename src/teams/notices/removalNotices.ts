import type { DeliveryEngine } from '../../delivery/ports';
import type { Group, Member } from '../../groups/model';
import type { BackgroundWork } from '../proactive';
import { markdownSafe, type RemovalNotices } from '../handlers/groupActions';
import { recipientOf } from './joinNotices';

/**
 * "An admin removed you from Alpha Crew.", in the removed member's own chat (issue 17): without it their next
 * message got "Sorry, I didn't get that". It goes through the delivery engine (sendOneOff), like the admins' join
 * notices, so it shares the tenant's budget, and its key is the removal's request: told once, even when Teams
 * delivers the click again. Sent after the answer; someone the bot cannot reach (no chat reference) is not told.
 */
export class RemovedMemberNotices implements RemovalNotices {
  constructor(
    private readonly engine: Pick<DeliveryEngine, 'sendOneOff'>,
    private readonly background: BackgroundWork,
  ) {}

  memberRemoved(group: Group, member: Member, requestKey: string): void {
    const recipient = member.conversationRef ? recipientOf(member.user.id, member.conversationRef) : undefined;
    if (!recipient) return;
    const activity = { type: 'message', text: `An admin removed you from ${markdownSafe(group.name)}.` };
    this.background.run('removed member notice', () =>
      this.engine.sendOneOff(`removed|${group.id}|${member.user.id}|${requestKey}`, recipient, activity),
    );
  }
}
