import type { Attachment } from 'botbuilder';
import { button, openUrl } from './actions';
import { paragraph, richHeading } from './layout';
import { localDateTime } from './localTime';
import { adaptiveCard, toAttachment, type CardAction, type CardElement } from './schema';
import { inline, plain, provenRun, richText, run, shown, type ProvenName } from './text';

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

/** The input ids of the details card (the flow reads them from the submitted value). */
export const SENDER_NAME_INPUT = 'senderName';
export const PERSONAL_LINE_INPUT = 'personalLine';
export const ORGANIZATION_NAME_INPUT = 'organizationName';
export const SENDER_NAME_MAX_CHARS = 60;
export const PERSONAL_LINE_MAX_CHARS = 160;
export const ORGANIZATION_NAME_MAX_CHARS = 80;

export type DocumentCardKind = 'poster' | 'email';

export interface DocumentDetailsCardData {
  groupId: string;
  groupName: string;
  /** Which card comes after Save: the posters or the email. */
  kind: DocumentCardKind;
  senderName?: string;
  personalLine?: string;
  /** The verified organization of a mapped group (shown, not editable), or the name the owner typed. */
  organization: { verified: ProvenName } | { typed?: string };
  problem?: string;
}

/**
 * Before the download, the owner says who the documents come from: a sender name, a short personal line and,
 * for a group no organization owns yet, an organization name (printed as typed). A mapped group's verified
 * organization is shown and cannot be changed here.
 */
export function buildDocumentDetailsCard(data: DocumentDetailsCardData): Attachment {
  const what = data.kind === 'poster' ? 'posters' : 'email';
  const organization: CardElement[] =
    'verified' in data.organization
      ? [
          richText([
            run('Organization: ', { weight: 'Bolder' }),
            provenRun(data.organization.verified),
            run(' (verified when the group was added to it)', { isSubtle: true }),
          ]),
        ]
      : [
          {
            type: 'Input.Text',
            id: ORGANIZATION_NAME_INPUT,
            label: 'Organization name (optional; printed as you type it)',
            placeholder: 'For example: Contoso Logistics',
            maxLength: ORGANIZATION_NAME_MAX_CHARS,
            ...(data.organization.typed ? { value: plain(data.organization.typed, ORGANIZATION_NAME_MAX_CHARS) } : {}),
          },
        ];
  return toAttachment(
    adaptiveCard(
      [
        richHeading(data.kind === 'poster' ? 'Posters for ' : 'Email for ', data.groupName),
        paragraph(
          `${data.kind === 'poster' ? 'Who are the posters' : 'Who is the email'} from? Members see your name and your line, in your words.`,
        ),
        ...(data.problem === undefined ? [] : [paragraph(data.problem, { color: 'Attention' })]),
        {
          type: 'Input.Text',
          id: SENDER_NAME_INPUT,
          label: 'Sender name',
          placeholder: 'Your name, as members know you',
          maxLength: SENDER_NAME_MAX_CHARS,
          ...(data.senderName ? { value: plain(data.senderName, SENDER_NAME_MAX_CHARS) } : {}),
        },
        {
          type: 'Input.Text',
          id: PERSONAL_LINE_INPUT,
          label: 'A short personal line (optional)',
          placeholder: 'For example: From Monday our shift plans are only posted here.',
          maxLength: PERSONAL_LINE_MAX_CHARS,
          ...(data.personalLine ? { value: plain(data.personalLine, PERSONAL_LINE_MAX_CHARS) } : {}),
        },
        ...organization,
      ],
      [
        button(
          data.kind === 'poster' ? 'Save and get the posters' : 'Save and get the email',
          'saveDocumentDetails',
          { groupId: data.groupId, kind: data.kind },
          { style: 'positive' },
        ),
        button('Cancel', 'cancel', {}, { associatedInputs: 'none' }),
      ],
      `Who the ${what} for ${inline(data.groupName)} come from`,
    ),
  );
}

export interface PosterCardData {
  groupId: string;
  groupName: string;
  /** Signed URL of "Join <group>" (join-<group>.pptx), for the group's members. */
  joinPosterUrl: string;
  /** Signed URL of "Bring your work groups to Teams" (move-your-groups.pptx), for owners of other groups. */
  moveGroupsPosterUrl: string;
  expiresAt?: Date;
  /** Admins may change the sender and line. */
  canEdit: boolean;
}

/** `poster`: the two posters, each named for who it is for. */
export function buildPosterCard(data: PosterCardData): Attachment {
  const actions: CardAction[] = [
    openUrl(`Join ${shown(data.groupName, 40)}`, httpsOnly(data.joinPosterUrl), 'PowerPoint poster for the members of this group'),
    openUrl(
      'Bring your work groups to Teams',
      httpsOnly(data.moveGroupsPosterUrl),
      'PowerPoint poster for people who run other work groups',
    ),
  ];
  if (data.canEdit) actions.push(button('Change sender or line', 'poster', { groupId: data.groupId }));
  actions.push(button('Email instead', 'email', { groupId: data.groupId }));
  return toAttachment(
    adaptiveCard(
      [
        richHeading('Posters for ', data.groupName),
        richText([
          run('Join ', { weight: 'Bolder' }),
          run(data.groupName, { weight: 'Bolder' }),
          run(': for the members of this group. Pin it where they work: it has the invite link and QR code.'),
        ]),
        richText([
          run('Bring your work groups to Teams', { weight: 'Bolder' }),
          run(
            ': for people who run other work groups (a canteen or notice board). It shows how to move a group; it does not invite anyone to this one.',
          ),
        ]),
        paragraph('Both are PowerPoint files you can edit before printing.', { isSubtle: true }),
        ...expiry(data.expiresAt),
      ],
      actions,
      `Posters for ${inline(data.groupName)}`,
    ),
  );
}

export interface EmailCardData {
  groupId: string;
  groupName: string;
  /** Signed URL of join-<group>.eml. */
  emailFileUrl: string;
  mailto?: { subject: string; body: string };
  senderName?: string;
  expiresAt?: Date;
  canEdit: boolean;
}

/** `email`: the email to the group's members, from the sender. */
export function buildEmailCard(data: EmailCardData): Attachment {
  const actions: CardAction[] = [
    openUrl(
      'Download email',
      httpsOnly(data.emailFileUrl),
      'An email draft (.eml) with the link and QR code: open it, address it, send it',
    ),
  ];
  if (data.mailto !== undefined) actions.push(openUrl('Write the email', mailtoUrl(data.mailto.subject, data.mailto.body)));
  if (data.canEdit) actions.push(button('Change sender or line', 'email', { groupId: data.groupId }));
  actions.push(button('Posters instead', 'poster', { groupId: data.groupId }));
  return toAttachment(
    adaptiveCard(
      [
        richHeading('Email to the members of ', data.groupName),
        richText([
          run('A draft that asks the members to join in Teams, with the invite link, the QR code and the join code'),
          ...(data.senderName ? [run(', signed '), run(data.senderName, { weight: 'Bolder' })] : []),
          run(
            '. Open it in your mail app, add the members as recipients and send it. "Write the email" opens a shorter version without the QR code.',
          ),
        ]),
        ...expiry(data.expiresAt),
      ],
      actions,
      `Email for ${inline(data.groupName)}`,
    ),
  );
}

function expiry(expiresAt: Date | undefined): CardElement[] {
  return expiresAt === undefined
    ? []
    : [paragraph(`The download links work until ${localDateTime(expiresAt)}.`, { isSubtle: true, size: 'Small' })];
}
