import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ConflictError, ForbiddenError } from '../../src/errors';
import { ConversationService } from '../../src/groups/conversationService';
import type { Group, Member, UserRef } from '../../src/groups/model';
import { DEFAULT_POST_SETTINGS, type PostSender } from '../../src/groups/posts';
import { ImportService, IMPORT_PAGE_SIZE } from '../../src/import/importService';
import type { ImportStore } from '../../src/import/ports';
import { TableGroupStore } from '../../src/storage/tableGroupStore';
import { TableImportStore } from '../../src/storage/tableImportStore';
import { TablePostStore } from '../../src/storage/tablePostStore';
import type { TableClients } from '../../src/storage/tables';
import { freshTables } from '../helpers/azurite';
import { groupExportCsv, groupExportJson } from '../../src/web/groupExport';
import { RecordingDeliveryEngine } from '../helpers/recordingEngine';
import { BERLIN, fixture, NEW_YORK } from './exportFixtures';
import { MESSAGES_PER_CHUNK, packedFor } from '../../src/import/packedExport';
import { TablePendingUploads } from '../../src/storage/tablePendingUploads';
import { syntheticExport } from '../../bench/importBench';

const AT = '2025-01-02T03:04:05.000Z';
const ann: UserRef = { id: 'aad-ann', name: 'Ann Lee' };
const bob: UserRef = { id: 'aad-bob', name: 'Bob Stone' };
const annSender: PostSender = { userId: ann.id, name: ann.name, tenantId: 'tenant-a' };
const usFile = () => ({ name: 'WhatsApp Chat with Depot North.txt', bytes: fixture('whatsapp-android-us.txt') });
const NOW = new Date('2025-06-01T12:00:00.000Z');

