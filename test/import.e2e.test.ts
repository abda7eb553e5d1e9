import assert from 'node:assert/strict';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import JSZip from 'jszip';
import { generate } from 'selfsigned';
import { validateCard } from '../cards/validate';
import { TEAMS_FILE } from '../src/web/exportIntake';
import sinon from 'sinon';
import { testUser, type TestUser } from './helpers/activities';
import { waitFor } from './helpers/botProcess';
import { Chat, buttonData, cardsIn, textOf } from './helpers/chat';
import { startTestApp, type TestApp } from './helpers/testApp';
import { fixture } from './import/exportFixtures';

/**
 * Importing a chat export in the personal chat, end to end through /api/messages: the admin sends the file
 * (inline as a data: URL, or as Teams' download-info attachment whose URL a stand-in https server answers),
 * sees the preview, imports, and members read the imported history after the live one.
 */
describe('Import, end to end: a WhatsApp export sent to the bot', function () {
  this.timeout(60_000);
  let t: TestApp;
  let chat: Chat;
  let files: https.Server;
  let filesBase: string;

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
    const bomb = new JSZip();
    bomb.file('_chat.txt', Buffer.alloc(65 * 1024 * 1024, 0x61));
    const traversal = new JSZip();
    traversal.file('../_chat.txt', fixture('whatsapp-ios-us.txt'));
    const served: Record<string, Uint8Array> = {
      '/download/result.json': fixture('telegram-result.json'),
      '/download/bomb.zip': await bomb.generateAsync({ type: 'uint8array', compression: 'DEFLATE', compressionOptions: { level: 9 } }),
      '/download/traversal.zip': await traversal.generateAsync({ type: 'uint8array' }),
    };
    files = https.createServer({ key: pems.private, cert: pems.cert }, (req: IncomingMessage, res: ServerResponse) => {
      const body = served[req.url ?? ''];
      if (body) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
        res.end(body);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    const port = (files.address() as AddressInfo).port;
    filesBase = `https://127.0.0.1:${port}`;
    t = await startTestApp(
      {},
      { photoFetchOptions: { addressPolicy: () => true, allowedPorts: [port], ca: pems.cert }, exportFileHosts: ['127.0.0.1'] },
    );
    chat = new Chat(t);
  });
  after(async () => {
    await t?.stop();
    files?.closeAllConnections();
    await new Promise<void>((resolve) => (files ? files.close(() => resolve()) : resolve()));
  });

  const reportsTo = (user: TestUser) =>
    t.channel
      .to(`a:personal-${user.id}`)
      .map((s) => String(s.activity.text ?? ''))
      .filter((text) => /^(Imported \d|This chat was imported|The import was not done)/.test(text));

  const dataFile = (name: string, bytes: Uint8Array, type = 'text/plain') => ({
    contentType: type,
    contentUrl: `data:${type};base64,${Buffer.from(bytes).toString('base64')}`,
    name,
  });

  it('previews (nothing stored), imports once, posts one announcement, and history leads to the imported messages', async () => {
    const owner = testUser('Ann Lee');
    const groupId = await chat.createGroup(owner, 'Depot North');
    const sent = await chat.say(owner, '', {
      attachments: [dataFile('WhatsApp Chat with Depot North.txt', fixture('whatsapp-android-us.txt'))],
    });
    const preview = cardsIn(sent).at(-1)!;
    assert.deepEqual(validateCard(preview), []);
    assert.match(JSON.stringify(preview), /Import 6 messages/);
    assert.deepEqual(await t.app.imports.history(groupId, owner.aadObjectId!), { messages: [], groupName: 'Depot North' });
    const confirm = buttonData(preview, 'importConfirm');
    const { token } = confirm;
    // The senders' choices: Ann Lee is suggested as the member Ann Lee (selected); the admin confirms it and
    // leaves the others under their imported names.
    const choices = (preview as unknown as { body: Array<{ type: string; id?: string; value?: string }> }).body.filter(
      (e) => e.type === 'Input.ChoiceSet',
    );
    assert.deepEqual(
      choices.map((c) => [c.id, c.value]),
      [
        ['sender0', owner.aadObjectId],
        ['sender1', 'imported'],
        ['sender2', 'imported'],
      ],
    );
    assert.deepEqual([confirm.name0, confirm.name1, confirm.name2], ['Ann Lee', 'Bob Stone', 'Cy Park']);
    const picked = Object.fromEntries(choices.map((c) => [c.id!, c.value!]));
    // The import is held until the turn has answered: a turn that ran the import itself would never answer.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const importFile = t.app.imports.importFile.bind(t.app.imports);
    const held = sinon.stub(t.app.imports, 'importFile').callsFake(async (...args) => (await gate, importFile(...args)));
    try {
      const started = await chat.submit(owner, 'importConfirm', { ...confirm, ...picked, timeZone: 'America/New_York' });
      assert.equal(
        textOf(started),
        "Importing the earlier messages now. I'll tell you here when it is done; the group gets one post about it.",
      );
      // The job runs after the turn, on the job runner, and is held there: nothing imported yet.
      await waitFor(() => held.callCount === 1, 'the job');
      assert.equal((await t.app.imports.imports(groupId, { id: owner.aadObjectId!, name: 'Ann Lee' })).imports.length, 0);
      release();
      // Its end, told afterwards in the same chat.
      await waitFor(() => reportsTo(owner).length > 0, 'the import report');
    } finally {
      held.restore();
    }
    assert.deepEqual(reportsTo(owner), [
      'Imported 6 earlier messages into **Depot North**. The group got one post about it; type `history` to read them.',
    ]);
    const again = await chat.submit(owner, 'importConfirm', { token, timeZone: 'America/New_York' });
    assert.match(textOf(again), /preview has expired/);

    const history = cardsIn(await chat.say(owner, 'history')).at(-1)!;
    assert.match(JSON.stringify(history), /imported 6 earlier messages from WhatsApp \(20 Dec 2023 - 21 Dec 2023\)/);
    const imported = cardsIn(await chat.submit(owner, 'importedHistoryPage', buttonData(history, 'importedHistoryPage'))).at(-1)!;
    assert.deepEqual(validateCard(imported), []);
    const json = JSON.stringify(imported);
    assert.match(json, /imported from WhatsApp/);
    assert.match(json, /imported from WhatsApp, where they were /, 'the confirmed member is named');
    assert.deepEqual(
      (await t.app.imports.history(groupId, owner.aadObjectId!)).messages.map((m) => m.member?.userId ?? m.sender),
      [owner.aadObjectId, 'Bob Stone', owner.aadObjectId, 'Bob Stone', 'Cy Park', owner.aadObjectId],
    );
    assert.ok(json.indexOf('hi all') < json.indexOf('Truck 7 at bay 2'));

    // `imports` lists it with Undo; undone, it is gone from history as a whole.
    const list = cardsIn(await chat.say(owner, 'imports')).at(-1)!;
    assert.deepEqual(validateCard(list), []);
    const undone = await chat.submit(owner, 'undoImport', buttonData(list, 'undoImport'));
    assert.match(textOf(undone), /Removed the import of .* from \*\*Depot North\*\*: 6 messages\./);
    assert.deepEqual((await t.app.imports.history(groupId, owner.aadObjectId!)).messages, []);
    const after = cardsIn(await chat.say(owner, 'history')).at(-1)!;
    assert.ok(!JSON.stringify(after).includes('importedHistoryPage'));
  });

  it('an import refused by its job is told in the chat afterwards, and the upload waits for Import again', async () => {
    const owner = testUser('Ann Lee');
    const groupId = await chat.createGroup(owner, 'Depot West');
    const sent = await chat.say(owner, '', {
      attachments: [dataFile('WhatsApp Chat with Depot West.txt', fixture('whatsapp-android-us.txt'))],
    });
    const confirm = buttonData(cardsIn(sent).at(-1)!, 'importConfirm');
    // A member chosen in the card who is no member (any more) when the job runs.
    const started = await chat.submit(owner, 'importConfirm', { ...confirm, sender0: 'aad-not-a-member' });
    assert.match(textOf(started), /^Importing the earlier messages now\./);
    await waitFor(() => reportsTo(owner).length > 0, 'the refusal');
    assert.deepEqual(reportsTo(owner), [
      'The import was not done: The member chosen for Ann Lee is not in Depot West any more. Preview again and choose again.',
    ]);
    assert.deepEqual((await t.app.imports.history(groupId, owner.aadObjectId!)).messages, []);
    const again = cardsIn(await chat.submit(owner, 'importPreview', { token: confirm.token })).at(-1);
    assert.match(JSON.stringify(again), /Import 6 messages/, 'the upload is back, waiting for Import');
  });

  it("fetches Teams' download-info attachment through the outbound guard", async () => {
    const owner = testUser('Ann Lee');
    await chat.createGroup(owner, 'Depot South');
    const sent = await chat.say(owner, '', {
      attachments: [
        { contentType: TEAMS_FILE, name: 'result.json', content: { downloadUrl: `${filesBase}/download/result.json`, fileType: 'json' } },
      ],
    });
    const preview = cardsIn(sent).at(-1);
    assert.ok(preview, textOf(sent));
    assert.match(JSON.stringify(preview), /Telegram: preview|from Telegram/);
    const elsewhere = await chat.say(owner, '', {
      attachments: [{ contentType: TEAMS_FILE, name: 'result.json', content: { downloadUrl: 'https://files.evil.example/result.json' } }],
    });
    assert.match(textOf(elsewhere), /only from Teams' own storage/);
  });

  it('bad input gets one clear line and stores nothing (zips come the Teams way: a data: URL is at most 8 KB)', async () => {
    const owner = testUser('Ann Lee');
    const groupId = await chat.createGroup(owner, 'Depot East');
    const download = (name: string) => ({ contentType: TEAMS_FILE, name, content: { downloadUrl: `${filesBase}/download/${name}` } });
    const cases: Array<[{ name: string }, RegExp]> = [
      [
        dataFile('notes.txt', Buffer.from('Dear team,\nthe minutes are below.\n')),
        /^This does not look like a WhatsApp or Telegram export\.$/,
      ],
      [dataFile('chat.txt', Buffer.from([0x31, 0xff, 0xfe, 0x41])), /not UTF-8 text/],
      [dataFile('chat.txt', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0])), /not a text file/],
      [download('bomb.zip'), /larger than 64 MB unpacked/],
      [download('traversal.zip'), /does not look like a WhatsApp or Telegram export/],
    ];
    for (const [file, expected] of cases) {
      const sent = await chat.say(owner, '', { attachments: [file] });
      assert.equal(cardsIn(sent).length, 0, file.name);
      assert.match(textOf(sent), expected);
    }
    assert.deepEqual((await t.app.imports.history(groupId, owner.aadObjectId!)).messages, []);
  });
});
