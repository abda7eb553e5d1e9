/**
 * The forms an admin (or a member, where members may post) fills in to send an announcement or a poll
 * (issue 19). Times are typed as the reader's local date and time; the bot reads them in the zone Teams sends.
 */
import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { paragraph, richHeading } from './layout';
import { adaptiveCard, toAttachment, type CardElement, type InputChoiceSet } from './schema';
import { inline, richText, run } from './text';

export const MAX_POLL_OPTIONS = 10;
/** Options shown at first; the rest open with "More options" (most polls have two to four). */
export const SHOWN_POLL_OPTIONS = 4;
const MORE_OPTIONS_ID = 'moreOptions';

const choiceSet = (id: string, label: string, choices: Array<[string, string]>, value: string): InputChoiceSet => ({
  type: 'Input.ChoiceSet',
  id,
  label,
  style: 'compact',
  value,
  choices: choices.map(([v, title]) => ({ title, value: v })),
});

const when = (prefix: string, label: string): CardElement => ({
  type: 'ColumnSet',
  columns: [
    { type: 'Column', width: 'stretch', items: [{ type: 'Input.Date', id: `${prefix}Date`, label }] },
    { type: 'Column', width: 'stretch', items: [{ type: 'Input.Time', id: `${prefix}Time`, label: 'Time' }] },
  ],
});

export function buildAnnouncementForm(data: { groupId: string; groupName: string }): Attachment {
  return toAttachment(
    adaptiveCard(
      [
        richHeading('New announcement in ', data.groupName),
        { type: 'Input.Text', id: 'title', label: 'Title', maxLength: 120, isRequired: true, errorMessage: 'Give it a title.' },
        {
          type: 'Input.Text',
          id: 'text',
          label: 'Text',
          isMultiline: true,
          maxLength: 2000,
          isRequired: true,
          errorMessage: 'Write the announcement.',
        },
        { type: 'Input.Toggle', id: 'askConfirm', title: 'Ask members to confirm', value: 'true', valueOn: 'true', valueOff: 'false' },
        when('due', 'Confirm by (optional)'),
        paragraph('Every member gets it as a card. Admins see who confirmed and can remind the others.', { isSubtle: true, size: 'Small' }),
      ],
      [
        button('Send', 'createAnnouncement', { groupId: data.groupId }, { style: 'positive' }),
        button('Cancel', 'cancel', {}, { associatedInputs: 'none' }),
      ],
      `New announcement in ${inline(data.groupName)}`,
    ),
  );
}

export function buildPollForm(data: { groupId: string; groupName: string }): Attachment {
  const options: CardElement[] = Array.from({ length: MAX_POLL_OPTIONS }, (_, i) => ({
    type: 'Input.Text',
    id: `option${i + 1}`,
    label: i < 2 ? `Option ${i + 1}` : `Option ${i + 1} (optional)`,
    maxLength: 100,
    ...(i < 2 ? { isRequired: true, errorMessage: 'A poll needs at least two options.' } : {}),
  }));
  // Options 5 to 10 wait behind a toggle: the form stays short, and still takes ten.
  const more: CardElement[] = [
    {
      type: 'ActionSet',
      actions: [
        {
          type: 'Action.ToggleVisibility',
          title: `More options (up to ${MAX_POLL_OPTIONS})`,
          targetElements: [MORE_OPTIONS_ID],
        },
      ],
    },
    { type: 'Container', id: MORE_OPTIONS_ID, isVisible: false, items: options.slice(SHOWN_POLL_OPTIONS) },
  ];
  return toAttachment(
    adaptiveCard(
      [
        richHeading('New poll in ', data.groupName),
        { type: 'Input.Text', id: 'question', label: 'Question', maxLength: 120, isRequired: true, errorMessage: 'Ask a question.' },
        ...options.slice(0, SHOWN_POLL_OPTIONS),
        ...more,
        choiceSet(
          'multi',
          'Answers',
          [
            ['false', 'One choice'],
            ['true', 'Several choices'],
          ],
          'false',
        ),
        choiceSet(
          'anonymous',
          'Votes',
          [
            ['false', 'Named (a vote can be changed)'],
            ['true', 'Anonymous (a vote is final)'],
          ],
          'false',
        ),
        choiceSet(
          'resultsFor',
          'Results',
          [
            ['everyone', 'Everyone, after voting'],
            ['admins', 'Admins only'],
          ],
          'everyone',
        ),
        when('close', 'Closes (optional)'),
      ],
      [
        button('Send', 'createPoll', { groupId: data.groupId }, { style: 'positive' }),
        button('Cancel', 'cancel', {}, { associatedInputs: 'none' }),
      ],
      `New poll in ${inline(data.groupName)}`,
    ),
  );
}

/**
 * What a sent form turns into (the clicked form is updated in place): a line saying what went where, so the form
 * cannot be edited or sent again.
 */
export function buildFormSentCard(data: { kind: 'announcement' | 'poll'; groupName: string; title: string }): Attachment {
  const what = data.kind === 'poll' ? 'Poll' : 'Announcement';
  return toAttachment(
    adaptiveCard(
      [
        richHeading(`${what} sent to `, data.groupName),
        richText([run(data.title, { isSubtle: true }, 120)]),
        paragraph('Your copy with the answers is below.', { isSubtle: true, size: 'Small' }),
      ],
      [],
      `${what} sent to ${inline(data.groupName)}`,
    ),
  );
}
