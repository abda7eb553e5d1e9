import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { richHeading } from './layout';
import { adaptiveCard, toAttachment } from './schema';
import { inline, richText, run } from './text';
import type { CardData, CardVerb } from './verbs';

/** A piece of a message: the bot's words, or `{ emphasis }` shown bold. Both are shown literally (TextRuns). */
export type TextPart = string | { emphasis: string };

export interface ConfirmationCardData {
  /** Title parts, e.g. `['Leave ', 'Field team North', '?']`; user text is safe here. */
  title: readonly string[];
  message: readonly TextPart[];
  /** The confirm button: its title, verb and data (e.g. 'Reset link', 'confirmResetLink', { groupId }). */
  confirmTitle: string;
  confirmVerb: CardVerb;
  data: CardData;
  /** Red confirm button for what cannot be undone. */
  destructive?: boolean;
}

export function buildConfirmationCard(data: ConfirmationCardData): Attachment {
  const text = (parts: readonly TextPart[]): string => parts.map((p) => (typeof p === 'string' ? p : inline(p.emphasis))).join('');
  return toAttachment(
    adaptiveCard(
      [
        richHeading(...data.title),
        richText(data.message.map((p) => (typeof p === 'string' ? run(p, {}, 1000) : run(p.emphasis, { weight: 'Bolder' })))),
      ],
      [
        button(data.confirmTitle, data.confirmVerb, data.data, { style: data.destructive === true ? 'destructive' : 'positive' }),
        button('Cancel', 'cancel', {}, { associatedInputs: 'none' }),
      ],
      `${data.title.map((t) => inline(t)).join('')} ${text(data.message)}`,
    ),
  );
}

export interface GroupRef {
  groupId: string;
  groupName: string;
}

export function resetLinkConfirmation(g: GroupRef): ConfirmationCardData {
  return {
    title: ['Reset the invite link?'],
    message: [
      'The current link and join code of ',
      { emphasis: g.groupName },
      ' stop working at once. People who already joined stay in the group. You get a new link to share.',
    ],
    confirmTitle: 'Reset link',
    confirmVerb: 'confirmResetLink',
    data: { groupId: g.groupId },
    destructive: true,
  };
}

export function leaveConfirmation(g: GroupRef): ConfirmationCardData {
  return {
    title: ['Leave ', g.groupName, '?'],
    message: ['You will stop getting messages from this group. To come back you need its invite link.'],
    confirmTitle: 'Leave',
    confirmVerb: 'confirmLeave',
    data: { groupId: g.groupId },
    destructive: true,
  };
}

export function deleteConfirmation(g: GroupRef): ConfirmationCardData {
  return {
    title: ['Delete ', g.groupName, '?'],
    message: ['Every member is removed and the invite link stops working. This cannot be undone.'],
    confirmTitle: 'Delete group',
    confirmVerb: 'confirmDelete',
    data: { groupId: g.groupId },
    destructive: true,
  };
}

export interface ResolvedCardData {
  /** The bot's words: what became of the question this card asked. */
  message: string;
}

/** What a confirmation card turns into once answered: no buttons left to click twice. */
export function buildResolvedCard(data: ResolvedCardData): Attachment {
  return toAttachment(adaptiveCard([richText([run(data.message, { isSubtle: true })])], [], data.message));
}
