import assert from 'node:assert/strict';
import { buildActionCard, buildNotAnsweredCard, type ActionCardData } from '../../cards/actionCard';
import { buildAnnouncementForm, buildPollForm } from '../../cards/actionForms';
import { validateCard } from '../../cards/validate';
import { textOf } from '../helpers/chat';

const base: ActionCardData = {
  groupId: 'g1',
  groupName: 'Yard [Crew](https://evil.example)',
  actionId: 'a1',
  senderName: 'Ann',
  createdAt: '2026-12-07T09:41:00.000Z',
  open: true,
};
const poll = { question: 'Lunch?', options: ['Pizza', 'Salad', 'Soup'], multi: false, anonymous: false, resultsFor: 'everyone' as const };

/** Every variant of the announcement and poll cards parses as Adaptive Cards 1.5 and shows times in the reader's zone. */
describe('announcement and poll cards', () => {
  const variants: Array<[string, ActionCardData]> = [
    [
      'an announcement to confirm',
      { ...base, announcement: { title: 'Gate code', text: 'Monday.\nBring ID.', askConfirm: true, dueAt: '2026-12-08T17:00:00Z' } },
    ],
    [
      'a confirmed announcement',
      { ...base, announcement: { title: 'Gate code', text: 'Monday.', askConfirm: true }, mine: { at: '2026-12-07T09:45:00Z' } },
    ],
    [
      "an admin's copy",
      {
        ...base,
        announcement: { title: 'Gate code', text: 'x', askConfirm: true },
        results: { counts: [312], answered: 312 },
        manage: { memberCount: 1200, reportUrl: 'https://bot.example/r' },
      },
    ],
    ['an open poll', { ...base, poll }],
    [
      'a voted multi poll with results',
      {
        ...base,
        poll: { ...poll, multi: true },
        mine: { at: base.createdAt, choices: [0, 2] },
        results: { counts: [1, 0, 1], answered: 1 },
      },
    ],
    [
      'a closed anonymous poll with a notice',
      {
        ...base,
        open: false,
        poll: { ...poll, anonymous: true },
        results: { counts: [0, 0, 0], answered: 0 },
        notice: 'This poll is closed.',
      },
    ],
  ];
  for (const [name, data] of variants) {
    it(`${name}: valid, with a refresh, no UTC`, () => {
      const card = buildActionCard(data);
      assert.deepEqual(validateCard(card), []);
      const content = card.content as Record<string, unknown>;
      assert.equal((content.refresh as { action: { type: string; verb: string } }).action.type, 'Action.Execute');
      assert.doesNotMatch(textOf(content), /UTC/);
      assert.doesNotMatch(JSON.stringify(content), /\]\(https:\/\/evil/, 'user text never becomes a link');
    });
  }

  it('says "312 of 1,200 members confirmed" on the admin copy and "You confirmed at" with the local time', () => {
    assert.match(textOf(buildActionCard(variants[2]![1]).content as Record<string, unknown>), /312 of 1,200 members confirmed/);
    assert.match(
      textOf(buildActionCard(variants[1]![1]).content as Record<string, unknown>),
      /You confirmed at \{\{DATE\(2026-12-07T09:45:00Z, SHORT\)\}\} \{\{TIME\(2026-12-07T09:45:00Z\)\}\}/,
    );
  });

  it("the forms and the who-hasn't page are valid", () => {
    for (const card of [
      buildAnnouncementForm({ groupId: 'g1', groupName: 'Yard' }),
      buildPollForm({ groupId: 'g1', groupName: 'Yard' }),
      buildNotAnsweredCard({
        groupId: 'g1',
        actionId: 'a1',
        title: 'Gate',
        verb: 'confirmed',
        people: [{ name: 'Bob' }],
        matching: 30,
        total: 30,
        skip: 0,
        pageSize: 25,
      }),
    ])
      assert.deepEqual(validateCard(card), []);
  });
});
