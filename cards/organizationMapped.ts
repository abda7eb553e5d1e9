import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { paragraph, richHeading } from './layout';
import { localDateTime } from './localTime';
import { adaptiveCard, toAttachment } from './schema';
import { inline, literal, provenInline, provenRun, type ProvenName } from './text';

export interface OrganizationMappedCardData {
  groupId: string;
  groupName: string;
  /** The verified organization: shown as it is (a domain keeps its dots). */
  organizationName: ProvenName;
  /** Display name of the admin who added the group to the organization. */
  mappedBy: string;
  mappedAt: Date;
}

/**
 * Step 3 done: what changed. (A FactSet is Markdown-processed, so its user values go through `literal`; the time
 * is a TextBlock of its own, where clients show it in the reader's time zone.)
 */
export function buildOrganizationMappedCard(data: OrganizationMappedCardData): Attachment {
  return toAttachment(
    adaptiveCard(
      [
        richHeading(data.groupName, ' is now owned by ', provenRun(data.organizationName)),
        paragraph(
          'The organization now owns the group, its members and its chat. Its admins can see and export the group. This cannot be undone.',
        ),
        {
          type: 'FactSet',
          facts: [
            { title: 'Group', value: literal(data.groupName) },
            { title: 'Owner', value: provenInline(data.organizationName) },
            { title: 'Added by', value: literal(data.mappedBy) },
          ],
        },
        paragraph(`Added ${localDateTime(data.mappedAt)}`, { isSubtle: true, spacing: 'Small' }),
        paragraph('Next: ask everyone to move. Send them the poster or the email.', { spacing: 'Medium' }),
      ],
      [
        button('Poster and email', 'poster', { groupId: data.groupId }, { style: 'positive' }),
        button('Invite People', 'showInvite', { groupId: data.groupId }),
        button('Group Info', 'showGroupInfo', { groupId: data.groupId }),
      ],
      `${inline(data.groupName)} is now owned by ${provenInline(data.organizationName)}.`,
    ),
  );
}
