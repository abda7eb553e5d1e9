import assert from 'node:assert/strict';
import { InvalidInputError } from '../../src/errors';
import { checkAnnouncement, checkPoll, isOpen, MAX_OPTIONS, type Poll } from '../../src/actions/model';

const NOW = new Date('2026-12-07T10:00:00.000Z');
const BY = { id: 'aad-ann', name: 'Ann' };

describe('announcements and polls: the rules of their input', () => {
  const poll = (overrides: Record<string, unknown> = {}) =>
    checkPoll(
      {
        groupId: 'g',
        question: ' Lunch  today? ',
        options: [' Pizza ', 'Salad', ''],
        multi: false,
        anonymous: false,
        resultsFor: 'everyone',
        createdBy: BY,
        ...overrides,
      } as never,
      NOW,
    );

  it('trims a poll and drops empty options; defaults to single choice, named, results for everyone', () => {
    const p = poll({ multi: undefined, anonymous: undefined, resultsFor: 'whatever' });
    assert.deepEqual(
      [p.question, p.options, p.multi, p.anonymous, p.resultsFor],
      ['Lunch today?', ['Pizza', 'Salad'], false, false, 'everyone'],
    );
  });

  it('refuses a poll with fewer than 2 or more than 10 options, a repeated option, an empty question, a past closing time', () => {
    assert.throws(() => poll({ options: ['Only'] }), /at least 2/);
    assert.throws(() => poll({ options: Array.from({ length: MAX_OPTIONS + 1 }, (_, i) => `o${i}`) }), /at most 10/);
    assert.throws(() => poll({ options: ['Pizza', 'pizza'] }), /the same/);
    assert.throws(() => poll({ question: '   ' }), InvalidInputError);
    assert.throws(() => poll({ closesAt: '2026-12-07T09:00:00Z' }), /in the future/);
    assert.throws(() => poll({ closesAt: 'tomorrow-ish' }), /not a date/);
    assert.equal(poll({ closesAt: '2026-12-08T09:00:00Z' }).closesAt, '2026-12-08T09:00:00.000Z');
  });

  it('asks members to confirm an announcement unless told not to, and refuses one without text', () => {
    const a = checkAnnouncement(
      { groupId: 'g', title: 'Gate', text: ' New code on Monday ', askConfirm: undefined as never, createdBy: BY },
      NOW,
    );
    assert.deepEqual([a.title, a.text, a.askConfirm], ['Gate', 'New code on Monday', true]);
    assert.equal(checkAnnouncement({ groupId: 'g', title: 'Gate', text: 'x', askConfirm: false, createdBy: BY }, NOW).askConfirm, false);
    assert.throws(() => checkAnnouncement({ groupId: 'g', title: 'Gate', text: ' ', askConfirm: true, createdBy: BY }, NOW), /no text/);
  });

  it('is open until closed or until its closing time', () => {
    const base = { kind: 'poll', actionId: 'a', createdAt: NOW.toISOString(), ...poll() } as Poll;
    assert.equal(isOpen(base, NOW), true);
    assert.equal(isOpen({ ...base, closedAt: NOW.toISOString() }, NOW), false);
    assert.equal(isOpen({ ...base, closesAt: '2026-12-07T09:59:59.000Z' }, NOW), false);
  });
});
