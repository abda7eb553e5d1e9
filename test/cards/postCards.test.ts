import assert from 'node:assert/strict';
import {
  buildPostActivity,
  buildPostCard,
  buildPostHistoryCard,
  buildPostSettingsCard,
  buildSwitchGroupCard,
  postSummary,
} from '../../cards';
import {
  HOSTILE_NAMES,
  assertLocalTimes,
  assertShownLiterally,
  assertValidCard,
  button,
  literalTexts,
  markdownTexts,
  verbs,
} from './cardTestKit';

const base = {
  groupId: 'g1',
  groupName: 'Field Sales North',
  seq: 7,
  senderName: 'Ann',
  text: 'Truck 4 is late.\nCall me before 5.\n\nThanks',
  createdAt: '2026-11-30T14:05:00.000Z',
  canDelete: false,
};

describe('post cards', () => {
  it('shows a received post with group, sender, time and text, one block per line, valid at 1.5', () => {
    const card = buildPostCard({ ...base, photoUrl: 'https://bot.example/groups/g1/photo?v=1' });
    assertValidCard(card);
    const texts = literalTexts(card);
    for (const expected of ['Field Sales North', 'Ann', 'Truck 4 is late.', 'Call me before 5.', 'Thanks'])
      assert.ok(texts.includes(expected), `${expected} in ${texts.join(' | ')}`);
    // The time in the reader's zone and locale: the client fills in DATE and TIME (no milliseconds, no "UTC").
    assert.ok(markdownTexts(card).includes('· {{DATE(2026-11-30T14:05:00Z, SHORT)}} {{TIME(2026-11-30T14:05:00Z)}}'));
    assertLocalTimes(card, 1);
  });

  it('marks an edited post after its time, and leaves the time out (never "Invalid Date") when it cannot be read', () => {
    const edited = buildPostCard({ ...base, edited: true });
    assertValidCard(edited);
    assert.ok(markdownTexts(edited).some((t) => t.endsWith('{{TIME(2026-11-30T14:05:00Z)}} · edited')));
    const unreadable = buildPostCard({ ...base, createdAt: 'not a time' });
    assertValidCard(unreadable);
    assertLocalTimes(unreadable, 0);
    assert.ok(!JSON.stringify(unreadable.content).includes('Invalid'));
  });

  it('offers Reply (inline replyText + Send to that post) and Open group; Delete post only when rendered for an admin or the sender', () => {
    const member = buildPostCard(base);
    assert.deepEqual(verbs(member).sort(), ['openGroup', 'replyToPost']);
    assert.deepEqual(button(member, 'Send').data, { verb: 'replyToPost', groupId: 'g1', seq: 7 });
    assert.match(JSON.stringify(member.content), /"id":"replyText"/);
    const admin = buildPostCard({ ...base, canDelete: true });
    assertValidCard(admin);
    assert.deepEqual(button(admin, 'Delete post').data, { verb: 'deletePost', groupId: 'g1', seq: 7 });
  });

  it('says what a reply answers', () => {
    const card = buildPostCard({ ...base, replyTo: { senderName: 'Bob', preview: 'Where is truck 4...' } });
    assertValidCard(card);
    assert.ok(literalTexts(card).some((t) => t.includes('Bob: Where is truck 4...')));
    assert.ok(literalTexts(card).includes('replying to '));
  });

  it('quotes nothing of a deleted post: "replying to a deleted post"', () => {
    const card = buildPostCard({ ...base, replyTo: { senderName: '', preview: '', deleted: true } });
    assertValidCard(card);
    assert.ok(literalTexts(card).includes('a deleted post'));
  });

  for (const hostile of HOSTILE_NAMES) {
    it(`shows hostile text literally in a post (${hostile})`, () => {
      const card = buildPostCard({ ...base, senderName: hostile, groupName: hostile, text: hostile });
      assertValidCard(card);
      assertShownLiterally(card, hostile);
    });
  }

  it("keeps the longest post (4,000 characters, many lines) under Teams' card size", () => {
    const text = Array.from({ length: 200 }, (_, i) => `line ${i} ${'x'.repeat(12)}`)
      .join('\n')
      .slice(0, 4000);
    assertValidCard(buildPostCard({ ...base, text }));
    assertValidCard(buildPostCard({ ...base, text: 'y'.repeat(4000) }));
  });

  it('sets the notification summary "Ann · Field Sales North: first words"', () => {
    assert.equal(postSummary('Ann', 'Field Sales North', 'Truck 4 is late.\nCall me'), 'Ann · Field Sales North: Truck 4 is late. Call me');
    const activity = buildPostActivity(base);
    assert.equal(activity['summary'], 'Ann · Field Sales North: Truck 4 is late. Call me before 5. Thanks');
    assert.equal(activity['type'], 'message');
  });

  it('pages history with Earlier, marks deleted and edited posts, and stays small with 20 long posts', () => {
    const posts = Array.from({ length: 20 }, (_, i) => ({
      seq: 21 + i,
      senderName: `Member ${i}`,
      text: 'z'.repeat(4000),
      createdAt: base.createdAt,
      edited: i === 1,
      deleted: i === 2,
    }));
    const card = buildPostHistoryCard({ groupId: 'g1', groupName: 'Field Sales North', posts, earlier: 21 });
    assertValidCard(card);
    assert.deepEqual(button(card, 'Earlier').data, { verb: 'historyPage', groupId: 'g1', before: 21 });
    assert.ok(literalTexts(card).includes('This post was deleted.'));
    assert.ok(!literalTexts(card).includes('Member 2'), 'a deleted post names no sender');
    assert.ok(markdownTexts(card).some((t) => t.endsWith(' · edited')));
    assertLocalTimes(card, 19);
    const empty = buildPostHistoryCard({ groupId: 'g1', groupName: HOSTILE_NAMES[0], posts: [] });
    assertValidCard(empty);
    assert.deepEqual(verbs(empty), []);
  });

  it('keeps a hostile group name literal in the history and settings cards, their fallbackText included', () => {
    for (const name of HOSTILE_NAMES) {
      const history = buildPostHistoryCard({ groupId: 'g1', groupName: name, posts: [] });
      const settings = buildPostSettingsCard({
        groupId: 'g1',
        groupName: name,
        onlyAdminsPost: false,
        historyForNewMembers: true,
        membersSeeEachOther: true,
        memberPostsTo: 'everyone',
        viewerIsAdmin: true,
      });
      for (const card of [history, settings]) {
        assertShownLiterally(card, name);
        assert.ok(!String((card.content as { fallbackText?: string }).fallbackText).includes(name), 'the raw name in fallbackText');
      }
    }
  });

  it("lists the member's groups to switch to, the current one marked", () => {
    const card = buildSwitchGroupCard({
      groups: [
        { groupId: 'a', name: 'Alpha' },
        { groupId: 'b', name: HOSTILE_NAMES[1] },
      ],
      currentGroupId: 'a',
    });
    assertValidCard(card);
    assertShownLiterally(card, HOSTILE_NAMES[1]);
    assert.deepEqual(button(card, 'Choose').data, { verb: 'switchGroup', groupId: 'b' });
    assert.ok(literalTexts(card).some((t) => t.includes('(current)')));
  });

  it('gives admins toggles and choices for the settings and Save; members see them read-only', () => {
    const admin = buildPostSettingsCard({
      groupId: 'g1',
      groupName: 'Field Sales North',
      onlyAdminsPost: false,
      historyForNewMembers: true,
      membersSeeEachOther: true,
      memberPostsTo: 'everyone',
      viewerIsAdmin: true,
    });
    assertValidCard(admin);
    const json = JSON.stringify(admin.content);
    assert.match(json, /"id":"onlyAdminsPost","title":"Only admins can post","value":"false"/);
    assert.match(json, /"id":"historyForNewMembers","title":"New members see earlier posts","value":"true"/);
    assert.match(json, /"id":"membersSeeEachOther","title":"Members see each other","value":"true"/);
    assert.match(json, /"type":"Input.ChoiceSet","id":"memberPostsTo","label":"Members' posts go to","value":"everyone"/);
    assert.match(json, /"type":"Input.ChoiceSet","id":"joinNotices","label":"Join notices to admins","value":"auto"/);
    assert.match(json, /Discussion group/);
    assert.deepEqual(button(admin, 'Save').data, { verb: 'saveSettings', groupId: 'g1' });
    const member = buildPostSettingsCard({
      groupId: 'g1',
      groupName: 'Field Sales North',
      onlyAdminsPost: true,
      historyForNewMembers: true,
      membersSeeEachOther: false,
      memberPostsTo: 'admins',
      joinNotices: 'digest',
      viewerIsAdmin: false,
    });
    assertValidCard(member);
    assert.deepEqual(verbs(member), []);
    assert.match(JSON.stringify(member.content), /Broadcast group/);
    assert.match(JSON.stringify(member.content), /the admins only/);
  });

  it('names each group type on the settings card (admins get the current choices)', () => {
    const base = { groupId: 'g1', groupName: 'G', historyForNewMembers: true, membersSeeEachOther: false, viewerIsAdmin: true };
    const hub = buildPostSettingsCard({ ...base, onlyAdminsPost: false, memberPostsTo: 'admins', joinNotices: 'off' });
    assertValidCard(hub);
    assert.match(JSON.stringify(hub.content), /Hub-and-spoke group/);
    assert.match(JSON.stringify(hub.content), /"id":"memberPostsTo","label":"Members' posts go to","value":"admins"/);
    assert.match(JSON.stringify(hub.content), /"id":"joinNotices","label":"Join notices to admins","value":"off"/);
    const announce = buildPostSettingsCard({ ...base, onlyAdminsPost: true, memberPostsTo: 'everyone' });
    assertValidCard(announce);
    assert.match(JSON.stringify(announce.content), /Announcement group/);
  });
});
