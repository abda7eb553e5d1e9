import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { actionSet, paragraph, plural, richHeading } from './layout';
import { adaptiveCard, toAttachment, type CardAction, type CardElement, type Container } from './schema';
import { inline, richText, run } from './text';

/** At most this many rows per card: 25 rows with buttons stay well under 28 KB. */
export const MEMBERS_PAGE_MAX = 25;
/** At most this many removed people: with a full page of members the card still stays under 28 KB. */
export const REMOVED_MAX = 10;

/** Someone an admin removed, who cannot rejoin until an admin lets them back in. */
export interface RemovedRow {
  userId: string;
  name: string;
}

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
  /** Admins only: people removed from the group, each with a "Let back in" button. */
  removed?: readonly RemovedRow[];
  /** More removed people than shown: the card points to `allow <name>`. */
  moreRemoved?: boolean;
}

function removedSection(data: MembersCardData): CardElement[] {
  const rows = (data.removed ?? []).slice(0, REMOVED_MAX);
  if (!data.viewerIsAdmin || rows.length === 0) return [];
  return [
    { ...paragraph('Removed', { spacing: 'Large' }), weight: 'Bolder' },
    paragraph('They cannot rejoin with any link or code until an admin lets them back in.', {
      isSubtle: true,
      spacing: 'None',
      size: 'Small',
    }),
    ...rows.map((r): Container => ({
      type: 'Container',
      separator: true,
      spacing: 'Small',
      items: [
        richText([run(r.name, { weight: 'Bolder' }, 100)]),
        actionSet([button('Let back in', 'allowMember', { groupId: data.groupId, userId: r.userId })], 'Small'),
      ],
    })),
    ...(data.moreRemoved === true || (data.removed?.length ?? 0) > rows.length
      ? [
          paragraph('More people were removed than shown here. Type "allow" and a name to let one of them back in.', {
            isSubtle: true,
            size: 'Small',
          }),
        ]
      : []),
  ];
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
    buttons.push(m.role === 'member' ? button('Make admin', 'makeAdmin', ref) : button('Remove admin', 'removeAdmin', ref));
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
    ...removedSection(data),
  ];
  const actions: CardAction[] = [];
  if (data.continuationToken !== undefined && data.continuationToken !== '') {
    actions.push(button('Next page', 'membersPage', { groupId: data.groupId, continuationToken: data.continuationToken }));
  }
  actions.push(button('Group Info', 'showGroupInfo', { groupId: data.groupId }));
  return toAttachment(adaptiveCard(body, actions, `Members of ${inline(data.groupName)}`));
}
