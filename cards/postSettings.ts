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
  /** Group types (issue 18). */
  membersSeeEachOther: boolean;
  memberPostsTo: 'everyone' | 'admins';
  /** Absent: automatic (each join up to 50 members, a daily digest above). */
  joinNotices?: 'each' | 'digest' | 'off';
  /** Admins get toggles and Save; members see the settings. */
  viewerIsAdmin: boolean;
}

const ONLY_ADMINS = 'Only admins can post';
const HISTORY = 'New members see earlier posts';
const SEE_EACH_OTHER = 'Members see each other';
const POSTS_TO = "Members' posts go to";
const JOIN_NOTICES = 'Join notices to admins';
const POSTS_TO_CHOICES = [
  { title: 'Everyone in the group', value: 'everyone' },
  { title: 'The admins only (hub-and-spoke)', value: 'admins' },
];
const JOIN_CHOICES = [
  { title: 'Automatic: each join up to 50 members, then a daily digest', value: 'auto' },
  { title: 'Each join (joins close together in one notice)', value: 'each' },
  { title: 'A daily digest', value: 'digest' },
  { title: 'Off', value: 'off' },
];

/** What the combination is, in Kaizala's words (groups/groupTypes.ts groupTypeName says the same for the domain). */
function typeLine(data: PostSettingsCardData): string {
  if (data.memberPostsTo === 'admins' && data.onlyAdminsPost) {
    return "Broadcast group: members read the admins' posts, and their replies reach the admins only.";
  }
  if (data.memberPostsTo === 'admins') {
    return "Hub-and-spoke group: each member's posts reach the admins only, and an admin's reply reaches that member only.";
  }
  return data.onlyAdminsPost ? 'Announcement group: only admins post.' : 'Discussion group: everyone talks to everyone.';
}

function toggle(id: string, title: string, value: boolean): CardElement {
  return { type: 'Input.Toggle', id, title, value: String(value), valueOn: 'true', valueOff: 'false', wrap: true };
}

function choices(id: string, label: string, value: string, options: Array<{ title: string; value: string }>): CardElement {
  return { type: 'Input.ChoiceSet', id, label, value, choices: options, style: 'compact', wrap: true };
}

function shownValue(row: string, value: string): CardElement {
  return richText([run(`${row}: `, { weight: 'Bolder' }), value], { spacing: 'Small' });
}

/** `settings [group]`: the conversation's settings, with toggles for admins. */
export function buildPostSettingsCard(data: PostSettingsCardData): Attachment {
  const body: CardElement[] = [
    richHeading(data.groupName),
    paragraph('Conversation settings', { isSubtle: true, spacing: 'None' }),
    paragraph(typeLine(data), { spacing: 'Small' }),
  ];
  const actions: CardAction[] = [];
  const postsTo = data.memberPostsTo === 'admins' ? 'admins' : 'everyone';
  if (data.viewerIsAdmin) {
    body.push(
      toggle('onlyAdminsPost', ONLY_ADMINS, data.onlyAdminsPost),
      toggle('historyForNewMembers', HISTORY, data.historyForNewMembers),
      toggle('membersSeeEachOther', SEE_EACH_OTHER, data.membersSeeEachOther),
      paragraph('Off: members see the member count and the admins, never other members\u2019 names.', {
        isSubtle: true,
        size: 'Small',
        spacing: 'None',
      }),
      choices('memberPostsTo', POSTS_TO, postsTo, POSTS_TO_CHOICES),
      paragraph(
        "With \u201cOnly admins can post\u201d on as well, this is a broadcast group: members answer the admins' posts with Reply.",
        {
          isSubtle: true,
          size: 'Small',
          spacing: 'None',
        },
      ),
      choices('joinNotices', JOIN_NOTICES, data.joinNotices ?? 'auto', JOIN_CHOICES),
    );
    actions.push(button('Save', 'saveSettings', { groupId: data.groupId }, { style: 'positive' }));
  } else {
    body.push(
      shownValue(ONLY_ADMINS, data.onlyAdminsPost ? 'On' : 'Off'),
      shownValue(HISTORY, data.historyForNewMembers ? 'On' : 'Off'),
      shownValue(SEE_EACH_OTHER, data.membersSeeEachOther ? 'On' : 'Off'),
      shownValue(POSTS_TO, postsTo === 'admins' ? 'the admins only' : 'everyone'),
      paragraph('Only group admins can change these.', { isSubtle: true }),
    );
  }
  return toAttachment(adaptiveCard(body, actions, `Settings of ${inline(data.groupName)}`));
}
