import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { actionSet, paragraph, plural, richHeading } from './layout';
import { adaptiveCard, toAttachment, type CardAction, type CardElement, type Container } from './schema';
import { inline, richText, run } from './text';

/** At most this many rows per card: 25 rows with buttons stay well under 28 KB. */
export const MEMBERS_PAGE_MAX = 25;

export interface MemberRow {
  userId: string;
  name: string;
  role: 'admin' | 'member';
  /** The person looking at the card: no buttons on their own row. */
  isViewer?: boolean;
}

export interface MembersCardData {
  groupId: string;
  groupName: string;
  /** The group's member count, if known. */
  totalCount?: number;
  members: readonly MemberRow[];
  /** Present when there are more members: carried by the Next page button. */
  continuationToken?: string;
  viewerIsAdmin: boolean;
}

function memberRow(m: MemberRow, data: MembersCardData): Container {
  const items: CardElement[] = [
    richText([
      run(m.name, { weight: 'Bolder' }, 100),
      run(m.role === 'admin' ? '  Admin' : '  Member', { isSubtle: true, size: 'Small' }),
      ...(m.isViewer === true ? [run(' (you)', { isSubtle: true, size: 'Small' })] : []),
    ]),
  ];
  if (data.viewerIsAdmin && m.isViewer !== true) {
    const ref = { groupId: data.groupId, userId: m.userId };
    const buttons: CardAction[] = [];
    if (m.role === 'member') buttons.push(button('Make admin', 'makeAdmin', ref));
    buttons.push(button('Remove', 'removeMember', ref, { style: 'destructive' }));
    items.push(actionSet(buttons, 'Small'));
  }
  return { type: 'Container', items, separator: true, spacing: 'Small' };
}

export function buildMembersCard(data: MembersCardData): Attachment {
  const rows = data.members.slice(0, MEMBERS_PAGE_MAX);
  const body: CardElement[] = [
    richHeading('Members of ', data.groupName),
    ...(data.totalCount === undefined ? [] : [paragraph(plural(data.totalCount, 'member'), { isSubtle: true, spacing: 'None' })]),
    ...(rows.length === 0 ? [paragraph('No members to show.')] : rows.map((m) => memberRow(m, data))),
  ];
  const actions: CardAction[] = [];
  if (data.continuationToken !== undefined && data.continuationToken !== '') {
    actions.push(button('Next page', 'membersPage', { groupId: data.groupId, continuationToken: data.continuationToken }));
  }
  actions.push(button('Group Info', 'showGroupInfo', { groupId: data.groupId }));
  return toAttachment(adaptiveCard(body, actions, `Members of ${inline(data.groupName)}`));
}
