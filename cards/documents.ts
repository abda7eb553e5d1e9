import type { Attachment } from 'botbuilder';
import { button, openUrl } from './actions';
import { formatUtc, paragraph, richHeading } from './layout';
import { adaptiveCard, toAttachment, type CardAction } from './schema';
import { inline } from './text';

export interface DocumentsCardData {
  groupId: string;
  groupName: string;
  /** Signed https URL of the personalized poster (.pptx). */
  posterUrl: string;
  /** Signed https URL of the email template (.eml). */
  emailFileUrl: string;
  /** Signed https URL of the poster that introduces the bot to the whole organization. */
  introPosterUrl?: string;
  /** The same email as a mailto link (opens the user's mail app); the card encodes it. Keep the body short. */
  mailto?: { subject: string; body: string };
  /** When the signed links stop working. */
  expiresAt?: Date;
}

/** RFC 6068: every character outside the unreserved set percent-encoded; line breaks as %0D%0A. */
export function mailtoUrl(subject: string, body: string): string {
  const normalizedBody = body.replace(/\r?\n/g, '\r\n');
  return `mailto:?subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(normalizedBody)}`;
}

/** https, or plain http to this machine for a local run (the playground). */
function httpsOnly(url: string): string {
  if (!/^(https:\/\/|http:\/\/(localhost|127\.0\.0\.1)(:\d+)?\/)/i.test(url)) throw new TypeError('Document links must be https URLs.');
  return url;
}

/** Step 4: the poster and the email that ask everyone to move. */
export function buildDocumentsCard(data: DocumentsCardData): Attachment {
  const actions: CardAction[] = [
    openUrl('Download poster', httpsOnly(data.posterUrl), 'PowerPoint poster with the link and QR code'),
    openUrl('Download email', httpsOnly(data.emailFileUrl), 'Email template (.eml) to send from your mail app'),
  ];
  if (data.introPosterUrl !== undefined) {
    actions.push(openUrl('Intro poster', httpsOnly(data.introPosterUrl), 'A poster that introduces the bot to everyone'));
  }
  if (data.mailto !== undefined) actions.push(openUrl('Write the email', mailtoUrl(data.mailto.subject, data.mailto.body)));
  actions.push(button('Invite People', 'showInvite', { groupId: data.groupId }));
  return toAttachment(
    adaptiveCard(
      [
        richHeading('Ask everyone to move to ', data.groupName),
        paragraph(
          'Print or post the poster where your team meets, and send the email. Both explain the move and carry the invite link and QR code. You can edit them before you share them.',
        ),
        ...(data.expiresAt === undefined
          ? []
          : [paragraph(`The download links work until ${formatUtc(data.expiresAt)}.`, { isSubtle: true, size: 'Small' })]),
      ],
      actions,
      `Poster and email for ${inline(data.groupName)}`,
    ),
  );
}
