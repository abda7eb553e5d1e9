import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { heading, paragraph, richHeading } from './layout';
import { adaptiveCard, toAttachment } from './schema';
import { inline, plain } from './text';

/** The input ids the dialog reads from the submitted value. */
export const GROUP_NAME_INPUT = 'groupName';
export const GROUP_PHOTO_INPUT = 'photoUrl';
export const GROUP_NAME_MAX_CHARS = 100;

export interface AskGroupNameCardData {
  /** Pre-filled value (e.g. `new group Sal` then a retry). Placed in the input, never in Markdown. */
  suggestedName?: string;
  /** Why the previous answer was refused, in the bot's own words. */
  problem?: string;
}

/** Step 1: the name. "Next" submits `{ verb: 'createGroup', step: 'name', groupName }`. */
export function buildAskGroupNameCard(data: AskGroupNameCardData = {}): Attachment {
  return toAttachment(
    adaptiveCard(
      [
        heading('Create a group'),
        paragraph('What is the group called? Use the name people know from your other chat app.'),
        ...(data.problem === undefined ? [] : [paragraph(data.problem, { color: 'Attention' })]),
        {
          type: 'Input.Text',
          id: GROUP_NAME_INPUT,
          label: 'Group name',
          placeholder: 'For example: Field team North',
          maxLength: GROUP_NAME_MAX_CHARS,
          isRequired: true,
          errorMessage: `Type a name of 1 to ${GROUP_NAME_MAX_CHARS} characters.`,
          ...(data.suggestedName === undefined ? {} : { value: plain(data.suggestedName, GROUP_NAME_MAX_CHARS) }),
        },
      ],
      [
        button('Next', 'createGroup', { step: 'name' }, { style: 'positive' }),
        button('Cancel', 'cancel', {}, { associatedInputs: 'none' }),
      ],
      'Create a group: what is the group called?',
    ),
  );
}

export interface AskGroupPhotoCardData {
  groupName: string;
  problem?: string;
}

/** Step 2: an optional photo. "Next" submits `{ verb: 'createGroup', step: 'photo', photoUrl }`; "Skip" `skipPhoto`. */
export function buildAskGroupPhotoCard(data: AskGroupPhotoCardData): Attachment {
  return toAttachment(
    adaptiveCard(
      [
        richHeading('A photo for ', data.groupName),
        paragraph(
          'A group photo personalizes the group icon. Paste a link to an image (https), or attach a picture to your next message. You can also skip this.',
        ),
        ...(data.problem === undefined ? [] : [paragraph(data.problem, { color: 'Attention' })]),
        {
          type: 'Input.Text',
          id: GROUP_PHOTO_INPUT,
          label: 'Photo link (optional)',
          placeholder: 'https://…',
          style: 'Url',
          maxLength: 2048,
          // Not required (no asterisk): an empty field with Next is the same as Skip. A link typed in must be https.
          regex: '^https://\\S+$',
          errorMessage: 'Paste a link that starts with https://, or choose Skip.',
        },
      ],
      [
        button('Next', 'createGroup', { step: 'photo' }, { style: 'positive' }),
        button('Skip', 'skipPhoto', {}, { associatedInputs: 'none' }),
        button('Cancel', 'cancel', {}, { associatedInputs: 'none' }),
      ],
      `A photo for ${inline(data.groupName)}: paste an https link, attach a picture, or skip.`,
    ),
  );
}
