import assert from 'node:assert/strict';
import JSZip from 'jszip';
import { simpleParser } from 'mailparser';
import { startTestApp, type TestApp } from './helpers/testApp';
import { testUser, type TestUser } from './helpers/activities';
import { Chat, actionsIn, buttonData, cardsIn, textOf, type CardJson } from './helpers/chat';
import { validateCard } from '../cards/validate';
import { QR_CONTENT_ID } from '../src/documents/emailTemplate';
import { textOf as xmlText } from './documents/xmlWellFormed';

/**
 * Step 4 from the chat: `poster` and `email` first ask a group admin who the documents come from (sender name,
 * personal line, organization when not verified), keep it per group, then give their own card of signed
 * download links to files made for the group.
 */
describe('Poster and email (step 4), end to end from the chat', () => {
  let t: TestApp;
  let chat: Chat;
  before(async () => {
    t = await startTestApp();
    chat = new Chat(t);
  });
  after(async () => {
    await t.stop();
  });

  const local = (url: string) => url.replace(t.config.PUBLIC_URL, t.app.url);
  const urlsOf = (card: CardJson) =>
    actionsIn(card)
      .map((a) => a.url)
      .filter((u): u is string => Boolean(u));
  const asUser = (u: TestUser) => ({ id: u.aadObjectId, name: u.name });

  async function slideText(url: string): Promise<{ text: string; disposition: string }> {
    const res = await fetch(local(url));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /presentationml/);
    const zip = await JSZip.loadAsync(Buffer.from(await res.arrayBuffer()));
    const xml = await zip.file('ppt/slides/slide1.xml')!.async('string');
    return { text: xmlText(xml, 'a:t').join(''), disposition: res.headers.get('content-disposition') ?? '' };
  }

  /** What Teams sends with a Submit: each input's current (pre-filled) value. */
  function inputValues(card: CardJson): Record<string, string> {
    const values: Record<string, string> = {};
    JSON.stringify(card, (_key, node: unknown) => {
      const o = node as Record<string, unknown> | null;
      if (o && o['type'] === 'Input.Text' && typeof o['id'] === 'string')
        values[o['id']] = typeof o['value'] === 'string' ? o['value'] : '';
      return node;
    });
    return values;
  }

  /** `poster`/`email` as an admin: the details card, then Save with these inputs. */
  async function saveDetails(owner: TestUser, command: string, inputs: Record<string, string>): Promise<CardJson> {
    const details = cardsIn(await chat.say(owner, command))[0]!;
    assert.deepEqual(validateCard(details), []);
    const save = buttonData(details, 'saveDocumentDetails');
    const card = cardsIn(await chat.submit(owner, 'saveDocumentDetails', { ...save, ...inputValues(details), ...inputs }))[0]!;
    assert.deepEqual(validateCard(card), []);
    return card;
  }

  it('for a mapped group: the verified organization, the sender and the line on both posters and in the email with its inline QR code', async () => {
    const owner = testUser('Dana Foreman');
    const groupId = await chat.createGroup(owner, 'Depot West');
    await t.app.groups.mapToOrganization({
      groupId,
      actor: asUser(owner),
      verified: { tenantId: 'tenant-contoso', objectId: owner.aadObjectId, organizationName: 'Contoso Logistics' },
      idempotencyKey: `docs-test|${groupId}`,
    });
    const invite = await t.app.groups.getInvite(groupId, asUser(owner));

    // The details card shows the verified organization as text, not as an input the owner could change.
    const details = cardsIn(await chat.say(owner, '/poster'))[0]!;
    assert.match(JSON.stringify(details), /Contoso Logistics/);
    assert.doesNotMatch(JSON.stringify(details), /"id":"organizationName"/);
    assert.match(JSON.stringify(details), /"id":"senderName","label":"Sender name"[^}]*"value":"Dana Foreman"/);

    const posters = await saveDetails(owner, '/poster', {
      senderName: 'Dana from Depot West',
      personalLine: 'From Monday the shift plans are only posted in Teams.',
      organizationName: 'Not The Verified Name',
    });
    const [join, move] = urlsOf(posters);
    assert.ok(join?.includes('/downloads/poster.pptx') && move?.includes('/downloads/intro-poster.pptx'), urlsOf(posters).join(' '));
    assert.deepEqual(
      actionsIn(posters)
        .slice(0, 2)
        .map((a) => a.title),
      ['Join Depot West', 'Bring your work groups to Teams'],
    );

    const joinPoster = await slideText(join!);
    assert.match(joinPoster.disposition, /filename="join-Depot-West\.pptx"/);
    for (const expected of [
      'Contoso Logistics',
      'Depot West',
      'Dana from Depot West',
      'From Monday the shift plans are only posted in Teams.',
      invite.url,
    ]) {
      assert.ok(joinPoster.text.includes(expected), `the join poster says "${expected}"`);
    }
    assert.ok(!joinPoster.text.includes('Not The Verified Name'), 'a typed name never replaces the verified one');
    const movePoster = await slideText(move!);
    assert.match(movePoster.disposition, /filename="move-your-groups\.pptx"/);
    for (const expected of ['Bring your work groups to Teams', 'Contoso Logistics', 'Dana from Depot West']) {
      assert.ok(movePoster.text.includes(expected), `the move poster says "${expected}"`);
    }
    assert.doesNotMatch(movePoster.text, /\bcopy\b|\bfiles?\b/i, 'no copy button, no files: the product has neither');

    // `email` gives its own card; the saved details are kept for the group.
    const emailDetails = cardsIn(await chat.say(owner, '/email'))[0]!;
    assert.match(JSON.stringify(emailDetails), /"value":"Dana from Depot West"/);
    const emailCard = cardsIn(
      await chat.submit(owner, 'saveDocumentDetails', { ...buttonData(emailDetails, 'saveDocumentDetails'), ...inputValues(emailDetails) }),
    )[0]!;
    assert.deepEqual(validateCard(emailCard), []);
    assert.notDeepEqual(
      actionsIn(emailCard).map((a) => a.title),
      actionsIn(posters).map((a) => a.title),
    );
    const emlUrl = urlsOf(emailCard).find((u) => u.includes('/downloads/move-email.eml'))!;
    const mailto = urlsOf(emailCard).find((u) => u.startsWith('mailto:'))!;
    const res = await fetch(local(emlUrl));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /filename="join-Depot-West\.eml"/);
    const email = await simpleParser(Buffer.from(await res.arrayBuffer()), { keepCidLinks: true });
    for (const part of [email.text ?? '', String(email.html)]) {
      for (const expected of [
        'Contoso Logistics',
        'Dana from Depot West',
        'From Monday the shift plans are only posted in Teams.',
        invite.url,
      ]) {
        assert.ok(part.includes(expected), `the email says "${expected}"`);
      }
    }
    // Mapped: the organization owns the group, and the email may say so. Its steps are numbered from 1.
    assert.match(email.text ?? '', /to Microsoft Teams, where Contoso Logistics owns it\./);
    assert.match(String(email.html), /<ol style="[^"]*">\s*<li[^>]*><strong>Open the link above or scan the QR code\.<\/strong>/);
    const qr = email.attachments.find((a) => a.cid === QR_CONTENT_ID);
    assert.ok(qr && qr.contentType === 'image/png' && qr.contentDisposition === 'inline', 'the QR code is an inline image part');
    assert.ok(String(email.html).includes(`cid:${QR_CONTENT_ID}`));
    assert.match(decodeURIComponent(mailto), /Dana from Depot West/);
    assert.equal((await fetch(local(join!).replace(/sig=[^&]+/, 'sig=AAAA'))).status, 403);
  });

  it('for an unmapped group: the organization name the owner typed, shown as typed, never said to own the group', async () => {
    const owner = testUser('Sam Owner');
    const groupId = await chat.createGroup(owner, 'Night Crew');
    const posters = await saveDetails(owner, 'poster Night', { senderName: 'Sam', personalLine: '', organizationName: 'fabrikam & co' });
    const joinPoster = (await slideText(urlsOf(posters)[0]!)).text;
    assert.ok(joinPoster.includes('fabrikam & co'));
    assert.doesNotMatch(joinPoster, /\bowns?\b|\bowned\b/);
    assert.ok(groupId);

    const emailCard = await saveDetails(owner, '/email', {});
    const emlUrl = urlsOf(emailCard).find((u) => u.includes('/downloads/move-email.eml'))!;
    const email = await simpleParser(Buffer.from(await (await fetch(local(emlUrl))).arrayBuffer()));
    assert.ok(String(email.html).includes('fabrikam &amp; co'), 'who the sender works for');
    for (const part of [
      email.text ?? '',
      String(email.html),
      decodeURIComponent(urlsOf(emailCard).find((u) => u.startsWith('mailto:'))!),
    ]) {
      assert.doesNotMatch(part, /\bowns?\b|\bowned\b/, 'a private group: the email does not say the organization owns it');
    }
    assert.match(email.text ?? '', /^I am moving Night Crew from a personal chat app to Microsoft Teams\. Please join the group there\.$/m);
    // This bot has no app id, so its invite page has no Open in Teams button: the documents say what the page has.
    for (const part of [joinPoster, email.text ?? '']) {
      assert.ok(part.includes('Send the join message'), part);
      assert.doesNotMatch(part, /Open in Teams|Press Send/);
    }
  });

  it('refuses a personal line that is too long, keeping what was typed on the card', async () => {
    const owner = testUser();
    await chat.createGroup(owner, 'Wordy');
    const details = cardsIn(await chat.say(owner, '/poster'))[0]!;
    const reply = cardsIn(
      await chat.submit(owner, 'saveDocumentDetails', { ...buttonData(details, 'saveDocumentDetails'), personalLine: 'x'.repeat(161) }),
    )[0]!;
    assert.deepEqual(validateCard(reply), []);
    assert.match(textOf(reply), /too long/);
  });

  it('gives members the documents as the admin set them, without the details card', async () => {
    const owner = testUser('Olga Owner');
    const groupId = await chat.createGroup(owner, 'Shared Depot');
    await saveDetails(owner, '/poster', { senderName: 'Olga', personalLine: 'See you in Teams!' });
    const member = testUser();
    const invite = await t.app.groups.getInvite(groupId, asUser(owner));
    await chat.say(member, `join ${invite.url}`);
    const card = cardsIn(await chat.submit(member, 'poster', { groupId }))[0]!;
    assert.equal(
      actionsIn(card).some((a) => a.data?.['verb'] === 'saveDocumentDetails'),
      false,
    );
    assert.ok((await slideText(urlsOf(card)[0]!)).text.includes('See you in Teams!'));
    // A member cannot change them.
    const refused = await chat.submit(member, 'saveDocumentDetails', { groupId, kind: 'poster', senderName: 'Mallory' });
    assert.match(textOf(refused), /Only group admins/);
  });

  it('refuses someone who is not in the group', async () => {
    const owner = testUser();
    const groupId = await chat.createGroup(owner, 'Private Depot');
    const outsider = testUser();
    const reply = await chat.submit(outsider, 'poster', { groupId });
    assert.match(JSON.stringify(reply), /not a member/);
  });
});
