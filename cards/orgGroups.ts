import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { paragraph, plural, richHeading } from './layout';
import { localDate } from './localTime';
import { adaptiveCard, toAttachment, type CardAction, type CardElement, type Container } from './schema';
import { provenInline, provenRun, richText, run, type ProvenName } from './text';

export const ORG_GROUPS_PAGE_MAX = 20;

export interface OrgGroupRow {
  groupId: string;
  name: string;
  memberCount: number;
  mappedBy?: string;
  mappedAt?: Date;
}

export interface OrgGroupsCardData {
  /** The verified organization, shown as it is; absent (no group yet): "your organization". */
  organizationName?: ProvenName;
  groups: readonly OrgGroupRow[];
  totalCount?: number;
  continuationToken?: string;
}

function row(g: OrgGroupRow): Container {
  // The date is a TextBlock of its own: only there do clients show it in the reader's time zone.
  const added = g.mappedAt === undefined ? '' : localDate(g.mappedAt);
  return {
    type: 'Container',
    separator: true,
    spacing: 'Small',
    items: [
      richText([run(g.name, { weight: 'Bolder' }, 100)]),
      richText(
        [
          run(plural(g.memberCount, 'member'), { isSubtle: true, size: 'Small' }),
          ...(g.mappedBy === undefined
            ? []
            : [run(' · added by ', { isSubtle: true, size: 'Small' }), run(g.mappedBy, { isSubtle: true, size: 'Small' }, 100)]),
        ],
        { spacing: 'None' },
      ),
      ...(added === '' ? [] : [paragraph(`Added ${added}`, { isSubtle: true, size: 'Small', spacing: 'None' })]),
      {
        type: 'ActionSet',
        spacing: 'Small',
        actions: [
          button('Open', 'showGroupInfo', { groupId: g.groupId }),
          button('Export', 'exportGroup', { groupId: g.groupId }, { tooltip: "Download the group's members and history" }),
        ],
      },
    ],
  };
}

/** For organization admins: every group the organization owns. */
export function buildOrgGroupsCard(data: OrgGroupsCardData): Attachment {
  const rows = data.groups.slice(0, ORG_GROUPS_PAGE_MAX);
  const body: CardElement[] = [
    richHeading('Groups owned by ', data.organizationName === undefined ? 'your organization' : provenRun(data.organizationName)),
    ...(data.totalCount === undefined ? [] : [paragraph(plural(data.totalCount, 'group'), { isSubtle: true, spacing: 'None' })]),
    ...(rows.length === 0 ? [paragraph('No group has been added to the organization yet.')] : rows.map(row)),
  ];
  const actions: CardAction[] = [];
  if (data.continuationToken !== undefined && data.continuationToken !== '') {
    actions.push(button('Next page', 'orgGroupsPage', { continuationToken: data.continuationToken }));
  }
  return toAttachment(
    adaptiveCard(
      body,
      actions,
      `Groups owned by ${data.organizationName === undefined ? 'your organization' : provenInline(data.organizationName)}`,
    ),
  );
}
