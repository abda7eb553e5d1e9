import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { heading, paragraph } from './layout';
import { adaptiveCard, toAttachment, type CardElement, type ColumnSet } from './schema';
import { richText, run } from './text';

export const SWITCH_GROUPS_MAX = 25;

export interface SwitchGroupCardData {
  groups: ReadonlyArray<{ groupId: string; name: string }>;
  currentGroupId?: string;
}

function row(group: { groupId: string; name: string }, current: boolean): ColumnSet {
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
          richText([
            run(group.name, { weight: 'Bolder' }, 100),
            ...(current ? [run('  (current)', { isSubtle: true, size: 'Small' })] : []),
          ]),
        ],
      },
      {
        type: 'Column',
        width: 'auto',
        verticalContentAlignment: 'Center',
        items: [{ type: 'ActionSet', actions: [button(current ? 'Keep' : 'Choose', 'switchGroup', { groupId: group.groupId })] }],
      },
    ],
  };
}

/** `switch`: which group the member's typed messages go to. */
export function buildSwitchGroupCard(data: SwitchGroupCardData): Attachment {
  const groups = data.groups.slice(0, SWITCH_GROUPS_MAX);
  const body: CardElement[] = [
    heading('Where should your messages go?'),
    paragraph('What you type goes to the group you choose. Commands still work; start one with / to be sure.', { isSubtle: true }),
  ];
  if (groups.length === 0) body.push(paragraph('You are not in any group yet.'));
  body.push(...groups.map((g) => row(g, g.groupId === data.currentGroupId)));
  return toAttachment(adaptiveCard(body, [], 'Choose the group your messages go to'));
}
