import assert from 'node:assert/strict';
import { crc32, deflateSync } from 'node:zlib';
import JSZip from 'jszip';
import { InvalidInputError, TooLargeError } from '../../src/errors';
import { readImageInfo } from '../../src/documents/imageInfo';
import {
  buildIntroPoster,
  buildMovePoster,
  MAX_PHOTO_BYTES,
  POSTER_LINK_BOX_WIDTH,
  qrCodePng,
  type PosterData,
} from '../../src/documents/poster';
import { GLYPH_WIDTH_EM, MAX_POSTER_LINK_CHARS, linkFontSize } from '../../src/documents/content';
import { textOf, xmlProblem } from './xmlWellFormed';

const HOSTILE = `Night <b>shift</b> & "co" 'ops' ]]> <![CDATA[x]]> </a:t>`;

const base: PosterData = {
  organizationName: 'Fabrikam Logistics',
  groupName: 'Warehouse night shift',
  inviteUrl: 'https://bot.example.com/join/ABCD-2345?src=poster&lang=en',
  joinCode: 'ABCD-2345',
  botName: 'Kaizala Groups',
};

async function open(pptx: Buffer): Promise<JSZip> {
  return JSZip.loadAsync(pptx);
}

async function read(zip: JSZip, path: string): Promise<string> {
  const file = zip.file(path);
  assert.ok(file, `${path} is in the package`);
  return file.async('string');
}

async function slideText(zip: JSZip): Promise<string> {
  return textOf(await read(zip, 'ppt/slides/slide1.xml'), 'a:t').join('');
}

