import assert from 'node:assert/strict';
import { DIGEST_ABOVE_MEMBERS, joinNoticeMode, postAsSeenBy, shownName, threadNote, threadOfNewPost } from '../../src/groups/groupTypes';
import { canSee, DEFAULT_POST_SETTINGS, type GroupPostSettings, type PostingContext } from '../../src/groups/posts';

const hidden: GroupPostSettings = { ...DEFAULT_POST_SETTINGS, membersSeeEachOther: false };
const hub: GroupPostSettings = { ...DEFAULT_POST_SETTINGS, memberPostsTo: 'admins' };

function context(
  userId: string,
  settings: GroupPostSettings,
  adminIds = ['owner'],
): PostingContext & { member: { userId: string; name: string } } {
  return {
    groupId: 'g',
    groupName: 'G',
    adminIds,
    settings,
    member: {
      userId,
      name: userId.toUpperCase(),
      role: adminIds.includes(userId) ? 'admin' : 'member',
      joinedAt: '2026-01-01T00:00:00.000Z',
      muted: false,
    },
  };
}

describe('group types: the rules (src/groups/groupTypes.ts)', () => {
  it('defaults join notices to each join up to 50 members and a digest above, unless chosen', () => {
    assert.equal(joinNoticeMode({}, DIGEST_ABOVE_MEMBERS), 'each');
    assert.equal(joinNoticeMode({}, DIGEST_ABOVE_MEMBERS + 1), 'digest');
    assert.equal(joinNoticeMode({ joinNotices: 'each' }, 5_000), 'each');
    assert.equal(joinNoticeMode({ joinNotices: 'off' }, 3), 'off');
    assert.equal(joinNoticeMode({ joinNotices: 'digest' }, 3), 'digest');
  });

  it("hides members' names from members (never their own, never the admins'), never from admins", () => {
    const group = { adminIds: ['owner'], settings: hidden };
    assert.equal(shownName(group, 'bob', { id: 'ann', name: 'Ann' }), 'A member');
    assert.equal(shownName(group, 'bob', { id: 'bob', name: 'Bob' }), 'Bob');
    assert.equal(shownName(group, 'bob', { id: 'owner', name: 'Olga' }), 'Olga');
    assert.equal(shownName(group, 'bob', { name: 'Unknown sender' }), 'A member', 'a reply kept before group types names nobody');
    assert.equal(shownName(group, 'owner', { id: 'ann', name: 'Ann' }), 'Ann');
    assert.equal(shownName({ adminIds: ['owner'], settings: DEFAULT_POST_SETTINGS }, 'bob', { id: 'ann', name: 'Ann' }), 'Ann');
    const post = {
      sender: { userId: 'ann', name: 'Ann', tenantId: 't' },
      replyTo: { seq: 1, senderName: 'Cy', preview: 'x', senderId: 'cy' },
    };
    const seen = postAsSeenBy(group, 'bob', post);
    assert.equal(seen.sender.name, 'A member');
    assert.equal(seen.replyTo?.senderName, 'A member');
    assert.equal(post.sender.name, 'Ann', 'the stored post is not changed');
  });

  it("puts a member's hub-and-spoke post in their thread, a reply in the thread it answers, an admin's new post to everyone", () => {
    assert.deepEqual(threadOfNewPost(context('ann', hub)), { userId: 'ann', name: 'ANN' });
    assert.equal(threadOfNewPost(context('owner', hub)), undefined);
    assert.deepEqual(threadOfNewPost(context('owner', hub), { thread: { userId: 'ann', name: 'Ann' } }), { userId: 'ann', name: 'Ann' });
    assert.equal(threadOfNewPost(context('owner', hub), {}), undefined, "an admin's reply to a post to everyone");
    assert.equal(threadOfNewPost(context('ann', DEFAULT_POST_SETTINGS)), undefined);
    assert.equal(threadNote({ userId: 'ann', name: 'Ann' }, 'ann'), 'Only you and the admins see this');
    assert.equal(threadNote({ userId: 'ann', name: 'Ann' }, 'owner'), 'Only you and the admins see this (with Ann)');
  });

  it('lets the admins and the member of a thread see it, nobody else', () => {
    const post = { createdAt: '2026-01-02T00:00:00.000Z', thread: { userId: 'ann', name: 'Ann' } };
    assert.equal(canSee(context('ann', hub), post), true);
    assert.equal(canSee(context('owner', hub), post), true);
    assert.equal(canSee(context('bob', hub), post), false);
    assert.equal(canSee(context('bob', hub), { createdAt: post.createdAt }), true);
  });
});
