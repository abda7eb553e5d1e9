import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { heading, paragraph, richHeading } from './layout';
import { adaptiveCard, toAttachment } from './schema';

export interface WelcomeCardData {
  /** The user's display name, if known. Shown literally. */
  userName?: string;
}

const STEPS = [
  '**1. Create a group.** Give it a name and, if you like, a photo.',
  '**2. Invite people.** Share the group link or QR code in WhatsApp, Telegram, SMS, email or Teams. Anyone with the link can join.',
  '**3. Add the group to your organization.** A group admin signs in with the work account; the organization then owns the group and its chat.',
  '**4. Ask everyone to move.** Download a poster and an email that explain the move, with the link and QR code filled in.',
];

export function buildWelcomeCard(data: WelcomeCardData = {}): Attachment {
  return toAttachment(
    adaptiveCard(
      [
        data.userName === undefined || data.userName.trim() === ''
          ? heading('Welcome to Kaizala Groups')
          : richHeading('Welcome, ', data.userName, '!'),
        paragraph(
          'Move your work group out of consumer chat apps and into Teams, where your organization owns the group, its members and its chat.',
        ),
        ...STEPS.map((step) => paragraph(step, { spacing: 'Small' })),
      ],
      [button('New group', 'createGroup', {}, { style: 'positive' }), button('My groups', 'myGroups'), button('Help', 'help')],
      'Welcome to Kaizala Groups: create a group, invite people, add it to your organization, ask everyone to move.',
    ),
  );
}
