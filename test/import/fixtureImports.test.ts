import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Group, UserRef } from '../../src/groups/model';
import { ImportService } from '../../src/import/importService';
import { memberNamesFrom } from '../../src/import/senderMatch';
import { TableGroupStore } from '../../src/storage/tableGroupStore';
import { TableImportStore } from '../../src/storage/tableImportStore';
import { TablePostStore } from '../../src/storage/tablePostStore';
import { freshTables } from '../helpers/azurite';
import { fixture } from './exportFixtures';

const ann: UserRef = { id: 'aad-ann', name: 'Ann Lee' };
const bob: UserRef = { id: 'aad-bob', name: 'Bob Stone' };
const AT = '2025-01-02T03:04:05.000Z';

/** found, importable, system, media, deleted; date order; first and last (in the zone); senders [name, count, suggested]. */
type Figures = [number, number, number, number, number, string, string, string, Array<[string, number, string]>];

const CASES: Array<{ file: string; zone: string; figures: Figures }> = [
  {
    file: 'whatsapp-android-us.txt',
    zone: 'America/New_York',
    figures: [
      9,
      6,
      2,
      2,
      1,
      'month-first',
      '2023-12-20T22:40:00.000Z',
      '2023-12-21T13:05:00.000Z',
      [
        ['Ann Lee', 3, ann.id],
        ['Bob Stone', 3, bob.id],
        ['Cy Park', 1, ''],
      ],
    ],
  },
  {
    file: 'whatsapp-android-de.txt',
    zone: 'Europe/Berlin',
    figures: [
      5,
      4,
      1,
      2,
      0,
      'day-first',
      '2023-12-20T16:40:00.000Z',
      '2024-01-13T07:15:00.000Z',
      [
        ['Ann Lee', 2, ann.id],
        ['Bob Stone', 2, bob.id],
      ],
    ],
  },
  {
    file: 'whatsapp-android-ca.txt',
    zone: 'America/Toronto',
    figures: [
      4,
      3,
      1,
      0,
      0,
      'year-first',
      '2023-12-20T22:45:00.000Z',
      '2024-01-02T14:05:00.000Z',
      [
        ['Ann Lee', 2, ann.id],
        ['Farid', 1, ''],
      ],
    ],
  },
  {
    file: 'whatsapp-ios-us.txt',
    zone: 'America/New_York',
    figures: [
      8,
      5,
      2,
      2,
      1,
      'month-first',
      '2023-12-20T22:40:00.000Z',
      '2023-12-20T22:51:00.000Z',
      [
        ['Bob Stone', 3, bob.id],
        ['Ann Lee', 2, ann.id],
        ['Cy Park', 1, ''],
      ],
    ],
  },
  {
    file: 'whatsapp-ios-de.txt',
    zone: 'Europe/Berlin',
    figures: [
      6,
      4,
      1,
      1,
      1,
      'day-first',
      '2023-12-20T16:40:00.000Z',
      '2023-12-25T09:00:00.000Z',
      [
        ['Ann Lee', 3, ann.id],
        ['Bob Stone', 2, bob.id],
      ],
    ],
  },
  {
    file: 'telegram-result.json',
    zone: 'Europe/Berlin',
    figures: [
      8,
      6,
      2,
      2,
      0,
      'year-first',
      '2023-12-20T16:40:00.000Z',
      '2023-12-21T08:00:00.000Z',
      [
        ['Ann Lee', 2, ann.id],
        ['Bob Stone', 2, bob.id],
        ['Cy Park', 1, ''],
        ['Deleted Account', 1, ''],
      ],
    ],
  },
];

/** Every fixture through the whole path: preview figures, suggested and confirmed senders, zone, stored rows, history order. */
describe('import: each fixture export, previewed and imported (Azurite)', () => {
  let imports: ImportService;
  let groups: TableGroupStore;

  before(async () => {
    const { clients } = await freshTables();
    groups = new TableGroupStore(clients);
    imports = new ImportService({
      store: new TableImportStore(clients),
      posts: new TablePostStore(clients),
      members: memberNamesFrom(groups),
      announce: async () => undefined,
    });
  });

  for (const { file, zone, figures } of CASES) {
    it(`${file} in ${zone}`, async () => {
      const id = `g${randomUUID().replace(/-/g, '').slice(0, 20)}`;
      const group: Group = { id, name: 'Depot', createdBy: ann, createdAt: AT, status: 'private', memberCount: 1 };
      await groups.insertGroup({
        group,
        linkNonce: 'n',
        creator: { groupId: id, user: ann, role: 'admin', joinedAt: AT },
        audit: { groupId: id, at: AT, action: 'created', actor: ann },
      });
      await groups.addMember(
        { groupId: id, user: bob, role: 'member', joinedAt: AT },
        { groupId: id, at: AT, action: 'joined', actor: bob },
      );
      const upload = { name: file, bytes: fixture(file) };
      const p = await imports.preview(id, ann, upload, { timeZone: zone });
      assert.deepEqual(
        [
          p.found,
          p.importable,
          p.system,
          p.media,
          p.deleted,
          p.dateOrder,
          p.first,
          p.last,
          p.senders.map((s) => [s.name, s.messages, s.match?.userId ?? '']),
        ],
        figures,
      );
      assert.equal(p.timeZone, zone);
      // Only Ann's suggestion is confirmed: Bob's stays a name, marked imported.
      const { record } = await imports.importFile(
        id,
        { userId: ann.id, name: ann.name, tenantId: 't' },
        upload,
        { timeZone: zone },
        { 'Ann Lee': ann.id },
      );
      assert.deepEqual([record.count, record.first !== undefined], [p.importable, true]);
      const messages = [];
      let before: string | undefined;
      do {
        const page = await imports.history(id, bob.id, before);
        messages.unshift(...page.messages);
        before = page.earlier;
      } while (before);
      assert.equal(messages.length, p.importable);
      assert.deepEqual(
        messages.map((m) => m.at),
        messages.map((m) => m.at).sort(),
        'history in original time order',
      );
      assert.ok(messages.every((m) => m.kind === 'text' || m.kind === 'media'));
      assert.ok(messages.every((m) => (m.sender === 'Ann Lee' ? m.member?.userId === ann.id : m.member === undefined)));
    });
  }
});
