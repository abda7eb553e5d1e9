import { randomBytes } from 'node:crypto';
import { foldLines, encodeWords, isPlainText } from 'nodemailer/lib/mime-funcs';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';
import { checkJoinCode, checkLink, cleanText, cleanVoice, joinSteps, requireName, type JoinPath, type Voice } from './content';

/**
 * Step 4 of the move as an email to the group's members, as
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

export interface EmailData extends Voice {
  groupName: string;
  inviteUrl: string;
  joinCode: string;
  botName: string;
  /** The QR code of the invite link as a PNG: the .eml carries it as an inline image (cid:) in the HTML part. */
  qrPng?: Buffer;
  /** The Date header; now by default. */
  date?: Date;
  /** How the invite page lets people join (its Open in Teams button by default). */
  joinPath?: JoinPath;
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
/** The Content-ID of the inline QR code image (the HTML part shows it as `cid:` + this). */
export const QR_CONTENT_ID = 'invite-qr@kaizala-groups';

const CRLF = '\r\n';

/**
 * The email to the group's members, in one voice: the sender's ("I am moving ..."), signed with their name,
 * with their personal line, the invite link, the QR code (inline) and the join code.
 */
export function buildJoinEmail(data: EmailData): MoveEmail {
  const groupName = requireName(data.groupName, 'group name');
  const botName = requireName(data.botName, 'bot name', 60);
  const inviteUrl = checkLink(data.inviteUrl, 'invite link');
  const joinCode = checkJoinCode(data.joinCode);
  const voice = cleanVoice(data);
  const content: Content = {
    ...voice,
    groupName,
    botName,
    inviteUrl,
    joinCode,
    hasQr: data.qrPng !== undefined,
    joinPath: data.joinPath ?? 'teamsButton',
  };

  const subject = subjectFor(groupName);
  const text = plainText(content);
  const html = htmlBody(content, subject);
  const eml = buildEml({ subject, text, html, date: data.date ?? new Date(), ...(data.qrPng ? { qrPng: data.qrPng } : {}) });
  const mailto = buildMailto(content);
  return { subject, text, html, eml, mailto };
}

/** The earlier name. */
export const buildMoveEmail = buildJoinEmail;

interface Content {
  organization?: string;
  /** The organization owns the group (it is mapped); otherwise the email does not say it does. */
  owned?: true;
  sender?: string;
  line?: string;
  groupName: string;
  botName: string;
  inviteUrl: string;
  joinCode: string;
  hasQr: boolean;
  joinPath: JoinPath;
}

function subjectFor(groupName: string): string {
  return `Join ${groupName} on Microsoft Teams`;
}

/** "... where Fabrikam owns it" only for a group the organization owns: a private group is not owned by anyone's employer. */
function movingSentence(c: Pick<Content, 'groupName' | 'organization' | 'owned'>): string {
  const owner = c.organization && c.owned ? `, where ${c.organization} owns it` : '';
  return `I am moving ${c.groupName} from a personal chat app to Microsoft Teams${owner}. Please join the group there.`;
}

function plainText(c: Content): string {
  const lines = ['Hello,', ''];
  if (c.line) lines.push(c.line, '');
  lines.push(movingSentence(c), '');
  joinSteps(c.botName, c.joinPath).forEach((step, i) => {
    lines.push(
      i === 0
        ? `1. Open this link on your phone or computer${c.hasQr ? ' (or scan the QR code)' : ''}:`
        : `${i + 1}. ${step.title}: ${step.detail}`,
    );
    if (i === 0) lines.push(`   ${c.inviteUrl}`);
  });
  lines.push(
    '',
    `Join code, if you would rather type it: ${c.joinCode}`,
    '',
    'Anyone with the link can join, so please keep it within the group.',
    '',
    'Thanks,',
    c.sender ?? 'See you there',
  );
  return lines.join('\n') + '\n';
}

function htmlBody(c: Content, subject: string): string {
  const e = escapeHtml;
  // The whole list, numbered from 1: the first step points at the button, link and QR code above it.
  const steps = joinSteps(c.botName, c.joinPath)
    .map((step, i) => {
      const title = i === 0 ? (c.hasQr ? 'Open the link above or scan the QR code' : 'Open the link above') : step.title;
      return `<li style="margin:0 0 8px 0"><strong>${e(title)}.</strong> ${e(step.detail)}</li>`;
    })
    .join('\n');
  const qr = c.hasQr
    ? `<p><img src="cid:${QR_CONTENT_ID}" width="180" height="180" alt="QR code of the invite link to ${e(c.groupName)}" style="display:block;width:180px;height:180px"></p>\n`
    : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(subject)}</title>
