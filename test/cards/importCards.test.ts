import assert from 'node:assert/strict';
import { buildImportedHistoryCard, buildImportPreviewCard, buildImportsCard, buildPostHistoryCard } from '../../cards';
import { shown } from '../../cards/text';
import { HOSTILE_NAMES, assertLocalTimes, assertShownLiterally, assertValidCard, button, literalTexts, verbs } from './cardTestKit';

const preview = {
  groupName: 'Depot North',
  token: 'tok123',
  sourceName: 'WhatsApp',
  fileName: 'WhatsApp Chat with Depot North.txt',
  found: 9,
  importable: 6,
  system: 2,
  media: 2,
  deleted: 1,
  first: '2023-12-20T22:40:00.000Z',
  last: '2023-12-21T13:05:00.000Z',
  senders: [
    { name: 'Ann Lee', messages: 3, matchName: 'Ann Lee' },
    { name: 'Cy Park', messages: 1 },
  ],
  dateOrder: 'month-first' as const,
  timeZone: 'America/New_York',
};

describe('import cards', () => {
  it('the preview: figures, senders with suggestions, the zone to change, Import N messages, valid at 1.5', () => {
    const card = buildImportPreviewCard({ ...preview, keptByRetention: 4 });
    assertValidCard(card);
    const texts = literalTexts(card).join(' | ');
    for (const expected of [
      'Ann Lee',
      'Cy Park',
      shown('WhatsApp Chat with Depot North.txt'),
      'America/New_York',
      '(looks like member Ann Lee)',
    ])
      assert.ok(texts.includes(expected), `${expected} in ${texts}`);
    assert.deepEqual(verbs(card), ['importConfirm', 'importPreview', 'importPreview']);
    assert.deepEqual(button(card, 'Import 6 messages').data, { verb: 'importConfirm', token: 'tok123' });
    assert.deepEqual(button(card, 'Read dates day first').data, { verb: 'importPreview', token: 'tok123', dateOrder: 'day-first' });
    assertLocalTimes(card, 2);
    assert.ok(JSON.stringify(card.content).includes("Kept by this deployment's retention"));
  });

  it('year-first dates offer no swap; hostile names and file names stay literal', () => {
    for (const hostile of HOSTILE_NAMES) {
      const card = buildImportPreviewCard({
        ...preview,
        groupName: hostile,
        fileName: hostile,
        dateOrder: 'year-first',
        senders: [{ name: hostile, messages: 2, matchName: hostile }],
      });
      assertValidCard(card);
      assertShownLiterally(card, hostile);
      assert.deepEqual(verbs(card), ['importConfirm', 'importPreview']);
    }
  });

  it('imported history: original sender marked imported, original time, media named not imported, text never formatting, Earlier', () => {
    for (const hostile of HOSTILE_NAMES) {
      const card = buildImportedHistoryCard({
        groupId: 'g1',
        groupName: 'Depot North',
        messages: [
          { sender: hostile, at: '2023-12-20T22:46:00.000Z', text: hostile, kind: 'text', sourceName: 'WhatsApp' },
          {
            sender: 'Ann Lee',
            at: '2023-12-21T13:05:00.000Z',
            text: 'IMG-20231221-WA0003.jpg (file attached)\nTruck 7 at bay 2',
            kind: 'media',
            fileName: 'IMG-20231221-WA0003.jpg',
            sourceName: 'WhatsApp',
            replyTo: { sender: 'Bob', preview: 'gate code' },
          },
        ],
        earlier: 'imp|999|x|1',
      });
      assertValidCard(card);
      assertShownLiterally(card, hostile);
      const texts = literalTexts(card).join(' | ');
      for (const expected of [
        ' · imported from WhatsApp',
        shown('IMG-20231221-WA0003.jpg: not imported'),
        'Truck 7 at bay 2',
        'replying to Bob: gate code',
      ])
        assert.ok(texts.includes(expected), `${expected} in ${texts}`);
      assertLocalTimes(card, 2);
      assert.deepEqual(button(card, 'Earlier').data, { verb: 'importedHistoryPage', groupId: 'g1', before: 'imp|999|x|1' });
    }
  });

  it("live history's first page links to the imported messages", () => {
    const card = buildPostHistoryCard({ groupId: 'g1', groupName: 'Depot North', posts: [], importedEarlier: true });
    assertValidCard(card);
    assert.deepEqual(button(card, 'Imported earlier messages').data, { verb: 'importedHistoryPage', groupId: 'g1' });
  });

  it('the list of imports with Undo for each', () => {
    const card = buildImportsCard({
      groupId: 'g1',
      groupName: 'Depot North',
      imports: [
        {
          importId: 'abc',
          sourceName: 'Telegram',
          fileName: 'result.json',
          byName: 'Ann Lee',
          startedAt: '2025-06-01T12:00:00.000Z',
          count: 7,
          running: false,
        },
      ],
    });
    assertValidCard(card);
    assert.deepEqual(button(card, 'Undo this import').data, { verb: 'undoImport', groupId: 'g1', importId: 'abc' });
    assertValidCard(buildImportsCard({ groupId: 'g1', groupName: 'Depot North', imports: [] }));
  });
});
