import type { Attachment } from 'botbuilder';
import { button, showCard } from './actions';
import { actionSet, namesAndMore, paragraph, plural, richHeading } from './layout';
import { adaptiveCard, subCard, toAttachment, type CardAction, type CardElement } from './schema';
import { inline, provenRun, richText, run, shown, type ProvenName } from './text';

export interface GroupInfoCardData {
  groupId: string;
  name: string;
  /** An https URL already checked by the domain (type, size, not private). Omitted: no image. */
  photoUrl?: string;
  memberCount: number;
  /** The first few admins' display names (the card shows three). */
  adminNames: readonly string[];
  /** All admins; defaults to `adminNames.length`. */
  adminCount?: number;
  /** Set once the group is mapped: "Owned by <organizationName>", the verified name as it is. Absent: "Private". */
  organizationName?: ProvenName;
  /** Whether the person looking is an admin of this group: admin-only buttons appear only then. */
  viewerIsAdmin: boolean;
  /** Whether the viewer may post in the group (default true): Announce and Poll appear only then. */
  viewerMayPost?: boolean;
  /** Admins only: members Teams refused to reach (they blocked or removed the app). Shown when above 0. */
  unreachableCount?: number;
  /** Members whose copies are given up for now (the channel kept failing) and tried again every few minutes. */
  retryingCount?: number;
}

export function buildGroupInfoCard(data: GroupInfoCardData): Attachment {
  const g = { groupId: data.groupId };
  const adminCount = data.adminCount ?? data.adminNames.length;

  const header: CardElement =
    data.photoUrl !== undefined && /^(https:\/\/|http:\/\/(localhost|127\.0\.0\.1)(:\d+)?\/)/i.test(data.photoUrl)
      ? {
          type: 'ColumnSet',
          columns: [
            {
              type: 'Column',
              width: 'auto',
              items: [{ type: 'Image', url: data.photoUrl, altText: `Group photo of ${shown(data.name)}`, size: 'Small', style: 'Person' }],
            },
            { type: 'Column', width: 'stretch', verticalContentAlignment: 'Center', items: [richHeading(data.name)] },
          ],
        }
      : richHeading(data.name);

  // At most 5 buttons per row (the default host config's maxActions): leaving and deleting get their own row.
  const manage: CardAction[] = [button('Members', 'showMembers', g), button('Poster and email', 'poster', g)];
  if (data.viewerIsAdmin) manage.push(button('Reset link', 'resetLink', g));
  if (data.viewerIsAdmin && data.organizationName === undefined) {
    manage.push(button('Add to organization', 'addToOrganization', g, { style: 'positive' }));
  }
  const exit: CardAction[] = [button('Leave', 'leaveGroup', g)];
  if (data.viewerIsAdmin) exit.push(button('Delete', 'deleteGroup', g, { style: 'destructive' }));
  const more = subCard([actionSet(manage), { ...actionSet(exit, 'Medium'), separator: true }]);

  return toAttachment(
    adaptiveCard(
      [
        header,
        richText([run('Members: ', { weight: 'Bolder' }), plural(data.memberCount, 'member')]),
        richText([run('Admins: ', { weight: 'Bolder' }), run(namesAndMore(data.adminNames, adminCount), {}, 400)], {
          spacing: 'Small',
        }),
        data.organizationName === undefined
          ? richText([run('Status: ', { weight: 'Bolder' }), 'Private'], { spacing: 'Small' })
          : richText([run('Status: ', { weight: 'Bolder' }), 'Owned by ', provenRun(data.organizationName, { color: 'Good' })], {
              spacing: 'Small',
            }),
        ...(data.organizationName === undefined && data.viewerIsAdmin
          ? [paragraph('Add the group to your organization so that it owns the group and its chat.', { isSubtle: true })]
          : []),
        ...(data.viewerIsAdmin && (data.unreachableCount ?? 0) > 0
          ? [
              paragraph(`${plural(data.unreachableCount!, 'member')} can't be reached (they blocked or removed the app).`, {
                isSubtle: true,
              }),
            ]
          : []),
        ...(data.viewerIsAdmin && (data.retryingCount ?? 0) > 0
          ? [
              paragraph(
                `${plural(data.retryingCount!, 'member')} did not get every post yet: Teams kept failing for them. They are tried again every few minutes.`,
                {
                  isSubtle: true,
                },
              ),
            ]
          : []),
      ],
      [
        button('Invite People', 'showInvite', g, { style: 'positive' }),
        ...(data.viewerMayPost !== false ? [button('Announce', 'newAnnouncement', g), button('Poll', 'newPoll', g)] : []),
        showCard('More', more),
      ],
      `Group info: ${inline(data.name)}`,
    ),
  );
}