async function media(zip: JSZip): Promise<Buffer[]> {
  const files = zip.file(/^ppt\/media\//);
  return Promise.all(files.map((f) => f.async('nodebuffer')));
}

/** A real, tiny RGB PNG of the given size (one colour). */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, 0x80)]);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('"Join <group>" poster for members (pptx)', () => {
  it('is a one-slide PowerPoint with the organization, the group, the invite link, the join code and the steps to join', async () => {
    const zip = await open(await buildMovePoster(base));
    assert.deepEqual(
      zip.file(/^ppt\/slides\/slide\d+\.xml$/).map((f) => f.name),
      ['ppt/slides/slide1.xml'],
    );
    const text = await slideText(zip);
    for (const expected of [
      'Fabrikam Logistics',
      'Warehouse night shift',
      base.inviteUrl,
      'ABCD-2345',
      'Kaizala Groups',
      'Scan the code or open the link',
      'Press Send',
    ]) {
      assert.ok(text.includes(expected), `the slide says "${expected}"`);
    }
    for (const absent of ['new group', 'Add to organization', 'Your organization']) {
      assert.ok(!text.includes(absent), `a poster for members does not say "${absent}"`);
    }
  });

  it("prints the sender's personal line as a quote, signed, and names the sender for questions", async () => {
    const zip = await open(
      await buildMovePoster({ ...base, senderName: 'Dana Foreman', personalLine: 'From Monday the shift plans are only posted there.' }),
    );
    const text = await slideText(zip);
    assert.ok(text.includes('\u201CFrom Monday the shift plans are only posted there.\u201D'));
    assert.ok(text.includes('\u2014 Dana Foreman'));
    assert.ok(text.includes('Questions? Ask Dana Foreman.'));
    assert.deepEqual(textOf(await read(zip, 'docProps/core.xml'), 'dc:creator'), ['Dana Foreman']);
  });

  it('sizes the link so the longest possible link fits its box on one line (characters x 0.6 x points <= width)', async () => {
    const prefix = 'https://groups.example.com/';
    const longest = `${prefix}${'p'.repeat(MAX_POSTER_LINK_CHARS - prefix.length - 28)}/join/${'A'.repeat(22)}`;
    assert.equal(longest.length, MAX_POSTER_LINK_CHARS);
    for (const link of [longest, base.inviteUrl]) {
      const slide = await read(await open(await buildMovePoster({ ...base, inviteUrl: link })), 'ppt/slides/slide1.xml');
      const shapes = slide.split('<p:sp>').filter((sp) => sp.includes(`<a:t>${link.replace(/&/g, '&amp;')}</a:t>`));
      assert.equal(shapes.length, 1, 'the link is printed in one text box');
      const widthPoints = Number(/<a:ext cx="(\d+)"/.exec(shapes[0]!)![1]) / 12700;
      const points = Number(/<a:rPr[^>]*\ssz="(\d+)"/.exec(shapes[0]!)![1]) / 100;
      assert.ok(link.length * GLYPH_WIDTH_EM * points <= widthPoints, `${link.length} characters at ${points} pt in ${widthPoints} pt`);
      assert.ok(points >= 5.5, `${points} pt is still printable`);
      assert.match(shapes[0]!, /wrap="none"/, 'never wraps');
      assert.equal(points, linkFontSize(link.length, POSTER_LINK_BOX_WIDTH));
    }
    await assert.rejects(buildMovePoster({ ...base, inviteUrl: `${longest}x` }), InvalidInputError);
  });

  it('makes the printed invite link clickable too', async () => {
    const zip = await open(await buildMovePoster(base));
    const rels = await read(zip, 'ppt/slides/_rels/slide1.xml.rels');
    assert.equal(xmlProblem(rels), undefined);
    assert.ok(rels.includes(`Target="${base.inviteUrl.replace(/&/g, '&amp;')}"`));
  });

  it('embeds the QR code of the invite link as a PNG in ppt/media', async () => {
    const zip = await open(await buildMovePoster(base));
    const expected = await qrCodePng(base.inviteUrl);
    const images = await media(zip);
    assert.ok(
      images.some((image) => image.equals(expected)),
      'the QR code of the invite link is in ppt/media',
    );
  });

  it('uses the group photo when one is given, keeping its proportions', async () => {
    const photo = png(30, 20);
    const zip = await open(await buildMovePoster({ ...base, photo: { bytes: photo, contentType: 'image/png' } }));
    const images = await media(zip);
    assert.ok(
      images.some((image) => image.equals(photo)),
      'the photo is in ppt/media',
    );
    const slide = await read(zip, 'ppt/slides/slide1.xml');
    const pic = /<p:pic>[\s\S]*?descr="Photo of the group[\s\S]*?<a:ext cx="(\d+)" cy="(\d+)"/.exec(slide);
    assert.ok(pic, 'the photo is placed on the slide with a description');
    assert.ok(Math.abs(Number(pic[1]) / Number(pic[2]) - 1.5) < 0.01, 'a 3:2 photo stays 3:2');
  });

  it('refuses a photo that is not really a PNG or JPEG, and one that is too large', async () => {
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');
    await assert.rejects(buildMovePoster({ ...base, photo: { bytes: gif, contentType: 'image/gif' } }), InvalidInputError);
    await assert.rejects(buildMovePoster({ ...base, photo: { bytes: png(2, 2), contentType: 'image/jpeg' } }), InvalidInputError);
    const huge = Buffer.concat([png(2, 2), Buffer.alloc(MAX_PHOTO_BYTES)]);
    await assert.rejects(buildMovePoster({ ...base, photo: { bytes: huge, contentType: 'image/png' } }), TooLargeError);
  });

  it('reads the size of PNG and JPEG photos from their bytes', () => {
    assert.deepEqual(readImageInfo(png(7, 3), 'image/png'), { format: 'png', width: 7, height: 3 });
    // SOI, an APP0 segment, then a baseline SOF0 for 640 x 480.
    const jpeg = Buffer.from([
      0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xc0,
      0x00, 0x11, 0x08, 0x01, 0xe0, 0x02, 0x80, 0x03,
    ]);
    assert.deepEqual(readImageInfo(jpeg, 'image/jpeg'), { format: 'jpeg', width: 640, height: 480 });
  });

  it('keeps a hostile group or organization name as plain text: escaped, and every XML part still well-formed', async () => {
    const zip = await open(
      await buildMovePoster({
        ...base,
        groupName: `${HOSTILE}\u0000\u0007`,
        organizationName: `Org ${HOSTILE}`,
        botName: `Bot ${HOSTILE}`,
      }),
    );
    for (const name of Object.keys(zip.files).filter((n) => /\.(xml|rels)$/.test(n))) {
      assert.equal(xmlProblem(await read(zip, name)), undefined, `${name} is well-formed`);
    }
    const slide = await read(zip, 'ppt/slides/slide1.xml');
    assert.ok(!slide.includes('<b>shift'), 'the markup in the name is not markup in the slide');
    assert.ok(slide.includes('Night &lt;b&gt;shift&lt;/b&gt; &amp; &quot;co&quot; &apos;ops&apos; ]]&gt;'), 'the name is escaped');
    assert.ok((await slideText(zip)).includes(HOSTILE), 'the name reads back exactly (minus control characters)');

    const company = textOf(await read(zip, 'docProps/app.xml'), 'Company');
    assert.deepEqual(company, [`Org ${HOSTILE}`], 'the Company metadata is escaped once, not twice');
    const title = textOf(await read(zip, 'docProps/core.xml'), 'dc:title');
    assert.deepEqual(title, [`Join ${HOSTILE} on Microsoft Teams`]);
  });

  it('sets the document title, author and company', async () => {
    const zip = await open(await buildMovePoster(base));
    assert.deepEqual(textOf(await read(zip, 'docProps/core.xml'), 'dc:title'), ['Join Warehouse night shift on Microsoft Teams']);
    assert.deepEqual(textOf(await read(zip, 'docProps/core.xml'), 'dc:creator'), ['Kaizala Groups']);
    assert.deepEqual(textOf(await read(zip, 'docProps/app.xml'), 'Company'), ['Fabrikam Logistics']);
  });

  for (const owned of [true, false]) {
    it(`says only what is true for a group ${owned ? 'the organization owns' : 'that is still private'}: no owner, copy button or files`, async () => {
      const text = await slideText(await open(await buildMovePoster({ ...base, organizationOwnsGroup: owned })));
      assert.ok(text.includes('Fabrikam Logistics') && text.includes("The group's posts come to your chat with Kaizala Groups."), text);
      assert.doesNotMatch(text, /\bowns?\b|\bowned\b|\bcopy\b|\bfiles?\b/i);
    });
  }

  it('describes the invite page people will see: no Open in Teams button for a bot tried without an app id', async () => {
    const deployed = await slideText(await open(await buildMovePoster(base)));
    assert.ok(deployed.includes('Open in Teams button') && deployed.includes('Press Send'));
    const local = await slideText(await open(await buildMovePoster({ ...base, joinPath: 'message' })));
    assert.ok(local.includes('its join message') && local.includes('Send the join message'), local);
    assert.doesNotMatch(local, /Open in Teams|Press Send|Teams opens/);
  });

  it('names no organization when the group has none (no "Your organization" placeholder)', async () => {
    const zip = await open(await buildMovePoster({ ...base, organizationName: undefined }));
    const text = await slideText(zip);
    assert.ok(!/organization/i.test(text), text);
    const company = textOf(await read(zip, 'docProps/app.xml'), 'Company').filter((t) => t !== '');
    assert.deepEqual(company, [], "no company name (not even the library's own)");
  });

  it('refuses an invite link that is not http(s), and a bad join code', async () => {
    await assert.rejects(buildMovePoster({ ...base, inviteUrl: 'javascript:alert(1)' }), InvalidInputError);
    await assert.rejects(buildMovePoster({ ...base, inviteUrl: 'not a link' }), InvalidInputError);
    await assert.rejects(buildMovePoster({ ...base, joinCode: '<x>' }), InvalidInputError);
    await assert.rejects(buildMovePoster({ ...base, groupName: ' \n ' }), InvalidInputError);
  });
});