describe('import: preview, import, undo and history (Azurite)', () => {
  let tables: TableClients;
  let groups: TableGroupStore;
  let posts: TablePostStore;
  let store: TableImportStore;
  let engine: RecordingDeliveryEngine;

  before(async () => {
    ({ clients: tables } = await freshTables());
    groups = new TableGroupStore(tables);
    posts = new TablePostStore(tables);
    store = new TableImportStore(tables);
  });

  beforeEach(() => {
    engine = new RecordingDeliveryEngine();
  });

  function service(options: { importStore?: ImportStore; retentionDays?: number } = {}): {
    imports: ImportService;
    conversation: ConversationService;
  } {
    const conversation = new ConversationService({
      posts,
      current: {} as never,
      engine,
      limiter: { take: async () => undefined },
      now: () => NOW,
    });
    const imports = new ImportService({
      store: options.importStore ?? store,
      posts,
      members: async () => [
        { userId: ann.id, name: 'Ann Lee' },
        { userId: bob.id, name: 'bob  STONE' },
        { userId: 'aad-cy', name: 'Cy Park-Young' },
      ],
      announce: async (post) => void (await conversation.post(post)),
      retentionDays: options.retentionDays,
      now: () => NOW,
    });
    return { imports, conversation };
  }

  async function groupWith(...others: UserRef[]): Promise<string> {
    const id = `g${randomUUID().replace(/-/g, '').slice(0, 20)}`;
    const group: Group = { id, name: `Depot ${id.slice(0, 5)}`, createdBy: ann, createdAt: AT, status: 'private', memberCount: 1 };
    await groups.insertGroup({
      group,
      linkNonce: 'n',
      creator: { groupId: id, user: ann, role: 'admin', joinedAt: AT },
      audit: { groupId: id, at: AT, action: 'created', actor: ann },
    });
    for (const user of others) {
      const m: Member = { groupId: id, user, role: 'member', joinedAt: AT };
      await groups.addMember(m, { groupId: id, at: AT, action: 'joined', actor: user });
    }
    return id;
  }

  it('previews: counts, dates, senders with suggested members, date order and zone; stores nothing', async () => {
    const groupId = await groupWith(bob);
    const preview = await service().imports.preview(groupId, ann, usFile(), { timeZone: NEW_YORK });
    assert.equal(preview.source, 'whatsapp');
    assert.deepEqual(
      [preview.found, preview.importable, preview.system, preview.media, preview.deleted, preview.keptByRetention],
      [9, 6, 2, 2, 1, 6],
    );
    assert.deepEqual([preview.first, preview.last], ['2023-12-20T22:40:00.000Z', '2023-12-21T13:05:00.000Z']);
    assert.deepEqual([preview.dateOrder, preview.timeZone], ['month-first', NEW_YORK]);
    assert.deepEqual(
      preview.senders.map((s) => [s.name, s.messages, s.match?.userId ?? '', s.match?.how ?? '']),
      [
        ['Ann Lee', 3, ann.id, 'exact'],
        ['Bob Stone', 3, bob.id, 'exact'],
        ['Cy Park', 1, '', ''],
      ],
    );
    assert.deepEqual(await store.list(groupId), []);
    assert.deepEqual((await store.page(groupId, { pageSize: 50 })).messages, []);
    assert.deepEqual(engine.calls, []);
  });

  it('retention in the preview counts what would be kept', async () => {
    const groupId = await groupWith();
    const preview = await service({ retentionDays: 528 }).imports.preview(groupId, ann, usFile(), { timeZone: NEW_YORK });
    // 528 days before 1 June 2025 is 21 Dec 2023, 12:00 UTC: the last two (13:02 and 13:05) are kept.
    assert.equal(preview.keptByRetention, 2);
  });

  it('imports as history: original order, marked imported with the original names, one announcement post, live numbers untouched', async () => {
    const groupId = await groupWith(bob);
    const { imports, conversation } = service();
    await conversation.post({ groupId, sender: annSender, text: 'a live post before the import', sourceKey: randomUUID() });
    const outcome = await imports.importFile(groupId, annSender, usFile(), { timeZone: NEW_YORK });
    assert.equal(outcome.created, true);
    assert.deepEqual([outcome.record.state, outcome.record.count, outcome.record.source], ['done', 6, 'whatsapp']);
    // Live posts: 1 (before), 2 (the announcement); nothing else was numbered or handed to delivery.
    assert.deepEqual(
      engine.calls.map((c) => [c.call, 'seq' in c ? c.seq : 0]),
      [
        ['postAccepted', 1],
        ['postAccepted', 2],
      ],
    );
    const announcement = await posts.get(groupId, 2);
    assert.equal(
      announcement?.text,
      'Ann Lee imported 6 earlier messages from WhatsApp (20 Dec 2023 - 21 Dec 2023). Type `history` to read them.',
    );
    const page = await imports.history(groupId, bob.id);
    assert.equal(page.earlier, undefined);
    assert.deepEqual(
      page.messages.map((m) => [m.at, m.sender, m.kind, m.source]),
      [
        ['2023-12-20T22:46:00.000Z', 'Ann Lee', 'text', 'whatsapp'],
        ['2023-12-20T22:47:00.000Z', 'Bob Stone', 'text', 'whatsapp'],
        ['2023-12-20T22:48:00.000Z', 'Ann Lee', 'media', 'whatsapp'],
        ['2023-12-20T22:50:00.000Z', 'Bob Stone', 'text', 'whatsapp'],
        ['2023-12-21T13:02:00.000Z', 'Cy Park', 'text', 'whatsapp'],
        ['2023-12-21T13:05:00.000Z', 'Ann Lee', 'media', 'whatsapp'],
      ],
    );
    assert.equal(page.messages[4]!.text, '**not bold** <b>x</b> [link](https://evil.example)');
  });

  it('sender matches: only the ones the admin confirmed are stored; the others keep the imported name; a non-member is refused', async () => {
    const groupId = await groupWith(bob);
    const { imports } = service();
    // Bob Stone is suggested (same name) but not confirmed; Cy Park is confirmed as the member Cy Park-Young.
    await assert.rejects(
      imports.importFile(groupId, annSender, usFile(), { timeZone: NEW_YORK }, { 'Cy Park': 'aad-not-a-member' }),
      (err: Error) => /The member chosen for Cy Park is not in/.test(err.message),
    );
    assert.deepEqual(await store.list(groupId), [], 'a refused match stores nothing');
    await imports.importFile(
      groupId,
      annSender,
      usFile(),
      { timeZone: NEW_YORK },
      { 'Cy Park': 'aad-cy', 'Ann Lee': ann.id, Nobody: bob.id },
    );
    const page = await imports.history(groupId, bob.id);
    assert.deepEqual(
      page.messages.map((m) => [m.sender, m.member?.userId ?? '', m.member?.name ?? '']),
      [
        ['Ann Lee', ann.id, 'Ann Lee'],
        ['Bob Stone', '', ''],
        ['Ann Lee', ann.id, 'Ann Lee'],
        ['Bob Stone', '', ''],
        ['Cy Park', 'aad-cy', 'Cy Park-Young'],
        ['Ann Lee', ann.id, 'Ann Lee'],
      ],
    );
  });

  it('rows in day partitions apart from the group: written twice they are stored once; a deleted group forgets them', async () => {
    const groupId = await groupWith();
    const { imports } = service();
    await imports.importFile(groupId, annSender, usFile(), { timeZone: NEW_YORK });
    const rows = [];
    for await (const m of store.all(groupId)) rows.push(m);
    // Two instances on one job (a lease lost mid-batch): the second write meets the first's rows.
    await store.write(groupId, rows);
    const again = [];
    for await (const m of store.all(groupId)) again.push(m);
    assert.deepEqual(again, rows);
    const partitions = new Set<string>();
    for await (const row of tables.groups.listEntities({ queryOptions: { filter: `RowKey ge 'imp|' and RowKey lt 'imp}'` } }))
      if (row.partitionKey!.startsWith(groupId)) partitions.add(row.partitionKey!);
    assert.deepEqual(
      [...partitions].map((p) => p.slice(groupId.length)),
      ['|imp|80287', '|imp|80288'],
      'one partition per day, newest first',
    );
    assert.equal(await store.forgetGroup(groupId), 6);
    assert.deepEqual((await store.page(groupId, { pageSize: 50 })).messages, []);
  });

  it('the same file twice is one import; another file while one runs is refused; undo removes it whole', async () => {
    const groupId = await groupWith(bob);
    const { imports } = service();
    const first = await imports.importFile(groupId, annSender, usFile(), { timeZone: NEW_YORK });
    const again = await imports.importFile(groupId, annSender, usFile(), { timeZone: NEW_YORK });
    assert.equal(again.created, false);
    assert.equal(again.record.importId, first.record.importId);
    assert.equal(engine.calls.length, 1);
    assert.equal((await imports.history(groupId, ann.id)).messages.length, 6);

    // A second export of another chat adds to the history, in original time order across both.
    await imports.importFile(groupId, annSender, { name: 'result.json', bytes: fixture('telegram-result.json') }, { timeZone: BERLIN });
    const both = await imports.history(groupId, ann.id);
    assert.equal(both.messages.length, IMPORT_PAGE_SIZE - 8);
    const times = both.messages.map((m) => m.at);
    assert.deepEqual(times, [...times].sort());

    const undone = await imports.undo(groupId, ann, first.record.importId);
    assert.equal(undone.removed, 6);
    const left = await imports.history(groupId, ann.id);
    assert.ok(left.messages.every((m) => m.source === 'telegram'));
    assert.deepEqual(
      (await store.list(groupId)).map((r) => r.source),
      ['telegram'],
    );
    // Undone, the file may come again.
    assert.equal((await imports.importFile(groupId, annSender, usFile(), { timeZone: NEW_YORK })).created, true);
  });

  it('one import at a time per group', async () => {
    const groupId = await groupWith();
    await store.begin({
      groupId,
      importId: 'running0000000000000',
      source: 'whatsapp',
      fileName: 'other.txt',
      contentHash: 'f'.repeat(64),
      by: bob,
      startedAt: AT,
      state: 'running',
      count: 1,
    });
    await assert.rejects(service().imports.importFile(groupId, annSender, usFile(), { timeZone: NEW_YORK }), (err: Error) => {
      assert.ok(err instanceof ConflictError);
      assert.match(err.message, /An import is already running in .* \(other\.txt, started by Bob Stone\)/);
      return true;
    });
  });

  it('a crash mid-import, then the same file again: it resumes and each message is stored once', async () => {
    const groupId = await groupWith();
    let writes = 0;
    const crashing: ImportStore = Object.create(store, {
      write: {
        value: async (g: string, messages: Parameters<ImportStore['write']>[1]) => {
          await store.write(g, messages.slice(0, 3));
          writes++;
          throw new Error('the instance died');
        },
      },
    });
    await assert.rejects(
      service({ importStore: crashing }).imports.importFile(groupId, annSender, usFile(), { timeZone: NEW_YORK }),
      /died/,
    );
    assert.equal(writes, 1);
    assert.equal((await store.page(groupId, { pageSize: 50 })).messages.length, 3);
    assert.equal(engine.calls.length, 0);
    // Sent again with another zone: the first try's rows (other times, other keys) do not stay beside the new ones.
    const resumed = await service().imports.importFile(groupId, annSender, usFile(), { timeZone: BERLIN });
    assert.equal(resumed.created, true);
    assert.equal(resumed.record.state, 'done');
    const stored = (await store.page(groupId, { pageSize: 50 })).messages;
    assert.deepEqual(
      stored.map((m) => m.index),
      [0, 1, 2, 3, 4, 5],
    );
    assert.equal(stored[0]!.at, '2023-12-20T16:46:00.000Z');
    assert.equal(resumed.record.first, '2023-12-20T16:46:00.000Z');
    assert.equal(engine.calls.length, 1);
  });

  it('a crash between the announcement and done: the resumed import posts nothing twice and the group has its post', async () => {
    const groupId = await groupWith();
    const dying: ImportStore = Object.create(store, {
      finish: {
        value: async () => {
          throw new Error('the instance died');
        },
      },
    });
    await assert.rejects(service({ importStore: dying }).imports.importFile(groupId, annSender, usFile(), { timeZone: NEW_YORK }), /died/);
    assert.deepEqual(engine.calls, [{ call: 'postAccepted', groupId, seq: 1 }], 'the post is written before the import is marked done');
    const resumed = await service().imports.importFile(groupId, annSender, usFile(), { timeZone: NEW_YORK });
    assert.equal(resumed.record.state, 'done');
    // The same post by key: the resumed job finds the first announcement (handing it to the engine again is a
    // no-op there); no second post is numbered.
    assert.deepEqual(
      new Set(engine.calls.map((c) => JSON.stringify(c))),
      new Set([JSON.stringify({ call: 'postAccepted', groupId, seq: 1 })]),
    );
    assert.equal(await posts.get(groupId, 2), undefined);
    assert.equal((await store.page(groupId, { pageSize: 50 })).messages.length, 6);
  });

  it('admins only; members read history under the visibility rule; retention by original time', async () => {
    const groupId = await groupWith(bob);
    const { imports } = service();
    await assert.rejects(imports.preview(groupId, bob, usFile(), { timeZone: NEW_YORK }), ForbiddenError);
    await assert.rejects(imports.importFile(groupId, { ...annSender, userId: bob.id }, usFile(), { timeZone: NEW_YORK }), ForbiddenError);
    await imports.importFile(groupId, annSender, usFile(), { timeZone: NEW_YORK });
    await assert.rejects(imports.history(groupId, 'aad-stranger'), ForbiddenError);
    // "New members see earlier posts" off: Bob joined in 2025, after every imported message.
    await posts.setSettings(groupId, { ...DEFAULT_POST_SETTINGS, historyForNewMembers: false });
    assert.deepEqual((await imports.history(groupId, bob.id)).messages, []);
    await posts.setSettings(groupId, DEFAULT_POST_SETTINGS);
    await store.deleteOlderThan('2023-12-21T00:00:00.000Z');
    assert.deepEqual(
      (await imports.history(groupId, bob.id)).messages.map((m) => m.at),
      ['2023-12-21T13:02:00.000Z', '2023-12-21T13:05:00.000Z'],
    );
  });

  it("the organization's export lists imported messages after the posts, oldest first, with the app in the imported column", async () => {
    const groupId = await groupWith();
    await service().imports.importFile(groupId, annSender, usFile(), { timeZone: NEW_YORK });
    const group: Group = { id: groupId, name: 'Depot', createdBy: ann, createdAt: AT, status: 'private', memberCount: 1 };
    const none = async function* <T>(): AsyncIterable<T> {};
    const csv = await groupExportCsv(group, none(), none(), none(), store.all(groupId));
    const lines = csv.trim().split('\r\n');
    assert.match(lines[0]!, /,deleted_at,imported$/);
    const imported = lines.filter((l) => l.startsWith('"imported"'));
    assert.equal(imported.length, 6);
    assert.match(
      imported[0]!,
      /^"imported","[^"]+","","","Ann Lee","","text","","2023-12-20T22:46:00.000Z","hi all","","","","","","whatsapp"$/,
    );
    assert.match(imported[5]!, /"media",.*"IMG-20231221-WA0003\.jpg \(not imported\) /);
    const json = JSON.parse(await groupExportJson(group, none(), none(), none(), store.all(groupId))) as {
      imported: Array<Record<string, unknown>>;
    };
    assert.deepEqual(json.imported[0], {
      at: '2023-12-20T22:46:00.000Z',
      sender: 'Ann Lee',
      text: 'hi all',
      kind: 'text',
      source: 'whatsapp',
    });
  });

  it('Import from the export its preview kept stores the same rows as from the file, without reading the file', async () => {
    // Retention from 9 Jan 2023: it cuts the synthetic export's first week.
    const { imports } = service({ retentionDays: 874 });
    const pending = new TablePendingUploads(tables.importuploads);
    const files = [
      { name: 'result.json', bytes: fixture('telegram-result.json'), read: { timeZone: BERLIN } },
      { name: '_chat.txt', bytes: fixture('whatsapp-ios-us.txt'), read: { timeZone: NEW_YORK } },
      // Three chunks of packed messages, some older than the retention.
      { name: 'big.txt', bytes: Buffer.from(syntheticExport(5000)), read: { timeZone: BERLIN, dateOrder: 'month-first' as const } },
    ];
    for (const { name, bytes, read } of files) {
      const [fromFile, fromPacked] = [await groupWith(bob), await groupWith(bob)];
      const senders = { 'Bob Stone': bob.id };
      const shown = await imports.preview(fromPacked, ann, { name, bytes }, read);
      const token = await pending.put({ groupId: fromPacked, userId: ann.id, file: { name, bytes }, timeZone: shown.timeZone });
      await pending.keepPacked(token, await shown.packed());
      await pending.keepPacked(token, await shown.packed()); // a preview again replaces it whole
      const packed = (await pending.packed(token))!;
      assert.ok(packedFor(packed, read), name);
      assert.equal(packed.chunkCount, Math.ceil(shown.found / MESSAGES_PER_CHUNK));
      const a = await imports.importFile(fromFile, annSender, { name, bytes }, read, senders);
      const b = await imports.importPacked(fromPacked, annSender, packed, senders);
      const { groupId: _a, startedAt: _sa, ...recordA } = a.record;
      const { groupId: _b, startedAt: _sb, ...recordB } = b.record;
      assert.deepEqual(recordB, recordA, name);
      const rows = async (groupId: string) => {
        const out = [];
        for await (const m of store.all(groupId)) out.push(m);
        return out;
      };
      assert.deepEqual(await rows(fromPacked), await rows(fromFile), name);
      assert.ok(a.record.count > 0 && (await rows(fromFile)).length === a.record.count);
      if (name === 'big.txt') assert.ok(a.record.count < shown.importable, 'retention cut some');
    }
  });

  it('pages newest first from a cursor, each page oldest first', async () => {
    const groupId = await groupWith();
    const lines = Array.from(
      { length: 45 },
      (_, i) => `1/${1 + Math.floor(i / 10)}/24, 9:${String(i % 60).padStart(2, '0')} AM - Ann Lee: message ${i}`,
    );
    await service().imports.importFile(
      groupId,
      annSender,
      { name: 'chat.txt', bytes: Buffer.from(lines.join('\n')) },
      { timeZone: NEW_YORK },
    );
    const { imports } = service();
    const seen: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await imports.history(groupId, ann.id, before);
      seen.unshift(...page.messages.map((m) => m.text));
      if (!page.earlier) break;
      before = page.earlier;
    }
    assert.deepEqual(
      seen,
      lines.map((_, i) => `message ${i}`),
    );
  });
});
