import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { paragraph, plural, richHeading } from './layout';
import { adaptiveCard, toAttachment } from './schema';
import { inline, richText, run } from './text';

export interface JoinedCardData {
  groupId: string;
  groupName: string;
  memberCount: number;
  /** Set when the group is owned by an organization. */
  organizationName?: string;
}

/** For the person who just joined. */
export function buildJoinedCard(data: JoinedCardData): Attachment {
  return toAttachment(
    adaptiveCard(
      [
        richHeading('Welcome to ', data.groupName, '!'),
        paragraph(`You are in. The group has ${plural(data.memberCount, 'member')}.`),
        ...(data.organizationName === undefined
          ? []
          : [richText(['This group is owned by ', run(data.organizationName, { weight: 'Bolder' }), '.'], { spacing: 'Small' })]),
      ],
      [
        button('Group Info', 'showGroupInfo', { groupId: data.groupId }, { style: 'positive' }),
        button('Invite People', 'showInvite', { groupId: data.groupId }),
        button('My groups', 'myGroups'),
      ],
      `Welcome to ${inline(data.groupName)}!`,
    ),
  );
}
