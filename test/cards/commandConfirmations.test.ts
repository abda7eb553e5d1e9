/**
 * Issue 17's cards, validated by the adaptivecards parser: the remove and delete post confirmations, the Post it
 * offer of an admin's word that found nothing, and the members card's Remove admin button.
 */
import assert from 'node:assert/strict';
import type { Attachment } from 'botbuilder';
import {
  buildConfirmationCard,
  buildMemberCard,
  buildMembersCard,
  buildPostItCard,
  deletePostConfirmation,
  removeConfirmation,
} from '../../cards';
import { HOSTILE_NAMES, assertShownLiterally, assertValidCard, button, content, verbs } from './cardTestKit';

interface CardCase {
  name: string;
  build: (text: string) => Attachment;
  verbs: string[];
}

const CASES: CardCase[] = [
  {
    name: 'confirm remove',
    build: (t) => buildConfirmationCard(removeConfirmation({ groupId: 'g1', groupName: t, userId: 'u2', memberName: t })),
    verbs: ['confirmRemove', 'cancel'],
  },
  {
    name: 'confirm delete post',
    build: (t) => buildConfirmationCard(deletePostConfirmation({ groupId: 'g1', groupName: t, seq: 7, senderName: t, preview: t })),
    verbs: ['confirmDeletePost', 'cancel'],
  },
  {
    name: 'post it',
    // The typed message itself is hostile too: it is the input's value (the sender's own typing, for editing).
    build: (t) =>
      buildPostItCard({
        groupId: 'g1',
        groupName: t,
        notFound: ['Nobody called “', t, '” is a member of ', t, '.'],
        text: `remove ${t}`,
        source: 'activity-1',
      }),
    verbs: ['postIt', 'cancel'],
  },
  {
    name: 'members (admin viewer, another admin and a member)',
    build: (t) =>
      buildMembersCard({
        groupId: 'g1',
        groupName: t,
        members: [
          { userId: 'u1', name: t, role: 'admin', isViewer: true },
          { userId: 'u2', name: t, role: 'admin' },
          { userId: 'u3', name: t, role: 'member' },
        ],
        viewerIsAdmin: true,
      }),
    verbs: ['membersPage', 'manageMember', 'manageMember', 'showGroupInfo'],
  },
  {
    name: "member (an admin's Manage on an admin)",
    build: (t) => buildMemberCard({ groupId: 'g1', groupName: t, userId: 'u2', name: t, role: 'admin' }),
    verbs: ['removeAdmin', 'removeMember', 'showMembers'],
  },
  {
    name: "member (an admin's Manage on a member)",
    build: (t) => buildMemberCard({ groupId: 'g1', groupName: t, userId: 'u3', name: t, role: 'member' }),
    verbs: ['makeAdmin', 'removeMember', 'showMembers'],
  },
];

describe("issue 17's cards", () => {
  for (const c of CASES) {
    describe(`the ${c.name} card`, () => {
      it('is valid Adaptive Card 1.5 with zero validation events and under 28 KB', () => assertValidCard(c.build('Alpha Crew')));

      for (const hostile of HOSTILE_NAMES) {
        it(`shows the name ${hostile} literally and stays valid`, () => {
          const card = c.build(hostile);
          assertValidCard(card);
          assertShownLiterally(card, hostile);
        });
      }

      it(`has buttons with the verbs ${c.verbs.join(', ')}`, () => assert.deepEqual(verbs(c.build('Alpha Crew')), c.verbs));

      it('stays under 28 KB with names of 100 characters', () => assertValidCard(c.build('W'.repeat(100))));
    });
  }

  it('Post it carries what was typed in its box (line breaks kept, up to a full post), and the message it came from', () => {
    const text = `remove the boxes\nfrom the van ${'x'.repeat(3_950)}`;
    const card = buildPostItCard({
      groupId: 'g1',
      groupName: 'Alpha Crew',
      notFound: ['You are not in a group called “the van”.'],
      text,
      source: 'a-1',
    });
    assertValidCard(card);
    assert.deepEqual(button(card, 'Post it').data, { verb: 'postIt', groupId: 'g1', source: 'a-1' });
    const input = (content(card)['body'] as Array<Record<string, unknown>>).find((e) => e['type'] === 'Input.Text');
    assert.deepEqual([input?.['id'], input?.['value'], input?.['isMultiline']], ['postText', text, true]);
  });

  it('Remove names who and from what, and carries both ids', () => {
    const card = buildConfirmationCard(removeConfirmation({ groupId: 'g1', groupName: 'Alpha Crew', userId: 'u2', memberName: 'Dave' }));
    assert.match(JSON.stringify(card.content), /Remove .*Dave.* from .*Alpha Crew/);
    assert.deepEqual(button(card, 'Remove').data, { verb: 'confirmRemove', groupId: 'g1', userId: 'u2' });
  });

  it('keeps a full page of admins, each with Remove admin and Remove, under 28 KB', () => {
    const members = Array.from({ length: 25 }, (_, i) => ({
      userId: `29:admin-${i}-${'x'.repeat(40)}`,
      name: 'W'.repeat(100),
      role: 'admin' as const,
    }));
    assertValidCard(
      buildMembersCard({
        groupId: 'g1',
        groupName: 'W'.repeat(100),
        totalCount: 3000,
        members,
        viewerIsAdmin: true,
        continuationToken: 't'.repeat(80),
      }),
    );
  });
});
