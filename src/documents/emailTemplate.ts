import { randomBytes } from 'node:crypto';
import { foldLines, encodeWords, isPlainText } from 'nodemailer/lib/mime-funcs';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';
import {
  checkJoinCode,
  checkLink,
  cleanText,
  moveSteps,
  organizationInSentence,
  organizationLabel,
  requireName,
  whyLine,
} from './content';

/**
 * Step 4 of the move as an email: the same content as the move poster, as
 *  - `subject`, `text` and `html` for anything that sends mail itself,
 *  - `eml`, an RFC 5322 message saved as a draft (`X-Unsent: 1`, no From/To): Outlook opens it ready to address
 *    and send,
 *  - `mailto`, an RFC 6068 link that opens the user's mail app with the subject and a (possibly shortened) body.
 *
 * Why not nodemailer's MailComposer: its `build()` is asynchronous (stream based) and this function is
 * synchronous by contract. The parts that are easy to get wrong (quoted-printable with soft line breaks, RFC 2047
 * encoded words, header folding) use nodemailer's own synchronous encoders (`nodemailer/lib/qp`,
 * `nodemailer/lib/mime-funcs`), the same code MailComposer runs; the multipart skeleton around them is a few
 * lines. The tests parse the result with mailparser.
 */

export interface EmailData {
  organizationName?: string;
  groupName: string;
  inviteUrl: string;
  joinCode: string;
  botName: string;
  /** A (signed) link to the printable poster, added to the message when given. */
  posterUrl?: string;
  /** The Date header; now by default. */
  date?: Date;
}

export interface MoveEmail {
  subject: string;
  text: string;
  html: string;
  eml: Buffer;
  mailto: string;
}

/** The longest mailto link we produce; some mail clients and browsers cut longer ones (about 2,000 characters). */
export const MAX_MAILTO_LENGTH = 1800;

const CRLF = '\r\n';

export function buildMoveEmail(data: EmailData): MoveEmail {
  const groupName = requireName(data.groupName, 'group name');
  const botName = requireName(data.botName, 'bot name', 60);
  const inviteUrl = checkLink(data.inviteUrl, 'invite link');
  const joinCode = checkJoinCode(data.joinCode);
  const posterUrl = data.posterUrl === undefined || data.posterUrl.trim() === '' ? undefined : checkLink(data.posterUrl, 'poster link');
  const content: Content = {
    organization: organizationInSentence(data.organizationName),
    organizationLabel: organizationLabel(data.organizationName),
    groupName,
    botName,
    inviteUrl,
    joinCode,
    posterUrl,
  };

  const subject = subjectFor(groupName);
  const text = plainText(content);
  const html = htmlBody(content, subject);
  const eml = buildEml({ subject, text, html, date: data.date ?? new Date() });
  const mailto = buildMailto(content);
  return { subject, text, html, eml, mailto };
}

interface Content {
  organization: string;
  organizationLabel: string;
  groupName: string;
  botName: string;
  inviteUrl: string;
  joinCode: string;
  posterUrl: string | undefined;
}

function subjectFor(groupName: string): string {
  return `Join ${groupName} on Microsoft Teams`;
}

function plainText(c: Content): string {
  const lines = [
    `Hello,`,
    '',
    `We are moving ${c.groupName} from a personal chat app to Microsoft Teams, so that our work chat stays with ${c.organization}.`,
    '',
    `Join the group with this link:`,
    c.inviteUrl,
    `Join code: ${c.joinCode}`,
    `(Sign in with your work account when Teams asks. Anyone with the link can join, so please do not pass it on outside the group.)`,
    '',
    `Have another work group to move? Four steps:`,
    ...moveSteps(c.botName, c.organization).map((step, i) => `${i + 1}. ${step.title}: ${step.detail}`),
  ];
  if (c.posterUrl !== undefined) lines.push('', `A poster to print and pin up: ${c.posterUrl}`);
  lines.push('', whyLine(c.organization), '', `${c.organizationLabel}`);
  return lines.join('\n') + '\n';
}

function htmlBody(c: Content, subject: string): string {
  const e = escapeHtml;
  const steps = moveSteps(c.botName, c.organization)
    .map((step) => `<li style="margin:0 0 8px 0"><strong>${e(step.title)}.</strong> ${e(step.detail)}</li>`)
    .join('\n');
  const poster =
    c.posterUrl === undefined ? '' : `<p>A poster to print and pin up: <a href="${e(c.posterUrl)}">download the poster</a>.</p>\n`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(subject)}</title>
