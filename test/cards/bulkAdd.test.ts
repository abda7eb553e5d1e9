/**
 * Issue 18's chat cards, validated by the adaptivecards parser: the box for a pasted list and the dry run's
 * answer, with hostile group names and addresses shown literally, and Add N people only when N > 0.
 */
import assert from 'node:assert/strict';
import { buildAddPeopleCard, buildBulkPlanCard, buildBulkProgressCard, PLAN_ROWS_SHOWN } from '../../cards';
import { HOSTILE_NAMES, assertShownLiterally, assertValidCard, button, content, verbs } from './cardTestKit';

describe('bulk add cards', () => {
  for (const hostile of HOSTILE_NAMES) {
    it(`the progress card: valid, the groups shown literally, no buttons (group "${hostile.slice(0, 20)}…")`, () => {
      for (const finished of [false, true]) {
        const card = buildBulkProgressCard({ groupNames: [hostile, 'Depot', 'A', 'B', 'C', 'D'], done: 1_200, total: 10_000, finished });
        assertValidCard(card);
        assertShownLiterally(card, hostile);
        assert.deepEqual(verbs(card), []);
        assert.match(JSON.stringify(content(card)), /1,200 of 10,000 rows done/);
        assert.match(JSON.stringify(content(card)), / and 1 more/);
      }
    });

    it(`the box: valid, with the multi-line input, the toggle and Check the list (group "${hostile.slice(0, 20)}…")`, () => {
      const card = buildAddPeopleCard({ groupId: 'g1', groupName: hostile, maxAddresses: 50 });
      assertValidCard(card);
      assertShownLiterally(card, hostile);
      const json = JSON.stringify(content(card));
      assert.match(json, /"type":"Input.Text","id":"addresses"[^}]*"isMultiline":true/);
      assert.match(json, /"type":"Input.Toggle","id":"addLeavers","title":"Add people who left"/);
      assert.deepEqual(verbs(card), ['checkBulkList', 'cancel']);
      assert.deepEqual(button(card, 'Check the list').data, { groupId: 'g1', verb: 'checkBulkList' });
    });

    it(`the dry run: valid, rows shown literally, Add N people carrying the list (row "${hostile.slice(0, 20)}…")`, () => {
      const card = buildBulkPlanCard({
        groupId: 'g1',
        groupName: hostile,
        counts: [
          { label: 'will add', count: 2 },
          { label: 'unknown', count: 1 },
        ],
        rows: [
          { raw: 'ann@contoso.com', reason: 'will add' },
          { raw: hostile, reason: 'malformed: not a valid email address' },
          { raw: 'cy@contoso.com', reason: 'removed by an admin: let them back in with `allow` first' },
        ],
        toAdd: 2,
        addresses: 'ann@contoso.com\nbob@contoso.com',
        addLeavers: true,
      });
      assertValidCard(card);
      for (const text of JSON.stringify(content(card)).match(/"text":"[^"]*"/g) ?? []) assert.ok(!text.includes('`'), text);
      assert.deepEqual(verbs(card), ['confirmBulkAdd', 'cancel']);
      assert.deepEqual(button(card, 'Add 2 people').data, {
        groupId: 'g1',
        addresses: 'ann@contoso.com\nbob@contoso.com',
        addLeavers: true,
        verb: 'confirmBulkAdd',
      });
    });
  }

  it('lists the first rows and "and N more"; no Add button when nobody can be added', () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({ raw: `p${i}@contoso.com`, reason: 'already a member' }));
    const card = buildBulkPlanCard({
      groupId: 'g1',
      groupName: 'Depot',
      counts: [{ label: 'already members', count: 40 }],
      rows,
      toAdd: 0,
      addresses: rows.map((r) => r.raw).join('\n'),
      addLeavers: false,
    });
    assertValidCard(card);
    const json = JSON.stringify(content(card));
    assert.ok(json.includes(`p${PLAN_ROWS_SHOWN - 1}@contoso`) && !json.includes(`p${PLAN_ROWS_SHOWN}@contoso`));
    assert.match(json, new RegExp(`and ${40 - PLAN_ROWS_SHOWN} more`));
    assert.deepEqual(verbs(card), ['cancel']);
    assert.match(json, /Nobody on this list can be added/);
  });
});
