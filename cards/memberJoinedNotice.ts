import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { paragraph, plural } from './layout';
import { adaptiveCard, toAttachment } from './schema';
import { inline, richText, run } from './text';

export interface MemberJoinedNoticeCardData {
  groupId: string;
  groupName: string;
  memberName: string;
  /** The member count after the join. */
  memberCount: number;
  /** A daily digest (group types): "in the last day" after the group's name. */
  digest?: boolean;
}

/** For the group's admins: someone joined with the invite link. */
export function buildMemberJoinedNoticeCard(data: MemberJoinedNoticeCardData): Attachment {
  return toAttachment(
    adaptiveCard(
      [
        richText([
          run(data.memberName, { weight: 'Bolder' }),
          ' joined ',
          run(data.groupName, { weight: 'Bolder' }),
          data.digest ? ' in the last day.' : '.',
        ]),
        paragraph(
          `The group now has ${plural(data.memberCount, 'member')}. If you don't know this person, remove them and reset the invite link.`,
          {
            isSubtle: true,
            spacing: 'Small',
          },
        ),
      ],
      [button('Members', 'showMembers', { groupId: data.groupId }), button('Reset link', 'resetLink', { groupId: data.groupId })],
      `${inline(data.memberName)} joined ${inline(data.groupName)}${data.digest ? ' in the last day' : ''}.`,
    ),
  );
}
