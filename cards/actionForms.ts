/**
 * The forms an admin (or a member, where members may post) fills in to send an announcement or a poll
 * (issue 19). Times are typed as the reader's local date and time; the bot reads them in the zone Teams sends.
 */
import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { paragraph, richHeading } from './layout';
import { adaptiveCard, toAttachment, type CardElement, type InputChoiceSet } from './schema';
import { inline } from './text';

export const MAX_POLL_OPTIONS = 10;

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
  return toAttachment(
    adaptiveCard(
      [
        richHeading('New poll in ', data.groupName),
        { type: 'Input.Text', id: 'question', label: 'Question', maxLength: 120, isRequired: true, errorMessage: 'Ask a question.' },
        ...options,
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