</head>
<body style="margin:0;padding:24px;font-family:'Segoe UI',Arial,sans-serif;font-size:15px;line-height:1.5;color:#242424">
<p style="margin:0 0 4px 0;color:#464EB8;font-weight:bold">${e(c.organizationLabel)}</p>
<h1 style="margin:0 0 16px 0;font-size:24px">Join ${e(c.groupName)} on Microsoft Teams</h1>
<p>Hello,</p>
<p>We are moving <strong>${e(c.groupName)}</strong> from a personal chat app to Microsoft Teams, so that our work chat stays with ${e(c.organization)}.</p>
<p><a href="${e(c.inviteUrl)}" style="display:inline-block;padding:10px 18px;background:#464EB8;color:#ffffff;text-decoration:none;border-radius:4px;font-weight:bold">Join ${e(c.groupName)}</a></p>
<p style="font-size:13px;color:#616161">Or open this link: <a href="${e(c.inviteUrl)}">${e(c.inviteUrl)}</a><br>
Join code: <strong>${e(c.joinCode)}</strong><br>
Sign in with your work account when Teams asks. Anyone with the link can join, so please do not pass it on outside the group.</p>
<h2 style="margin:24px 0 8px 0;font-size:18px">Have another work group to move? Four steps</h2>
<ol style="padding-left:20px">
${steps}
</ol>
${poster}<p style="font-size:13px;color:#616161">${e(whyLine(c.organization))}</p>
</body>
</html>
`;
}

function buildEml(m: { subject: string; text: string; html: string; date: Date }): Buffer {
  // "=_" never occurs in quoted-printable output ("=" is always followed by two hex digits), so the boundary
  // cannot collide with the body.
  const boundary = `----=_Part_${randomBytes(12).toString('hex')}`;
  const headers = [
    'MIME-Version: 1.0',
    `Date: ${m.date.toUTCString().replace(/GMT$/, '+0000')}`,
    header('Subject', m.subject),
    'X-Unsent: 1',
    `Content-Type: multipart/alternative;${CRLF} boundary="${boundary}"`,
  ];
  const part = (contentType: string, body: string): string =>
    [
      `--${boundary}`,
      `Content-Type: ${contentType}; charset=utf-8`,
      'Content-Transfer-Encoding: quoted-printable',
      '',
      qpWrap(qpEncode(toCrlf(body)), 76),
    ].join(CRLF);
  const message = [
    ...headers,
    '',
    'This is a multi-part message in MIME format.',
    part('text/plain', m.text),
    part('text/html', m.html),
    `--${boundary}--`,
    '',
  ].join(CRLF);
  return Buffer.from(message, 'ascii');
}

/** An unstructured header: RFC 2047 encoded words for non-ASCII text, folded at 76 characters. */
function header(name: string, value: string): string {
  const oneLine = value.replace(/[\r\n]+/g, ' ');
  const encoded = isPlainText(oneLine) ? oneLine : encodeWords(oneLine, 'Q', 52);
  return foldLines(`${name}: ${encoded}`, 76);
}

/**
 * mailto:?subject=…&body=… (RFC 6068: percent-encoded UTF-8, CRLF line breaks, no "+" for spaces). Bodies are
 * tried from the fullest to the shortest; as a last resort the group name is cut, never the invite link.
 */
function buildMailto(c: Content): string {
  const steps = moveSteps(c.botName, c.organization);
  for (let nameLength = 80; nameLength >= 1; nameLength = Math.floor(nameLength * 0.7)) {
    const groupName = cleanText(c.groupName, nameLength);
    const subject = subjectFor(groupName);
    const join = [`Join ${groupName} on Microsoft Teams with this link:`, c.inviteUrl, `Join code: ${c.joinCode}`];
    const bodies = [
      [
        'Hello,',
        '',
        `We are moving ${groupName} from a personal chat app to Microsoft Teams, so that our work chat stays with ${c.organization}.`,
        '',
        ...join,
        '',
        'Have another work group to move? Four steps:',
        ...steps.map((step, i) => `${i + 1}. ${step.title}: ${step.detail}`),
      ],
      [...join, '', 'Have another work group to move? In Teams:', ...steps.map((step, i) => `${i + 1}. ${step.title}`)],
      join,
      [c.inviteUrl],
    ];
    for (const body of bodies) {
      const link = mailtoLink(subject, body.join('\r\n'));
      if (link.length <= MAX_MAILTO_LENGTH) return link;
    }
  }
  return mailtoLink('Join our group on Microsoft Teams', c.inviteUrl);
}

function mailtoLink(subject: string, body: string): string {
  return `mailto:?subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(body)}`;
}

function toCrlf(value: string): string {
  return value.replace(/\r?\n/g, CRLF);
}

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
