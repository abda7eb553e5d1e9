import assert from 'node:assert/strict';
import { buildMembersCard, REMOVED_MAX, type MembersCardData } from '../../cards/members';
import { HOSTILE_NAMES, assertShownLiterally, assertValidCard, button, literalTexts, verbs } from './cardTestKit';

const LONG_TOKEN = 'eyJuZXh0UGFydGl0aW9uS2V5IjoiZzEiLCJuZXh0Um93S2V5IjoibWVtYmVyfHUzIn0';

function fullCard(name: string, overrides: Partial<MembersCardData> = {}): MembersCardData {
  return {
    groupId: 'g1',
    groupName: name,
    totalCount: 3000,
    members: Array.from({ length: 25 }, (_, i) => ({
      userId: `29:member-${i}-${'x'.repeat(40)}`,
      name,
      role: i === 0 ? 'admin' : 'member',
      isViewer: i === 0,
    })),
    continuationToken: LONG_TOKEN,
    viewerIsAdmin: true,
    removed: Array.from({ length: 12 }, (_, i) => ({ userId: `aad-removed-${i}-${'y'.repeat(30)}`, name })),
    moreRemoved: true,
    ...overrides,
  };
}

describe('The members card: the "Removed" section', () => {
  for (const hostile of HOSTILE_NAMES) {
    it(`shows admins who was removed, each with "Let back in", valid and under 28 KB with a full page (name ${JSON.stringify(hostile)})`, () => {
      const card = buildMembersCard(fullCard(hostile));
      assertValidCard(card);
      assertShownLiterally(card, hostile);
      assert.equal(verbs(card).filter((v) => v === 'allowMember').length, REMOVED_MAX, 'at most REMOVED_MAX removed people on the card');
      assert.deepEqual(button(card, 'Let back in').data, { groupId: 'g1', userId: `aad-removed-0-${'y'.repeat(30)}`, verb: 'allowMember' });
    });
  }

  it('says how to reach the removed people not shown', () => {
    const card = buildMembersCard(fullCard('Ann'));
    assert.ok(JSON.stringify(card.content).includes('Type \\"allow\\" and a name'));
  });

  it('shows no "Removed" section to members, nor when nobody was removed', () => {
    for (const data of [fullCard('Ann', { viewerIsAdmin: false }), fullCard('Ann', { removed: [], moreRemoved: false })]) {
      const card = buildMembersCard(data);
      assertValidCard(card);
      assert.ok(!verbs(card).includes('allowMember'));
      assert.ok(!JSON.stringify(card.content).includes('Removed'));
    }
    assert.ok(literalTexts(buildMembersCard(fullCard('Ann'))).includes('Ann'));
  });
});
