import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { heading, paragraph, plural } from './layout';
import { adaptiveCard, toAttachment, type CardAction, type CardElement, type ColumnSet } from './schema';
import { provenRun, richText, run, type ProvenName } from './text';

export const MY_GROUPS_PAGE_MAX = 25;

export interface MyGroupRow {
  groupId: string;
  name: string;
  memberCount: number;
  role: 'admin' | 'member';
  /** Set when the group is owned by an organization: its verified name, shown as it is. */
  organizationName?: ProvenName;
}

export interface MyGroupsCardData {
  groups: readonly MyGroupRow[];
  /** Present when there are more groups: carried by the Next page button. */
  continuationToken?: string;
}

function groupRow(g: MyGroupRow): ColumnSet {
  return {
    type: 'ColumnSet',
    separator: true,
    spacing: 'Small',
    columns: [
      {
        type: 'Column',
        width: 'stretch',
        verticalContentAlignment: 'Center',
        items: [
          richText([run(g.name, { weight: 'Bolder' }, 100)]),
          richText(
            [
              run(`${plural(g.memberCount, 'member')} · ${g.role === 'admin' ? 'Admin' : 'Member'} · `, { isSubtle: true, size: 'Small' }),
              ...(g.organizationName === undefined
                ? [run('Private', { isSubtle: true, size: 'Small' })]
                : [run('Owned by ', { isSubtle: true, size: 'Small' }), provenRun(g.organizationName, { isSubtle: true, size: 'Small' })]),
            ],
            { spacing: 'None' },
          ),
        ],
      },
      {
        type: 'Column',
        width: 'auto',
        verticalContentAlignment: 'Center',
        items: [{ type: 'ActionSet', actions: [button('Open', 'showGroupInfo', { groupId: g.groupId })] }],
      },
    ],
  };
}

export function buildMyGroupsCard(data: MyGroupsCardData): Attachment {
  const rows = data.groups.slice(0, MY_GROUPS_PAGE_MAX);
  const body: CardElement[] = [heading('My groups')];
  if (rows.length === 0) body.push(paragraph('You are not in any group yet. Create one, or open an invite link someone sent you.'));
  else body.push(...rows.map(groupRow));

  const actions: CardAction[] = [];
  if (data.continuationToken !== undefined && data.continuationToken !== '') {
    actions.push(button('Next page', 'myGroupsPage', { continuationToken: data.continuationToken }));
  }
  actions.push(button('New group', 'createGroup', {}, { style: rows.length === 0 ? 'positive' : 'default' }));
  return toAttachment(adaptiveCard(body, actions, rows.length === 0 ? 'You are not in any group yet.' : `My groups (${rows.length})`));
}
