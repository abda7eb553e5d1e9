/**
 * Every card, built with representative data and with hostile names: valid at Adaptive Card 1.5 with zero
 * validation events, under 28 KB, user text shown literally, and the buttons carry the right verbs.
 */
import assert from 'node:assert/strict';
import type { Attachment } from 'botbuilder';
import {
  buildAskGroupNameCard,
  buildAskGroupPhotoCard,
  buildConfirmationCard,
  buildDocumentDetailsCard,
  buildEmailCard,
  buildPosterCard,
  buildErrorCard,
  buildGroupInfoCard,
  buildHelpCard,
  buildShortHelpCard,
  buildInviteCard,
  buildMemberJoinedNoticeCard,
  buildMembersCard,
  buildMyGroupsCard,
  buildOrganizationMappedCard,
  buildOrgGroupsCard,
  buildPostCard,
  buildPostHistoryCard,
  buildPostSettingsCard,
  buildResolvedCard,
  buildSwitchGroupCard,
  buildWelcomeCard,
  deleteConfirmation,
  inviteQrDataUrl,
  leaveConfirmation,
  provenName,
  resetLinkConfirmation,
} from '../../cards';
import { helpEntries, helpTasks } from '../../src/teams/input/commands';
import { HOSTILE_NAMES, assertLocalTimes, assertShownLiterally, assertValidCard, verbs } from './cardTestKit';

const LINK = 'https://groups.contoso.example/join/AbCdEfGhIjKlMnOpQrStUv';
const WHEN = new Date(Date.UTC(2025, 10, 26, 5, 35));
/** A verified organization (the tenant mapping's name): not user text, shown as it is (test/cards/provenNames.test.ts). */
const ORG = provenName('contoso-field.example');

interface CardCase {
  name: string;
  /** Builds the card with `text` as every user-supplied name. */
  build: (text: string) => Attachment;
  verbs: string[];
  /** False for a card of the bot's own words only (no hostile-name cases). */
  userText?: false;
  /** How many times the card shows (each in the reader's local time); none by default. */
  times?: number;
}

let qr = '';
before(async () => {
  qr = await inviteQrDataUrl(LINK);
});

