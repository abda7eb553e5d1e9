import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { formatUtc, paragraph, richHeading } from './layout';
import { adaptiveCard, toAttachment } from './schema';
import { inline, literal } from './text';

export interface OrganizationMappedCardData {
  groupId: string;
  groupName: string;
  organizationName: string;
  /** Display name of the admin who added the group to the organization. */
  mappedBy: string;
  mappedAt: Date;
}

/** Step 3 done: what changed. (A FactSet is Markdown-processed, so its user values go through `literal`.) */
export function buildOrganizationMappedCard(data: OrganizationMappedCardData): Attachment {
  return toAttachment(
    adaptiveCard(
      [
        richHeading(data.groupName, ' is now owned by ', data.organizationName),
        paragraph(
          'The organization now owns the group, its members and its chat. Its admins can see and export the group. This cannot be undone.',
        ),
        {
          type: 'FactSet',
          facts: [
            { title: 'Group', value: literal(data.groupName) },
            { title: 'Owner', value: literal(data.organizationName) },
            { title: 'Added by', value: literal(data.mappedBy) },
            { title: 'When', value: formatUtc(data.mappedAt) },
          ],
        },
        paragraph('Next: ask everyone to move. Send them the poster or the email.', { spacing: 'Medium' }),
      ],
      [
        button('Poster and email', 'poster', { groupId: data.groupId }, { style: 'positive' }),
        button('Invite People', 'showInvite', { groupId: data.groupId }),
        button('Group Info', 'showGroupInfo', { groupId: data.groupId }),
      ],
      `${inline(data.groupName)} is now owned by ${inline(data.organizationName)}.`,
    ),
  );
}
