import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { paragraph, richHeading } from './layout';
import { adaptiveCard, toAttachment, type CardAction, type CardElement } from './schema';
import { inline, richText, run } from './text';

export interface PostSettingsCardData {
  groupId: string;
  groupName: string;
  onlyAdminsPost: boolean;
  historyForNewMembers: boolean;
  /** Admins get toggles and Save; members see the settings. */
  viewerIsAdmin: boolean;
}

const ONLY_ADMINS = 'Only admins can post';
const HISTORY = 'New members see earlier posts';

/** `settings [group]`: the conversation's settings, with toggles for admins. */
export function buildPostSettingsCard(data: PostSettingsCardData): Attachment {
  const body: CardElement[] = [richHeading(data.groupName), paragraph('Conversation settings', { isSubtle: true, spacing: 'None' })];
  const actions: CardAction[] = [];
  if (data.viewerIsAdmin) {
    body.push(
      {
        type: 'Input.Toggle',
        id: 'onlyAdminsPost',
        title: ONLY_ADMINS,
        value: String(data.onlyAdminsPost),
        valueOn: 'true',
        valueOff: 'false',
        wrap: true,
      },
      {
        type: 'Input.Toggle',
        id: 'historyForNewMembers',
        title: HISTORY,
        value: String(data.historyForNewMembers),
        valueOn: 'true',
        valueOff: 'false',
        wrap: true,
      },
    );
    actions.push(button('Save', 'saveSettings', { groupId: data.groupId }, { style: 'positive' }));
  } else {
    body.push(
      richText([run(`${ONLY_ADMINS}: `, { weight: 'Bolder' }), data.onlyAdminsPost ? 'On' : 'Off']),
      richText([run(`${HISTORY}: `, { weight: 'Bolder' }), data.historyForNewMembers ? 'On' : 'Off'], { spacing: 'Small' }),
      paragraph('Only group admins can change these.', { isSubtle: true }),
    );
  }
  return toAttachment(adaptiveCard(body, actions, `Settings of ${inline(data.groupName)}`));
}
