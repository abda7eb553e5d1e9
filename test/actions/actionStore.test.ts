import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { odata } from '@azure/data-tables';
import { ActionStore } from '../../src/actions/actionStore';
import type { Poll } from '../../src/actions/model';
import { forEachLimited } from '../../src/storage/partitionSweep';
import type { TableClients } from '../../src/storage/tables';
import { freshTables } from '../helpers/azurite';

/** Announcements' confirmations and polls' votes on Azurite: exact under many at once, once per member. */
describe('ActionStore (Azurite)', function () {
  this.timeout(60_000);
  let tables: TableClients;
  let store: ActionStore;
  const groupId = `g${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const creator = { id: 'aad-ann', name: 'Ann' };

  before(async () => {
    ({ clients: tables } = await freshTables());
    store = new ActionStore(tables.actions);
  });

  const newPoll = (overrides: Partial<Poll> = {}) =>
    store.create({
      kind: 'poll',
      groupId,
      question: 'Lunch?',
      options: ['Pizza', 'Salad', 'Soup'],
      multi: false,
      anonymous: true,
      resultsFor: 'everyone',
      createdBy: creator,
      createdAt: new Date().toISOString(),
      ...overrides,
    });

  it('counts 300 anonymous votes from 300 members, 16 at a time, exactly; a second vote is final and counts nothing', async () => {
    const poll = await newPoll();
    const members = Array.from({ length: 300 }, (_, i) => `member-${i}`);
    const outcomes = new Map<string, number>();
    await forEachLimited(members, 16, async (userId) => {
      const i = Number(userId.split('-')[1]);
      const outcome = await store.answer(groupId, poll.actionId, userId, { choices: [i % 3], named: false, at: new Date().toISOString() });
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    });
    assert.deepEqual([...outcomes], [['counted', 300]]);
    assert.equal((await store.tallies(groupId, poll.actionId)).get('answered'), 300, 'each voter counted once as a voter');
    assert.deepEqual([...(await store.tallies(groupId, poll.actionId))].filter(([k]) => k !== 'answered').sort(), [
      [0, 100],
      [1, 100],
      [2, 100],
    ]);
    assert.equal(
      await store.answer(groupId, poll.actionId, 'member-0', { choices: [1], named: false, at: new Date().toISOString() }),
      'final',
    );
    assert.deepEqual([...(await store.tallies(groupId, poll.actionId))].filter(([k]) => k !== 'answered').sort(), [
      [0, 100],
      [1, 100],
      [2, 100],
    ]);
    assert.equal((await store.voters(groupId, poll.actionId)).size, 300);
  });

  it('keeps no row that joins a member to a choice in an anonymous poll', async () => {
    const poll = await newPoll();
    await store.answer(groupId, poll.actionId, 'aad-secret-voter', { choices: [2], named: false, at: new Date().toISOString() });
    const rows = [];
    for await (const row of tables.actions.listEntities({
      queryOptions: { filter: odata`PartitionKey eq ${`${groupId}|${poll.actionId}`}` },
    }))
      rows.push(row);
    for (const row of rows) {
      const text = JSON.stringify(row);
      const namesVoter = text.includes('aad-secret-voter');
      const namesChoice = /"choices"|tally\|02/.test(text);
      assert.ok(!(namesVoter && namesChoice), `a row names both the voter and the choice: ${text}`);
    }
    assert.ok(
      rows.some((r) => r.rowKey === 'voter|aad-secret-voter' && !('choices' in r)),
      'participation is kept, without the choice',
    );
  });

  it('moves a named vote from one option to another, and counts a double tap once', async () => {
    const poll = await newPoll({ anonymous: false, multi: true });
    const at = () => new Date().toISOString();
    const [a, b] = await Promise.all([
      store.answer(groupId, poll.actionId, 'bob', { choices: [0, 1], named: true, at: at() }),
      store.answer(groupId, poll.actionId, 'bob', { choices: [0, 1], named: true, at: at() }),
    ]);
    assert.deepEqual([a, b].sort(), ['counted', 'unchanged']);
    assert.equal(await store.answer(groupId, poll.actionId, 'bob', { choices: [2], named: true, at: at() }), 'changed');
    assert.deepEqual(
      [...(await store.tallies(groupId, poll.actionId))].filter(([k, n]) => n > 0 && k !== 'answered'),
      [[2, 1]],
    );
    assert.deepEqual((await store.voters(groupId, poll.actionId)).get('bob')?.choices, [2]);
  });

  it('counts each confirmation of an announcement once, and allows one reminder per window', async () => {
    const announcement = await store.create({
      kind: 'announcement',
      groupId,
      title: 'Gate code',
      text: 'The gate code changes on Monday.',
      askConfirm: true,
      createdBy: creator,
      createdAt: new Date().toISOString(),
    });
    await forEachLimited(
      Array.from({ length: 60 }, (_, i) => `m${i % 40}`),
      16,
      (userId) => store.answer(groupId, announcement.actionId, userId, { named: true, at: new Date().toISOString() }),
    );
    assert.equal((await store.tallies(groupId, announcement.actionId)).get('confirmed'), 40);
    const now = new Date();
    const window = 4 * 3600_000;
    const hourLater = new Date(now.getTime() + 3600_000);
    const round = await store.claimReminder(groupId, announcement.actionId, now, window);
    assert.equal(round, now.toISOString());
    assert.equal(await store.claimReminder(groupId, announcement.actionId, hourLater, window), round, 'unfinished: the same round');
    await store.reminded(groupId, announcement.actionId, round!);
    assert.equal(await store.claimReminder(groupId, announcement.actionId, hourLater, window), undefined, 'finished: the window is used');
    const fiveHours = new Date(now.getTime() + 5 * 3600_000);
    assert.equal(await store.claimReminder(groupId, announcement.actionId, fiveHours, window), fiveHours.toISOString());
  });

  it('refuses every answer written after another instance closed the poll (the seal), however it remembers the poll', async () => {
    const poll = await newPoll({ anonymous: false, multi: true });
    const other = new ActionStore(tables.actions); // a second instance on the same storage
    const at = () => new Date().toISOString();
    // This instance answers (its counters and the poll are now remembered here) while the other one closes it.
    const early = Array.from({ length: 30 }, (_, i) => `early-${i}`);
    const racing = forEachLimited(early, 10, (userId) =>
      store.answer(groupId, poll.actionId, userId, { choices: [0, 2], named: true, at: at() }),
    );
    await other.close(groupId, poll.actionId, at());
    const raced = await Promise.allSettled([racing]);
    assert.equal(raced[0]!.status, 'fulfilled');
    // After the close returned: a first answer, a change of an earlier one, and a redelivered one are all refused.
    const voted = await store.voters(groupId, poll.actionId);
    const late = await Promise.all(
      ['late-1', 'late-2', 'late-3'].map((userId) => store.answer(groupId, poll.actionId, userId, { choices: [1], named: true, at: at() })),
    );
    assert.deepEqual(late, ['closed', 'closed', 'closed']);
    const someone = [...voted.keys()][0];
    if (someone) assert.equal(await store.answer(groupId, poll.actionId, someone, { choices: [1], named: true, at: at() }), 'closed');
    // Exact: the tallies are the voter rows written (before the seal), nothing after it.
    const after = await store.voters(groupId, poll.actionId);
    assert.equal(after.size, voted.size);
    assert.ok(![...after.keys()].some((id) => id.startsWith('late-')));
    const tallies = await store.tallies(groupId, poll.actionId);
    assert.deepEqual(
      [tallies.get(0) ?? 0, tallies.get(1) ?? 0, tallies.get(2) ?? 0, tallies.get('answered') ?? 0],
      [after.size, 0, after.size, after.size],
    );
  });

  it('loads a poll kept before `closeDue` existed, and gives it one so the closing sweep finds it', async () => {
    const actionId = `legacy${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const closesAt = new Date(Date.now() + 3600_000).toISOString();
    const legacy = {
      kind: 'poll',
      groupId,
      actionId,
      question: 'Old poll?',
      options: ['Yes', 'No'],
      multi: false,
      anonymous: false,
      resultsFor: 'everyone',
      closesAt,
      createdBy: creator,
      createdAt: new Date().toISOString(),
    };
    const partitionKey = `${groupId}|${actionId}`;
    // The row as the first version of polls kept it: the JSON and createdAt, no closeDue column.
    await tables.actions.createEntity({ partitionKey, rowKey: 'action', json: JSON.stringify(legacy), createdAt: legacy.createdAt });
    const due = async (now: string) => {
      const found: string[] = [];
      for await (const p of store.dueToClose(now)) if (p.actionId === actionId) found.push(p.actionId);
      return found;
    };
    assert.deepEqual(await due(new Date(Date.parse(closesAt) + 1000).toISOString()), [], 'the sweep cannot see it yet');
    const loaded = await store.get(groupId, actionId);
    assert.equal(loaded?.kind, 'poll');
    assert.equal((loaded as Poll).closesAt, closesAt);
    assert.equal(
      await store.answer(groupId, actionId, 'old-voter', { choices: [1], named: true, at: new Date().toISOString() }),
      'counted',
    );
    assert.deepEqual(await due(new Date(Date.parse(closesAt) + 1000).toISOString()), [actionId], 'now the sweep finds it');
    assert.deepEqual(await due(new Date(Date.parse(closesAt) - 1000).toISOString()), [], 'not before its time');
  });
});
