import assert from 'node:assert/strict';
import { buildImportedHistoryCard, buildImportPreviewCard, buildImportsCard, buildPostHistoryCard, KEEP_IMPORTED_NAME } from '../../cards';
import { candidatesFor } from '../../src/import/senderMatch';
import { senderChoicesOf } from '../../src/teams/handlers/importFlow';
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

  it('each sender has a choice of member, the suggestion selected; the Import button says which choice is whose', () => {
    const members = [
      { userId: 'aad-ann', name: 'Ann Lee' },
      { userId: 'aad-cy', name: 'Cy Park-Young' },
    ];
    const card = buildImportPreviewCard({
      ...preview,
      senders: [
        { name: 'Ann Lee', messages: 3, matchName: 'Ann Lee', matchUserId: 'aad-ann', choices: members },
        { name: 'Cy Park', messages: 1, choices: members },
      ],
    });
    assertValidCard(card);
    const json = card.content as { body: Array<{ type: string; id?: string; value?: string; choices?: Array<{ value: string }> }> };
    const sets = json.body.filter((e) => e.type === 'Input.ChoiceSet');
    assert.deepEqual(
      sets.map((e) => [e.id, e.value, e.choices!.map((c) => c.value).join(',')]),
      [
        ['sender0', 'aad-ann', `${KEEP_IMPORTED_NAME},aad-ann,aad-cy`],
        ['sender1', KEEP_IMPORTED_NAME, `${KEEP_IMPORTED_NAME},aad-ann,aad-cy`],
      ],
    );
    assert.deepEqual(button(card, 'Import 6 messages').data, {
      verb: 'importConfirm',
      token: 'tok123',
      name0: 'Ann Lee',
      name1: 'Cy Park',
    });
    // What the card's inputs come back as: only confirmed members, never the "keep the name" choice.
    assert.deepEqual(senderChoicesOf({ token: 't', name0: 'Ann Lee', sender0: 'aad-ann', name1: 'Cy Park', sender1: KEEP_IMPORTED_NAME }), {
      'Ann Lee': 'aad-ann',
    });
  });

  it('a big group: the suggestion and the members sharing a word of the name are the choices', () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ userId: `u${i}`, name: `Person ${i}` }));
    many.push({ userId: 'aad-cy', name: 'Cy Park-Young' }, { userId: 'aad-cy2', name: 'Cy Stone' });
    assert.deepEqual(
      candidatesFor('Cy Park', many).map((m) => m.userId),
      ['aad-cy', 'aad-cy2'],
    );
  });

  it('imported history: original sender marked imported, original time, media named not imported, text never formatting, Earlier', () => {
    for (const hostile of HOSTILE_NAMES) {
      const card = buildImportedHistoryCard({
        groupId: 'g1',
        groupName: 'Depot North',
        messages: [
          { sender: hostile, at: '2023-12-20T22:46:00.000Z', text: hostile, kind: 'text', sourceName: 'WhatsApp' },
          { sender: hostile, at: '2023-12-20T22:47:00.000Z', text: 'hi', kind: 'text', sourceName: 'WhatsApp', memberName: hostile },
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
      assert.ok(texts.includes(' · imported from WhatsApp, where they were '), texts);
      assertLocalTimes(card, 3);
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
