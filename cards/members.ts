import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { actionSet, paragraph, plural, richHeading } from './layout';
import { adaptiveCard, toAttachment, type CardAction, type CardElement, type Container } from './schema';
import { inline, richText, run } from './text';

/** At most this many rows per card (issue 18: 50 at a time): one Manage button a row keeps it under 28 KB. */
export const MEMBERS_PAGE_MAX = 50;
/** At most this many removed people: with a full page of members the card still stays under 28 KB. */
export const REMOVED_MAX = 5;
/** Names on the members card are cut at this many characters (50 rows must fit in 28 KB). */
const NAME_CHARS = 40;

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
  /** What the viewer searched for (part of a name); the pages continue the search. */
  search?: string;
  /** Group types: the viewer is a member who sees the admins only (and themselves). */
  adminsOnly?: boolean;
}

/** One member an admin tapped Manage on: what they can do to them. */
export interface MemberCardData {
  groupId: string;
  groupName: string;
  userId: string;
  name: string;
  role: 'admin' | 'member';
}

function removedSection(data: MembersCardData, shown = REMOVED_MAX): CardElement[] {
  const rows = (data.removed ?? []).slice(0, shown);
  if (!data.viewerIsAdmin || (data.removed ?? []).length === 0) return [];
  if (rows.length === 0) {
    return [
      paragraph('People were removed from this group. Type "allow" and a name to let one of them back in.', {
        isSubtle: true,
        size: 'Small',
      }),
    ];
  }
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
        richText([run(r.name, { weight: 'Bolder' }, NAME_CHARS)]),
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
  // Only admins are labelled: on a page of 50 the word "Member" on every row costs more than it tells.
  const items: CardElement[] = [
    richText([
      run(m.name, { weight: 'Bolder' }, NAME_CHARS),
      ...(m.role === 'admin' ? [run('  Admin', { isSubtle: true, size: 'Small' })] : []),
      ...(m.isViewer === true ? [run(' (you)', { isSubtle: true, size: 'Small' })] : []),
    ]),
  ];
  const row: Container = { type: 'Container', items, separator: true, spacing: 'Small' };
  // Admins tap a row (50 rows with buttons would not fit a card): it answers that member's card with what can be done.
  if (data.viewerIsAdmin && m.isViewer !== true)
    row.selectAction = button('Manage', 'manageMember', { groupId: data.groupId, userId: m.userId });
  return row;
}

function searchBox(data: MembersCardData): CardElement[] {
  const box: CardElement[] = [
    {
      type: 'Input.Text',
      id: 'memberSearch',
      label: 'Search by name',
      placeholder: 'A name, or how a name or surname begins',
      maxLength: 100,
      ...(data.search ? { value: data.search } : {}),
    },
    actionSet([button('Search', 'membersPage', { groupId: data.groupId })], 'Small'),
  ];
  if (data.search)
    box.push(
      richText([
        run('Members whose name, or a word in it, begins with “', { isSubtle: true }),
        run(data.search, { isSubtle: true }, 100),
        run('”', { isSubtle: true }),
      ]),
    );
  return box;
}

/** Bytes a members card may take (Teams refuses more than 28 KB; the rest is the activity around it). */
const CARD_BUDGET = 27_500;

/**
 * The members card. 50 rows of long names in wide characters with the removed people would pass 28 KB: the
 * removed people then give way to the line pointing to `allow <name>` (every member of the page stays).
 */
export function buildMembersCard(data: MembersCardData): Attachment {
  const full = membersCard(data, REMOVED_MAX);
  if (Buffer.byteLength(JSON.stringify(full.content), 'utf8') <= CARD_BUDGET || (data.removed ?? []).length === 0) return full;
  return membersCard({ ...data, moreRemoved: true }, 0);
}

function membersCard(data: MembersCardData, removedShown: number): Attachment {
  const rows = data.members.slice(0, MEMBERS_PAGE_MAX);
  const body: CardElement[] = [
    richHeading('Members of ', data.groupName),
    ...(data.totalCount === undefined ? [] : [paragraph(plural(data.totalCount, 'member'), { isSubtle: true, spacing: 'None' })]),
    ...(data.adminsOnly
      ? [paragraph('In this group members see the admins, not each other.', { isSubtle: true, spacing: 'None' })]
      : searchBox(data)),
    ...(data.viewerIsAdmin && rows.some((m) => m.isViewer !== true)
      ? [paragraph('Tap a member to make them admin or remove them.', { isSubtle: true, size: 'Small' })]
      : []),
    ...(rows.length === 0
      ? [paragraph(data.search ? 'Nobody found (yet) on this page.' : 'No members to show.')]
      : rows.map((m) => memberRow(m, data))),
    ...removedSection(data, removedShown),
  ];
  const actions: CardAction[] = [];
  if (data.continuationToken !== undefined && data.continuationToken !== '') {
    const next = { groupId: data.groupId, continuationToken: data.continuationToken, ...(data.search ? { search: data.search } : {}) };
    actions.push(button('Next page', 'membersPage', next, { associatedInputs: 'none' }));
  }
  actions.push(button('Group Info', 'showGroupInfo', { groupId: data.groupId }));
  return toAttachment(adaptiveCard(body, actions, `Members of ${inline(data.groupName)}`));
}

/** An admin's Manage on a member: make or remove admin, remove from the group, back to the members. */
export function buildMemberCard(data: MemberCardData): Attachment {
  const ref = { groupId: data.groupId, userId: data.userId };
  const body: CardElement[] = [
    richText([run(data.name, { weight: 'Bolder', size: 'Medium' }, 100)]),
    richText([run(data.role === 'admin' ? 'Admin of ' : 'Member of ', { isSubtle: true }), run(data.groupName, { isSubtle: true }, 100)], {
      spacing: 'None',
    }),
  ];
  const actions: CardAction[] = [
    data.role === 'member' ? button('Make admin', 'makeAdmin', ref) : button('Remove admin', 'removeAdmin', ref),
    button('Remove', 'removeMember', ref, { style: 'destructive' }),
    button('Members', 'showMembers', { groupId: data.groupId }),
  ];
  return toAttachment(adaptiveCard(body, actions, `${inline(data.name)} in ${inline(data.groupName)}`));
}
