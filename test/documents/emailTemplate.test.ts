import assert from 'node:assert/strict';
import { simpleParser } from 'mailparser';
import { InvalidInputError } from '../../src/errors';
import { buildMoveEmail, MAX_MAILTO_LENGTH, QR_CONTENT_ID, type EmailData } from '../../src/documents/emailTemplate';
import { qrCodePng } from '../../src/documents/poster';

const HOSTILE = `Night <b>shift</b> & "co" 'ops' ]]> <script>alert(1)</script>`;

/** A group the organization owns (mapped): the email may say so. */
const base: EmailData = {
  organizationName: 'Fabrikam Logistics',
  organizationOwnsGroup: true,
  groupName: 'Warehouse night shift',
  inviteUrl: 'https://bot.example.com/join/ABCD-2345?src=email&lang=en',
  joinCode: 'ABCD-2345',
  botName: 'Kaizala Groups',
  senderName: 'Dana Foreman',
  personalLine: 'From Monday the shift plans are only posted there.',
  date: new Date('2025-03-04T05:06:07Z'),
};

/** Splits an RFC 6068 mailto link into its decoded header fields. */
function decodeMailto(mailto: string): { to: string; fields: Map<string, string> } {
  assert.ok(mailto.startsWith('mailto:'));
  const [to = '', query = ''] = mailto.slice('mailto:'.length).split('?', 2);
  const fields = new Map<string, string>();
  for (const pair of query.split('&')) {
    const [key = '', value = ''] = pair.split('=', 2);
    fields.set(decodeURIComponent(key), decodeURIComponent(value));
  }
  return { to, fields };
}

