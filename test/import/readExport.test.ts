import assert from 'node:assert/strict';
import JSZip from 'jszip';
import { InvalidInputError, TooLargeError } from '../../src/errors';
import { NOT_AN_EXPORT, type ImportedMessage } from '../../src/import/model';
import { MAX_UPLOAD_BYTES, readExport } from '../../src/import/readExport';
import { BINARY, NOT_UTF8 } from '../../src/import/textFile';
import { instantOf } from '../../src/import/timeZone';
import { isUnsafeEntryName, MAX_CHAT_BYTES, ZIP_TOO_LARGE, ZIP_TOO_MANY } from '../../src/import/zipExport';
import { BERLIN, fixture, NEW_YORK } from './exportFixtures';

const brief = (m: ImportedMessage) => [m.at, m.sender, m.kind, m.text];

async function refused(bytes: Uint8Array, message: string | RegExp, type: new (...a: never[]) => Error = InvalidInputError): Promise<void> {
  await assert.rejects(readExport('upload', bytes, { timeZone: BERLIN }), (err: Error) => {
    assert.ok(err instanceof type, `${err.name}: ${err.message}`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe('import: reading an export', () => {
  describe('WhatsApp', () => {
    it('Android US: month first, multi-line, system lines, <Media omitted>, deleted, attachments, out-of-order lines sorted', async () => {
      const read = await readExport('WhatsApp Chat with Depot North.txt', fixture('whatsapp-android-us.txt'), { timeZone: NEW_YORK });
      assert.equal(read.source, 'whatsapp');
      assert.equal(read.dateOrder, 'month-first');
      assert.equal(read.timeZone, NEW_YORK);
      assert.deepEqual(read.messages.map(brief), [
        ['2023-12-20T22:40:00.000Z', '', 'system', read.messages[0]!.text],
        ['2023-12-20T22:41:00.000Z', '', 'system', 'Ann Lee created group "Depot North"'],
        // 5:46 PM with a narrow no-break space before PM, in New York (EST, UTC-5).
        ['2023-12-20T22:46:00.000Z', 'Ann Lee', 'text', 'hi all'],
        ['2023-12-20T22:47:00.000Z', 'Bob Stone', 'text', 'Gate code is 4411\nremember to close it\nafter you'],
        ['2023-12-20T22:48:00.000Z', 'Ann Lee', 'media', '<Media omitted>'],
        ['2023-12-20T22:49:00.000Z', 'Bob Stone', 'deleted', 'This message was deleted'],
        // Written after Cy's line in the file, but earlier in time.
        ['2023-12-20T22:50:00.000Z', 'Bob Stone', 'text', "written late, sent before Cy's"],
        ['2023-12-21T13:02:00.000Z', 'Cy Park', 'text', '**not bold** <b>x</b> [link](https://evil.example)'],
        ['2023-12-21T13:05:00.000Z', 'Ann Lee', 'media', 'IMG-20231221-WA0003.jpg (file attached)\nTruck 7 at bay 2'],
      ]);
      assert.match(read.messages[0]!.text, /^Messages and calls are end-to-end encrypted/);
      assert.equal(read.messages.at(-1)!.fileName, 'IMG-20231221-WA0003.jpg');
    });

    it('Android German: day first, "(Datei angehängt)" and "<Medien ausgeschlossen>", Berlin time', async () => {
      const read = await readExport('chat.txt', fixture('whatsapp-android-de.txt'), { timeZone: BERLIN });
      assert.equal(read.dateOrder, 'day-first');
      assert.deepEqual(
        read.messages.map((m) => [m.at, m.sender, m.kind, m.fileName ?? '']),
        [
          ['2023-12-20T16:40:00.000Z', '', 'system', ''],
          ['2023-12-20T16:46:00.000Z', 'Ann Lee', 'text', ''],
          ['2023-12-20T16:47:00.000Z', 'Bob Stone', 'media', 'IMG-20231220-WA0001.jpg'],
          ['2023-12-20T16:48:00.000Z', 'Bob Stone', 'media', ''],
          ['2024-01-13T07:15:00.000Z', 'Ann Lee', 'text', ''],
        ],
      );
    });

    it('Android Canadian: year first with "p.m." after a narrow no-break space', async () => {
      const read = await readExport('chat.txt', fixture('whatsapp-android-ca.txt'), { timeZone: 'America/Toronto' });
      assert.equal(read.dateOrder, 'year-first');
      assert.deepEqual(read.messages.map(brief).slice(1), [
        ['2023-12-20T22:46:00.000Z', 'Ann Lee', 'text', 'hi'],
        ['2023-12-20T22:47:00.000Z', 'Farid', 'text', 'bonjour'],
        ['2024-01-02T14:05:00.000Z', 'Ann Lee', 'text', 'back at work'],
      ]);
      assert.equal(read.messages[0]!.kind, 'system');
    });

    it('iOS US: seconds, U+200E marks, the group as author of system lines, <attached: ...>, "image omitted", "~ " non-contacts', async () => {
      const read = await readExport('_chat.txt', fixture('whatsapp-ios-us.txt'), { timeZone: NEW_YORK });
      assert.equal(read.dateOrder, 'month-first');
      assert.deepEqual(
        read.messages.map((m) => [m.at, m.sender, m.kind, m.fileName ?? '']),
        [
          ['2023-12-20T22:40:00.000Z', '', 'system', ''],
          ['2023-12-20T22:40:05.000Z', '', 'system', ''],
          ['2023-12-20T22:46:12.000Z', 'Ann Lee', 'text', ''],
          ['2023-12-20T22:47:00.000Z', 'Bob Stone', 'text', ''],
          ['2023-12-20T22:48:30.000Z', 'Ann Lee', 'media', '00000042-PHOTO-2023-12-20-17-48-30.jpg'],
          ['2023-12-20T22:49:00.000Z', 'Bob Stone', 'media', ''],
          ['2023-12-20T22:50:00.000Z', 'Cy Park', 'text', ''],
          ['2023-12-20T22:51:00.000Z', 'Bob Stone', 'deleted', ''],
        ],
      );
      assert.equal(read.messages[1]!.text, 'Ann Lee added Bob Stone');
      assert.equal(read.messages[3]!.text, 'two\nlines');
      assert.ok(read.messages.every((m) => !/[\u200e\u202f]/.test(m.text + m.sender)));
    });

    it('iOS German: day first, deleted and omitted in German', async () => {
      const read = await readExport('_chat.txt', fixture('whatsapp-ios-de.txt'), { timeZone: BERLIN });
      assert.equal(read.dateOrder, 'day-first');
      assert.deepEqual(
        read.messages.map((m) => m.kind),
        ['system', 'text', 'text', 'deleted', 'media', 'text'],
      );
      assert.equal(read.messages.at(-1)!.at, '2023-12-25T09:00:00.000Z');
    });

    it('the admin may correct the date order, and the time zone moves every time', async () => {
      const read = await readExport('chat.txt', fixture('whatsapp-ios-de.txt'), { timeZone: 'Asia/Tokyo', dateOrder: 'month-first' });
      assert.equal(read.dateOrder, 'month-first');
      // 20.12.23 read month first is not a date: the parser rolls it over; what matters is that the admin chose.
      const tokyo = await readExport('chat.txt', fixture('whatsapp-ios-de.txt'), { timeZone: 'Asia/Tokyo' });
      assert.equal(tokyo.messages[1]!.at, '2023-12-20T08:46:12.000Z');
    });

    it('does not depend on the server zone', () => {
      assert.equal(
        instantOf({ year: 2024, month: 3, day: 31, hour: 2, minute: 30, second: 0 }, BERLIN).toISOString(),
        '2024-03-31T01:30:00.000Z',
      );
      assert.equal(
        instantOf({ year: 2024, month: 7, day: 1, hour: 12, minute: 0, second: 0 }, BERLIN).toISOString(),
        '2024-07-01T10:00:00.000Z',
      );
    });
  });

  describe('Telegram', () => {
    it('result.json: text entities flattened to words, service lines, replies, photos, media not included, deleted accounts', async () => {
      const read = await readExport('result.json', fixture('telegram-result.json'), { timeZone: BERLIN });
      assert.equal(read.source, 'telegram');
      assert.deepEqual(read.messages.map(brief), [
        ['2023-12-20T16:40:00.000Z', '', 'system', 'Ann Lee created the group "Depot North"'],
        ['2023-12-20T16:46:00.000Z', 'Ann Lee', 'text', 'hi all'],
        ['2023-12-20T16:47:00.000Z', 'Bob Stone', 'text', 'Gate code is 4411 see https://example.org/gate'],
        ['2023-12-20T16:48:00.000Z', 'Ann Lee', 'text', 'thanks *Bob*'],
        ['2023-12-20T16:49:00.000Z', 'Bob Stone', 'media', 'bay 2'],
        ['2023-12-20T16:50:00.000Z', 'Cy Park', 'media', ''],
        ['2023-12-20T16:51:00.000Z', '', 'system', 'Ann Lee added Cy Park'],
        ['2023-12-21T08:00:00.000Z', 'Deleted Account', 'text', 'from an account deleted since'],
      ]);
      assert.deepEqual(read.messages[3]!.replyTo, { sender: 'Bob Stone', preview: 'Gate code is 4411 see https://example.org/gate' });
      assert.equal(read.messages[4]!.fileName, 'photo_1@20-12-2023_17-49-00.jpg');
      assert.equal(read.messages[5]!.fileName, undefined);
    });

    it('an export without date_unixtime is read in the given zone', async () => {
      const json = JSON.stringify({
        type: 'private_group',
        messages: [{ id: 1, type: 'message', date: '2023-12-20T17:46:00', from: 'Ann', text: 'hi' }],
      });
      const read = await readExport('result.json', Buffer.from(json), { timeZone: NEW_YORK });
      assert.equal(read.messages[0]!.at, '2023-12-20T22:46:00.000Z');
    });
  });

  describe('zips', () => {
    it('finds _chat.txt beside the media, and result.json in a folder', async () => {
      const zip = new JSZip();
      zip.file('_chat.txt', fixture('whatsapp-ios-us.txt'));
      zip.file('00000042-PHOTO-2023-12-20-17-48-30.jpg', Buffer.alloc(100, 1));
      const read = await readExport(
        'WhatsApp Chat - Depot North.zip',
        await zip.generateAsync({ type: 'uint8array', compression: 'DEFLATE' }),
        {
          timeZone: NEW_YORK,
        },
      );
      assert.equal(read.fileName, '_chat.txt');
      assert.equal(read.messages.length, 8);
      const telegram = new JSZip();
      telegram.file('ChatExport_2023-12-21/result.json', fixture('telegram-result.json'));
      const tg = await readExport('export.zip', await telegram.generateAsync({ type: 'uint8array' }), { timeZone: BERLIN });
      assert.equal(tg.source, 'telegram');
    });

    it('ignores names that climb out of the archive', async () => {
      for (const name of ['../_chat.txt', '/etc/_chat.txt', 'a/../../_chat.txt', 'C:/x/_chat.txt', 'a\\..\\_chat.txt'])
        assert.ok(isUnsafeEntryName(name), name);
      assert.ok(!isUnsafeEntryName('ChatExport/result.json'));
      const zip = new JSZip();
      zip.file('../_chat.txt', fixture('whatsapp-ios-us.txt'));
      await refused(await zip.generateAsync({ type: 'uint8array' }), NOT_AN_EXPORT);
    });

    it('refuses a zip bomb without inflating it, and one with too many entries', async () => {
      const bomb = new JSZip();
      bomb.file('_chat.txt', Buffer.alloc(MAX_CHAT_BYTES + 1, 0x61));
      const bytes = await bomb.generateAsync({ type: 'uint8array', compression: 'DEFLATE', compressionOptions: { level: 9 } });
      assert.ok(bytes.length < 1024 * 1024, `compressed ${bytes.length}`);
      await refused(bytes, ZIP_TOO_LARGE, TooLargeError);
      const many = new JSZip();
      for (let i = 0; i <= 20_000; i++) many.file(`m/${i}.jpg`, '');
      await refused(await many.generateAsync({ type: 'uint8array' }), ZIP_TOO_MANY, TooLargeError);
    });
  });

  describe('bad input: one clear line each', () => {
    it('not UTF-8, binary, empty, too large, a text that is not a chat, JSON that is not Telegram', async () => {
      await refused(Buffer.from([0x31, 0x32, 0xff, 0xfe, 0x41]), NOT_UTF8);
      await refused(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]), BINARY);
      await refused(Buffer.from('  \n'), NOT_AN_EXPORT);
      await refused(Buffer.from('Dear team,\nplease find the minutes below.\n12/20/23, 5:46 PM - Ann: hi\n'), NOT_AN_EXPORT);
      await refused(Buffer.from('{"hello": "world"}'), NOT_AN_EXPORT);
      await refused(Buffer.from('{not json'), NOT_AN_EXPORT);
      await refused(new Uint8Array(MAX_UPLOAD_BYTES + 1), /larger than 50 MB/, TooLargeError);
      await assert.rejects(readExport('x.txt', fixture('whatsapp-ios-us.txt'), { timeZone: 'Mars/Olympus' }), /is not a time zone/);
    });
  });
});