const CASES: CardCase[] = [
  { name: 'welcome', build: (t) => buildWelcomeCard({ userName: t }), verbs: ['createGroup', 'myGroups', 'help'] },
  {
    name: 'help',
    build: (t) => buildHelpCard({ commands: [...helpEntries(), { usage: t, description: t }] }),
    verbs: ['createGroup', 'myGroups'],
  },
  {
    name: 'group info (admin, private, with photo)',
    build: (t) =>
      buildGroupInfoCard({
        groupId: 'g1',
        name: t,
        photoUrl: 'https://cdn.contoso.example/p.png',
        memberCount: 1234,
        adminNames: [t, 'Bob', 'Cy', 'Dee'],
        adminCount: 7,
        viewerIsAdmin: true,
      }),
    verbs: [
      'showInvite',
      'newAnnouncement',
      'newPoll',
      'showMembers',
      'poster',
      'resetLink',
      'addToOrganization',
      'leaveGroup',
      'deleteGroup',
    ],
  },
  {
    name: 'group info (member, owned by an organization)',
    build: (t) =>
      buildGroupInfoCard({ groupId: 'g1', name: t, memberCount: 2, adminNames: [t], organizationName: ORG, viewerIsAdmin: false }),
    verbs: ['showInvite', 'newAnnouncement', 'newPoll', 'showMembers', 'poster', 'leaveGroup'],
  },
  {
    name: 'invite (admin)',
    build: (t) =>
      buildInviteCard({ groupId: 'g1', groupName: t, inviteLink: LINK, joinCode: 'K7Q-4MZ', qrPngDataUrl: qr, viewerIsAdmin: true }),
    verbs: ['showGroupInfo', 'resetLink'],
  },
  {
    name: 'ask group name',
    build: (t) => buildAskGroupNameCard({ suggestedName: t, problem: 'That name is too long.' }),
    verbs: ['createGroup', 'cancel'],
  },
  { name: 'ask group photo', build: (t) => buildAskGroupPhotoCard({ groupName: t }), verbs: ['createGroup', 'skipPhoto', 'cancel'] },
  {
    name: 'confirm reset link',
    build: (t) => buildConfirmationCard(resetLinkConfirmation({ groupId: 'g1', groupName: t })),
    verbs: ['confirmResetLink', 'cancel'],
  },
  {
    name: 'confirm leave',
    build: (t) => buildConfirmationCard(leaveConfirmation({ groupId: 'g1', groupName: t })),
    verbs: ['confirmLeave', 'cancel'],
  },
  {
    name: 'confirm delete',
    build: (t) => buildConfirmationCard(deleteConfirmation({ groupId: 'g1', groupName: t })),
    verbs: ['confirmDelete', 'cancel'],
  },
  {
    name: 'members (admin, with a next page)',
    build: (t) =>
      buildMembersCard({
        groupId: 'g1',
        groupName: t,
        totalCount: 3000,
        members: [
          { userId: 'u1', name: t, role: 'admin', isViewer: true },
          { userId: 'u2', name: t, role: 'member' },
        ],
        continuationToken: 'eyJuZXh0UGFydGl0aW9uS2V5IjoiZzEiLCJuZXh0Um93S2V5IjoibWVtYmVyfHUzIn0',
        viewerIsAdmin: true,
      }),
    verbs: ['membersPage', 'manageMember', 'membersPage', 'showGroupInfo'],
  },
  {
    name: 'my groups (with a next page)',
    build: (t) =>
      buildMyGroupsCard({
        groups: [
          { groupId: 'g1', name: t, memberCount: 12, role: 'admin' },
          { groupId: 'g2', name: t, memberCount: 1, role: 'member', organizationName: ORG },
        ],
        continuationToken: 'tok',
      }),
    verbs: ['showGroupInfo', 'showGroupInfo', 'myGroupsPage', 'createGroup'],
  },
  {
    name: 'member joined notice',
    build: (t) => buildMemberJoinedNoticeCard({ groupId: 'g1', groupName: t, memberName: t, memberCount: 6 }),
    verbs: ['showMembers', 'resetLink'],
  },
  {
    name: 'organization mapped',
    build: (t) => buildOrganizationMappedCard({ groupId: 'g1', groupName: t, organizationName: ORG, mappedBy: t, mappedAt: WHEN }),
    verbs: ['poster', 'showInvite', 'showGroupInfo'],
    times: 1,
  },
  {
    name: 'short help',
    build: (t) => buildShortHelpCard({ tasks: [...helpTasks(), { task: t, usages: [t] }] }),
    verbs: ['createGroup', 'myGroups', 'help'],
  },
  {
    name: 'document details (mapped group)',
    build: (t) =>
      buildDocumentDetailsCard({
        groupId: 'g1',
        groupName: t,
        kind: 'poster',
        senderName: t,
        personalLine: t,
        organization: { verified: ORG },
      }),
    verbs: ['saveDocumentDetails', 'cancel'],
  },
  {
    name: 'document details (unmapped group, with a problem)',
    build: (t) =>
      buildDocumentDetailsCard({
        groupId: 'g1',
        groupName: t,
        kind: 'email',
        organization: { typed: t },
        problem: 'The personal line is too long (160 characters at most).',
      }),
    verbs: ['saveDocumentDetails', 'cancel'],
  },
  {
    name: 'posters',
    build: (t) =>
      buildPosterCard({
        groupId: 'g1',
        groupName: t,
        joinPosterUrl: 'https://files.contoso.example/poster.pptx?sig=abc',
        moveGroupsPosterUrl: 'https://files.contoso.example/intro-poster.pptx?sig=abc',
        expiresAt: WHEN,
        canEdit: true,
      }),
    verbs: ['poster', 'email'],
    times: 1,
  },
  {
    name: 'email',
    build: (t) =>
      buildEmailCard({
        groupId: 'g1',
        groupName: t,
        emailFileUrl: 'https://files.contoso.example/email.eml?sig=abc',
        mailto: { subject: `Join ${t}`, body: `Open ${LINK}` },
        senderName: t,
        expiresAt: WHEN,
        canEdit: true,
      }),
    verbs: ['email', 'poster'],
    times: 1,
  },
  {
    name: 'organization groups',
    build: (t) =>
      buildOrgGroupsCard({
        organizationName: ORG,
        totalCount: 40,
        groups: [{ groupId: 'g1', name: t, memberCount: 3, mappedBy: t, mappedAt: WHEN }],
        continuationToken: 'tok',
      }),
    verbs: ['showGroupInfo', 'exportGroup', 'orgGroupsPage'],
    times: 1,
  },
  {
    name: 'post (for an admin)',
    build: (t) =>
      buildPostCard({
        groupId: 'g1',
        groupName: t,
        photoUrl: 'https://bot.contoso.example/groups/g1/photo?v=1',
        seq: 7,
        senderName: t,
        text: t,
        createdAt: WHEN.toISOString(),
        edited: true,
        replyTo: { senderName: t, preview: t },
        canDelete: true,
      }),
    verbs: ['replyToPost', 'openGroup', 'deletePost'],
    times: 1,
  },
  {
    name: 'post history',
    build: (t) =>
      buildPostHistoryCard({
        groupId: 'g1',
        groupName: t,
        posts: [
          { seq: 1, senderName: t, text: t, createdAt: WHEN.toISOString() },
          { seq: 2, senderName: 'Bob', text: '', createdAt: WHEN.toISOString(), deleted: true },
        ],
        earlier: 1,
      }),
    verbs: ['historyPage'],
    // A deleted post keeps its place with neither sender nor time (issue 17).
    times: 1,
  },
  {
    name: 'switch group',
    build: (t) =>
      buildSwitchGroupCard({
        groups: [
          { groupId: 'g1', name: t },
          { groupId: 'g2', name: 'Sales' },
        ],
        currentGroupId: 'g1',
      }),
    verbs: ['switchGroup', 'switchGroup'],
  },
  {
    name: 'post settings (admin)',
    build: (t) =>
      buildPostSettingsCard({
        groupId: 'g1',
        groupName: t,
        onlyAdminsPost: true,
        historyForNewMembers: false,
        membersSeeEachOther: false,
        memberPostsTo: 'admins',
        viewerIsAdmin: true,
      }),
    verbs: ['saveSettings'],
  },
  {
    name: 'resolved confirmation',
    // The bot's own words only: no user text to show.
    build: () => buildResolvedCard({ message: 'Done. See the answer below.' }),
    verbs: [],
    userText: false,
  },
  {
    name: 'error',
    build: (t) =>
      buildErrorCard({ message: `No group called ${t}.`, referenceId: 'f:123', retry: { title: 'My groups', verb: 'myGroups' } }),
    verbs: ['myGroups', 'help'],
  },
];

describe('cards', () => {
  for (const c of CASES) {
    describe(`the ${c.name} card`, () => {
      it('is valid Adaptive Card 1.5 with zero validation events and under 28 KB', () => {
        assertValidCard(c.build('Field team North'));
      });

      for (const hostile of c.userText === false ? [] : HOSTILE_NAMES) {
        it(`shows the name ${hostile} literally and stays valid`, () => {
          const card = c.build(hostile);
          assertValidCard(card);
          assertShownLiterally(card, hostile);
        });
      }

      it(`has buttons with the verbs ${c.verbs.join(', ')}`, () => {
        assert.deepEqual(verbs(c.build('Field team North')), c.verbs);
      });

      it(`shows ${c.times ?? 'no'} time${c.times === 1 ? '' : 's'}, in the reader's time zone, and never "UTC"`, () => {
        assertLocalTimes(c.build('Field team North'), c.times ?? 0);
      });

      it('stays under 28 KB with names of 100 characters', () => {
        assertValidCard(c.build('W'.repeat(100)));
      });
    });
  }
});