describe('move email (.eml, html, text, mailto)', () => {
  it('parses as a draft with a subject, a date, both parts and no sender or recipients', async () => {
    const email = buildMoveEmail(base);
    const parsed = await simpleParser(email.eml);
    assert.equal(parsed.subject, 'Join Warehouse night shift on Microsoft Teams');
    assert.equal(parsed.subject, email.subject);
    assert.equal(parsed.headers.get('x-unsent'), '1');
    assert.equal(parsed.headers.get('mime-version'), '1.0');
    assert.equal(parsed.date?.toISOString(), '2025-03-04T05:06:07.000Z');
    assert.equal(parsed.from, undefined);
    assert.equal(parsed.to, undefined);
    const contentType = parsed.headers.get('content-type');
    assert.ok(contentType !== undefined && typeof contentType === 'object' && 'value' in contentType);
    assert.equal(contentType.value, 'multipart/alternative');
    assert.equal(parsed.text?.trim(), email.text.trim());
    assert.equal(typeof parsed.html, 'string');
    assert.equal(parsed.attachments.length, 0);
  });

  it('carries the invite link, the join code, the steps to join, the organization, the sender and the line in both parts', async () => {
    const parsed = await simpleParser(buildMoveEmail(base).eml);
    const text = parsed.text ?? '';
    const html = typeof parsed.html === 'string' ? parsed.html : '';
    assert.ok(text.includes(base.inviteUrl));
    assert.ok(html.includes(`href="${base.inviteUrl.replace(/&/g, '&amp;')}"`), 'the HTML part links to the invite');
    for (const part of [text, html]) {
      for (const expected of [
        'ABCD-2345',
        'Press Send',
        'Fabrikam Logistics',
        'Dana Foreman',
        'From Monday the shift plans are only posted there.',
      ]) {
        assert.ok(part.includes(expected), `each part says "${expected}"`);
      }
    }
  });

  it('is 7-bit, CRLF, with lines of at most 78 characters (quoted-printable)', () => {
    const raw = buildMoveEmail({ ...base, groupName: `Équipe de nuit 🚚 ${'très long nom '.repeat(4)}` }).eml.toString('latin1');
    assert.ok(/^[\x00-\x7f]*$/.test(raw), 'only ASCII bytes');
    assert.ok(!/[^\r]\n/.test(raw), 'every line ends in CRLF');
    for (const line of raw.split('\r\n')) assert.ok(line.length <= 78, `line too long: ${line}`);
    assert.ok(raw.includes('Content-Transfer-Encoding: quoted-printable'));
  });

  it('encodes a non-ASCII subject as RFC 2047 encoded words', async () => {
    const email = buildMoveEmail({ ...base, groupName: 'Équipe de nuit 🚚' });
    const raw = email.eml.toString('latin1');
    assert.match(raw, /^Subject: .*=\?UTF-8\?Q\?/m);
    assert.equal((await simpleParser(email.eml)).subject, 'Join Équipe de nuit 🚚 on Microsoft Teams');
  });

  it('escapes a hostile group name in the HTML part and keeps it as is in the text part', async () => {
    const email = buildMoveEmail({ ...base, groupName: HOSTILE, organizationName: HOSTILE });
    assert.ok(!email.html.includes('<b>shift'));
    assert.ok(!email.html.includes('<script>'));
    assert.ok(email.html.includes('Night &lt;b&gt;shift&lt;/b&gt; &amp; &quot;co&quot; &#39;ops&#39; ]]&gt;'));
    const parsed = await simpleParser(email.eml);
    assert.equal(parsed.subject, `Join ${HOSTILE} on Microsoft Teams`);
    assert.ok((parsed.text ?? '').includes(HOSTILE));
    const html = typeof parsed.html === 'string' ? parsed.html : '';
    assert.ok(!html.includes('<script>'));
  });

  it('cannot be made to add headers through a name with line breaks', async () => {
    const email = buildMoveEmail({ ...base, groupName: 'Team\r\nBcc: victim@example.com\r\n\r\nhi' });
    const parsed = await simpleParser(email.eml);
    assert.equal(parsed.bcc, undefined);
    assert.equal(parsed.subject, 'Join Team Bcc: victim@example.com hi on Microsoft Teams');
  });

  it('carries the QR code of the invite link as an inline image the HTML part shows (cid:)', async () => {
    const qrPng = await qrCodePng(base.inviteUrl, 360);
    const email = buildMoveEmail({ ...base, qrPng });
    const raw = email.eml.toString('latin1');
    for (const line of raw.split('\r\n')) assert.ok(line.length <= 78, `line too long: ${line}`);
    const parsed = await simpleParser(email.eml, { keepCidLinks: true });
    assert.equal(parsed.attachments.length, 1);
    const [image] = parsed.attachments;
    assert.equal(image!.contentType, 'image/png');
    assert.equal(image!.contentDisposition, 'inline');
    assert.equal(image!.cid, QR_CONTENT_ID);
    assert.ok(image!.related, 'part of multipart/related with the HTML');
    assert.ok(image!.content.equals(qrPng), 'the image is the QR code of the invite link');
    assert.ok(String(parsed.html).includes(`src="cid:${QR_CONTENT_ID}"`));
    assert.match(parsed.text ?? '', /or scan the QR code/);
  });

  it('gives a mailto link that decodes back to the subject and a body with the link, signed by the sender', () => {
    const email = buildMoveEmail(base);
    assert.ok(email.mailto.length <= MAX_MAILTO_LENGTH);
    assert.ok(!/[ +]/.test(email.mailto), 'spaces are %20, never raw or "+"');
    const { to, fields } = decodeMailto(email.mailto);
    assert.equal(to, '');
    assert.equal(fields.get('subject'), email.subject);
    const body = fields.get('body') ?? '';
    assert.ok(body.includes(base.inviteUrl));
    assert.ok(body.includes('\r\n'), 'line breaks are CRLF (%0D%0A)');
    assert.ok(body.includes(base.personalLine!) && body.endsWith('Thanks,\r\nDana Foreman'));
  });

  it('shortens the mailto body, never the invite link, to stay under the length limit', () => {
    const longUrl = `https://bot.example.com/join/ABCD-2345?t=${'x'.repeat(700)}`;
    const email = buildMoveEmail({ ...base, groupName: '🚚'.repeat(200), organizationName: 'Ö'.repeat(200), inviteUrl: longUrl });
    assert.ok(email.mailto.length <= MAX_MAILTO_LENGTH, `mailto is ${email.mailto.length} characters`);
    const { fields } = decodeMailto(email.mailto);
    assert.ok((fields.get('body') ?? '').includes(longUrl));
    assert.ok((fields.get('subject') ?? '').startsWith('Join 🚚'));
    // The .eml keeps the full text.
    assert.ok(email.text.includes('Press Send'));
  });

  it('refuses a link that is not http(s)', () => {
    assert.throws(() => buildMoveEmail({ ...base, inviteUrl: 'javascript:alert(1)' }), InvalidInputError);
  });

  it('speaks in one voice, the sender\'s: "I am moving", no "our" or "your organization", signed with their name', () => {
    const email = buildMoveEmail(base);
    assert.match(
      email.text,
      /^I am moving Warehouse night shift from a personal chat app to Microsoft Teams, where Fabrikam Logistics owns it\./m,
    );
    assert.match(email.text, /Thanks,\nDana Foreman\n$/);
    for (const part of [email.text, email.html]) assert.doesNotMatch(part, /\b(our|we|Your organization|your organization)\b/);
  });

  it('for a private group, names the organization the owner typed but never says it owns the group', () => {
    const email = buildMoveEmail({ ...base, organizationOwnsGroup: false });
    assert.match(email.text, /^I am moving Warehouse night shift from a personal chat app to Microsoft Teams\. Please join/m);
    assert.ok(email.html.includes('Fabrikam Logistics'), 'who the sender works for, above the title');
    for (const part of [email.text, email.html, decodeURIComponent(email.mailto)]) assert.doesNotMatch(part, /\bowns?\b|\bowned\b/);
    const owned = buildMoveEmail(base);
    for (const part of [owned.text, owned.html, decodeURIComponent(owned.mailto)]) assert.match(part, /where Fabrikam Logistics owns it/);
  });

  it('numbers the HTML steps from 1: all three, the first pointing at the link and the QR code above', async () => {
    for (const qrPng of [undefined, await qrCodePng(base.inviteUrl, 360)]) {
      const html = buildMoveEmail({ ...base, ...(qrPng ? { qrPng } : {}) }).html;
      const list = /<ol([^>]*)>([\s\S]*?)<\/ol>/.exec(html);
      assert.ok(list, 'one ordered list');
      assert.doesNotMatch(list[1]!, /start=/, 'numbered from 1');
      const items = list[2]!.match(/<li[\s\S]*?<\/li>/g) ?? [];
      assert.equal(items.length, 3);
      assert.match(items[0]!, qrPng ? /Open the link above or scan the QR code\./ : /Open the link above\./);
      assert.match(items[1]!, /Press Send/);
      assert.match(items[2]!, /You&#39;re in/);
      // The HTML says exactly the steps of the text part, in the same order.
      assert.match(buildMoveEmail(base).text, /^1\. Open this link.*\n.*\n2\. Press Send.*\n3\. You're in/m);
    }
  });

  it('describes the invite page people will see: the join message to send when the bot has no Teams button', () => {
    const email = buildMoveEmail({ ...base, joinPath: 'message' });
    for (const part of [email.text, email.html]) {
      assert.ok(part.includes('Send the join message'), part);
      assert.doesNotMatch(part, /Open in Teams|Press Send|Teams opens/);
    }
    assert.match(buildMoveEmail(base).text, /2\. Press Send: Teams opens a chat with Kaizala Groups/);
  });

  it('names no organization when the group has none (nothing like "Your organization")', () => {
    const email = buildMoveEmail({ ...base, organizationName: undefined });
    assert.doesNotMatch(email.text + email.html, /organization/i);
    assert.match(email.text, /^I am moving Warehouse night shift from a personal chat app to Microsoft Teams\. Please join/m);
  });
});