</head>
<body style="margin:0;padding:24px;font-family:'Segoe UI',Arial,sans-serif;font-size:15px;line-height:1.5;color:#242424">
${c.organization ? `<p style="margin:0 0 4px 0;color:#464EB8;font-weight:bold">${e(c.organization)}</p>\n` : ''}<h1 style="margin:0 0 16px 0;font-size:24px">Join ${e(c.groupName)} on Microsoft Teams</h1>
<p>Hello,</p>
${c.line ? `<p style="font-style:italic">${e(c.line)}</p>\n` : ''}<p>${e(movingSentence(c))}</p>
<p><a href="${e(c.inviteUrl)}" style="display:inline-block;padding:10px 18px;background:#464EB8;color:#ffffff;text-decoration:none;border-radius:4px;font-weight:bold">Join ${e(c.groupName)}</a></p>
${qr}<p style="font-size:13px;color:#616161">Or open this link: <a href="${e(c.inviteUrl)}">${e(c.inviteUrl)}</a><br>
Join code, if you would rather type it: <strong>${e(c.joinCode)}</strong></p>
<ol style="padding-left:20px">
${steps}
</ol>
<p style="font-size:13px;color:#616161">Anyone with the link can join, so please keep it within the group.</p>
<p>Thanks,<br>${e(c.sender ?? 'See you there')}</p>
</body>
</html>
`;
}

function buildEml(m: { subject: string; text: string; html: string; date: Date; qrPng?: Buffer }): Buffer {
  // "=_" never occurs in quoted-printable output ("=" is always followed by two hex digits), nor in base64,
  // so the boundaries cannot collide with a body.
  const outer = `----=_Part_${randomBytes(12).toString('hex')}`;
  const inner = `----=_Rel_${randomBytes(12).toString('hex')}`;
  const headers = [
    'MIME-Version: 1.0',
    `Date: ${m.date.toUTCString().replace(/GMT$/, '+0000')}`,
    header('Subject', m.subject),
    'X-Unsent: 1',
    `Content-Type: multipart/alternative;${CRLF} boundary="${outer}"`,
  ];
  const textPart = (boundary: string, contentType: string, body: string): string =>
    [
      `--${boundary}`,
      `Content-Type: ${contentType}; charset=utf-8`,
      'Content-Transfer-Encoding: quoted-printable',
      '',
      qpWrap(qpEncode(toCrlf(body)), 76),
    ].join(CRLF);
  const htmlPart = m.qrPng
    ? [
        `--${outer}`,
        `Content-Type: multipart/related;${CRLF} boundary="${inner}";${CRLF} type="text/html"`,
        '',
        textPart(inner, 'text/html', m.html),
        [
          `--${inner}`,
          'Content-Type: image/png; name="invite-qr.png"',
          'Content-Transfer-Encoding: base64',
          `Content-ID: <${QR_CONTENT_ID}>`,
          'Content-Disposition: inline; filename="invite-qr.png"',
          '',
          (m.qrPng.toString('base64').match(/.{1,76}/g) ?? []).join(CRLF),
        ].join(CRLF),
        `--${inner}--`,
      ].join(CRLF)
    : textPart(outer, 'text/html', m.html);
  const message = [
    ...headers,
    '',
    'This is a multi-part message in MIME format.',
    textPart(outer, 'text/plain', m.text),
    htmlPart,
    `--${outer}--`,
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
 * mailto:?subject=…&body=… (RFC 6068: percent-encoded UTF-8, CRLF line breaks, no "+" for spaces). The same
 * voice as the .eml; bodies are tried from the fullest to the shortest; as a last resort the group name is
 * cut, never the invite link.
 */
function buildMailto(c: Content): string {
  for (let nameLength = 80; nameLength >= 1; nameLength = Math.floor(nameLength * 0.7)) {
    const groupName = cleanText(c.groupName, nameLength);
    const subject = subjectFor(groupName);
    const join = ['Open this link to join:', c.inviteUrl, `Join code: ${c.joinCode}`];
    const signOff = ['', 'Thanks,', c.sender ?? 'See you there'];
    const bodies = [
      ['Hello,', '', ...(c.line ? [c.line, ''] : []), movingSentence({ ...c, groupName }), '', ...join, ...signOff],
      ['Hello,', '', movingSentence({ groupName }), '', ...join, ...signOff],
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
