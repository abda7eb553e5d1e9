import assert from 'node:assert/strict';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import sharp from 'sharp';
import { startTestApp, type TestApp } from './helpers/testApp';
import { testUser } from './helpers/activities';
import { Chat, buttonData, cardsIn, textOf, type CardJson } from './helpers/chat';
import { validateCard } from '../cards/validate';

/**
 * Step 1 with a group photo, end to end: the photo link goes through /api/messages, the bot fetches it over
 * https (a loopback server with its own certificate, allowed by the test's address policy), keeps a small copy
 * and shows it on Group Info.
 */
describe('Groups, end to end: the group photo', function () {
  this.timeout(60_000);
  let t: TestApp;
  let chat: Chat;
  let images: https.Server;
  let imagesBase: string;
  const requested: string[] = [];
  let png: Buffer;

  before(async () => {
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
      ],
    });
    png = await sharp({ create: { width: 400, height: 300, channels: 3, background: { r: 230, g: 120, b: 30 } } })
      .png()
      .toBuffer();
    // No chaining on writeHead: restify patches http.ServerResponse and its writeHead returns nothing.
    images = https.createServer({ key: pems.private, cert: pems.cert }, (req: IncomingMessage, res: ServerResponse) => {
      requested.push(req.url ?? '/');
      if (req.url === '/team.png') {
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(png.length) });
        res.end(png);
      } else if (req.url === '/not-a-picture') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<!doctype html><title>Photos</title><p>Sign in to see this photo</p>');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    const port = (images.address() as AddressInfo).port;
    imagesBase = `https://127.0.0.1:${port}`;
    t = await startTestApp({}, { photoFetchOptions: { addressPolicy: () => true, allowedPorts: [port], ca: pems.cert } });
    chat = new Chat(t);
  });
  after(async () => {
    await t?.stop();
    images?.closeAllConnections();
    await new Promise<void>((resolve) => (images ? images.close(() => resolve()) : resolve()));
  });

  function groupInfoOf(sent: Awaited<ReturnType<Chat['say']>>): CardJson {
    const info = cardsIn(sent).find((card) => JSON.stringify(card).includes('"showInvite"'));
    assert.ok(info, `no Group Info card in: ${textOf(sent)}`);
    return info;
  }

  function photoUrlIn(card: CardJson): string | undefined {
    const urls = [...JSON.stringify(card).matchAll(/"url":"([^"]+\/groups\/[^"]+\/photo\?v=[^"]+)"/g)].map((m) => m[1]!);
    return urls[0];
  }

  async function expectStoredPhoto(groupId: string): Promise<void> {
    const photo = await t.app.groups.getPhoto(groupId);
    assert.match(photo.contentType, /^image\/(png|jpeg)$/);
    const meta = await sharp(photo.bytes).metadata();
    assert.equal(meta.width, 192, 'a small copy, not the 400x300 original');
    assert.equal(meta.height, 192);
    assert.ok(photo.bytes.length < 48 * 1024);
  }

  it('creates a group with a photo from an https link and shows it on Group Info', async () => {
    const owner = testUser('Olga Owner');
    await chat.say(owner, 'new group');
    const askPhoto = await chat.submit(owner, 'createGroup', { step: 'name', groupName: 'Field Sales North' });
    assert.match(textOf(askPhoto), /A photo for/);
    const created = await chat.submit(owner, 'createGroup', { step: 'photo', photoUrl: `${imagesBase}/team.png` });
    assert.ok(requested.includes('/team.png'), 'the bot fetched the link');

    const info = groupInfoOf(created);
    assert.deepEqual(validateCard(info), []);
    assert.match(textOf(info), /Field Sales North/);
    const groupId = String(buttonData(info, 'showInvite').groupId);
    const photoUrl = photoUrlIn(info);
    assert.ok(photoUrl, `Group Info shows no photo: ${JSON.stringify(info).slice(0, 600)}`);
    assert.ok(photoUrl.startsWith(`${t.config.PUBLIC_URL}/groups/${groupId}/photo?v=`), photoUrl);
    await expectStoredPhoto(groupId);

    // The image the card points at is served by the bot itself: small, an image, cacheable by its version.
    const res = await fetch(photoUrl);
    assert.equal(res.status, 200, `GET ${photoUrl} answered ${res.status}`);
    assert.match(res.headers.get('content-type') ?? '', /^image\/(png|jpeg)$/);
    const served = Buffer.from(await res.arrayBuffer());
    assert.deepEqual(served, (await t.app.groups.getPhoto(groupId)).bytes);
    assert.equal((await sharp(served).metadata()).width, 192);
  });

  it('takes the link typed as the answer, the way people paste it in a chat', async () => {
    const owner = testUser();
    await chat.say(owner, 'new group Night Shift');
    const created = await chat.say(owner, `  ${imagesBase}/team.png  `);
    const info = groupInfoOf(created);
    assert.ok(photoUrlIn(info));
    await expectStoredPhoto(String(buttonData(info, 'showInvite').groupId));
  });

  it('takes a picture attached inline (a data: URL) without fetching anything', async () => {
    const owner = testUser();
    await chat.say(owner, 'new group Inline Photo');
    const before = requested.length;
    const created = await chat.say(owner, '', {
      attachments: [{ contentType: 'image/png', contentUrl: `data:image/png;base64,${png.toString('base64')}`, name: 'team.png' }],
    });
    assert.equal(requested.length, before);
    const info = groupInfoOf(created);
    assert.ok(photoUrlIn(info));
    await expectStoredPhoto(String(buttonData(info, 'showInvite').groupId));
  });

  it('takes a picture the channel hosts (image/png on the serviceUrl) in a local run without an app id, with no token to ask for', async () => {
    const owner = testUser();
    t.channel.hosted = (req, res) => {
      if (req.url !== '/attachments/team.png') return false;
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(png.length) });
      res.end(png);
      return true;
    };
    try {
      await chat.say(owner, 'new group Hosted Photo');
      const created = await chat.say(owner, '', {
        attachments: [
          { contentType: 'image/png', contentUrl: `${t.channel.serviceUrl.replace(/\/$/, '')}/attachments/team.png`, name: 'team.png' },
        ],
      });
      const info = groupInfoOf(created);
      assert.ok(photoUrlIn(info), textOf(created));
      await expectStoredPhoto(String(buttonData(info, 'showInvite').groupId));
    } finally {
      t.channel.hosted = undefined;
    }
  });

  it('refuses a link that serves a web page with a friendly message, keeps asking, and creates nothing', async () => {
    const owner = testUser();
    await chat.say(owner, 'new group Wrong Link');
    const answer = await chat.submit(owner, 'createGroup', { step: 'photo', photoUrl: `${imagesBase}/not-a-picture` });
    assert.ok(requested.includes('/not-a-picture'));
    const text = textOf(answer);
    assert.match(text, /not a PNG, JPEG, GIF or WebP image/);
    assert.match(text, /Skip/);
    assert.doesNotMatch(text, /error|exception|stack|fix the bot/i);
    assert.equal(cardsIn(answer).filter((c) => JSON.stringify(c).includes('"showInvite"')).length, 0);
    assert.equal((await t.app.groups.listMyGroups(owner.aadObjectId)).items.length, 0);

    // Still at the photo question: Skip now creates the group, without a photo.
    const created = await chat.submit(owner, 'skipPhoto');
    const info = groupInfoOf(created);
    assert.equal(photoUrlIn(info), undefined);
    assert.equal((await t.app.groups.listMyGroups(owner.aadObjectId)).items.length, 1);
  });
});