describe('"Bring your work groups to Teams" poster for owners of other groups (pptx)', () => {
  const installUrl = 'https://teams.microsoft.com/l/app/00000000-0000-0000-0000-000000000000?source=poster&x=1';

  it('introduces the bot to the organization: how to find it, the four steps and the install link, with no group', async () => {
    const zip = await open(await buildIntroPoster({ organizationName: 'Fabrikam Logistics', botName: 'Kaizala Groups', installUrl }));
    const text = await slideText(zip);
    for (const expected of [
      'Bring your work groups to Teams',
      'Fabrikam Logistics',
      'Kaizala Groups',
      'Apps',
      'new group',
      'Group Info',
      'Invite People',
      'Add to organization',
    ]) {
      assert.ok(text.includes(expected), `the slide says "${expected}"`);
    }
    for (const absent of ['Join code', 'Scan to join', base.inviteUrl]) {
      assert.ok(!text.includes(absent), `the intro poster has no "${absent}"`);
    }
    const qr = await qrCodePng(installUrl);
    assert.ok(
      (await media(zip)).some((image) => image.equals(qr)),
      'the QR code of the install link is embedded',
    );
    const rels = await read(zip, 'ppt/slides/_rels/slide1.xml.rels');
    assert.ok(rels.includes(`Target="${installUrl.replace(/&/g, '&amp;')}"`), 'the QR code links to the install link');
  });

  it('has no QR code when there is no install link, and no organization label when there is no name', async () => {
    const zip = await open(await buildIntroPoster({ botName: 'Kaizala Groups' }));
    assert.deepEqual(await media(zip), []);
    const text = await slideText(zip);
    assert.ok(!text.includes('Your organization'));
    assert.ok(text.includes('nobody at work owns it'));
  });

  it("names only what the product has: the Invite card's link, code, QR code and share buttons; posts, not files", async () => {
    for (const owned of [true, false]) {
      const zip = await open(
        await buildIntroPoster({ organizationName: 'Fabrikam Logistics', organizationOwnsGroup: owned, botName: 'Kaizala Groups' }),
      );
      const text = await slideText(zip);
      assert.doesNotMatch(text, /\bcopy\b|\bfiles?\b/i);
      for (const expected of [
        'a join code, a QR code and buttons that share the link',
        'its members and its posts belong to Fabrikam Logistics',
        '"/group"',
      ]) {
        assert.ok(text.includes(expected), `the slide says "${expected}"`);
      }
      // About the reader's own groups: owned only once they add them (step 4), so "can own", never "owns".
      assert.ok(text.includes('where Fabrikam Logistics can own it'), text);
    }
  });

  it('names the sender for questions', async () => {
    const zip = await open(await buildIntroPoster({ botName: 'Kaizala Groups', senderName: 'Dana Foreman' }));
    assert.ok((await slideText(zip)).includes('Questions? Ask Dana Foreman.'));
  });

  it('keeps a hostile organization name as plain text', async () => {
    const zip = await open(await buildIntroPoster({ organizationName: HOSTILE, botName: 'Kaizala Groups', installUrl }));
    for (const name of Object.keys(zip.files).filter((n) => /\.(xml|rels)$/.test(n))) {
      assert.equal(xmlProblem(await read(zip, name)), undefined, `${name} is well-formed`);
    }
    assert.ok((await slideText(zip)).includes(HOSTILE));
  });
});
