import assert from 'node:assert/strict';
import { receivesCopy } from '../../src/delivery/audience';

describe('receivesCopy: who gets a copy of a post (group types, issue 18)', () => {
  const post = { senderUserId: 'ann', createdAt: '2026-01-02T00:00:00.000Z' };
  const member = (userId: string, extra: { muted?: boolean; joinedAt?: string; isAdmin?: boolean } = {}) => ({
    userId,
    muted: extra.muted ?? false,
    joinedAt: extra.joinedAt ?? '2026-01-01T00:00:00.000Z',
    ...(extra.isAdmin !== undefined ? { isAdmin: extra.isAdmin } : {}),
  });

  it('gives every other member a copy of a post to everyone, never the sender, nobody muted or joined later', () => {
    assert.equal(receivesCopy(post, member('bob')), true);
    assert.equal(receivesCopy(post, member('ann')), false);
    assert.equal(receivesCopy(post, member('bob', { muted: true })), false);
    assert.equal(receivesCopy(post, member('bob', { joinedAt: '2026-01-03T00:00:00.000Z' })), false);
    assert.equal(receivesCopy(post, member('bob', { joinedAt: post.createdAt })), true, 'joined at the same moment');
  });

  it("gives a hub-and-spoke thread's copies to the admins and its member only", () => {
    const thread = { ...post, senderUserId: 'owner', onlyAdminsAnd: 'ann' };
    assert.equal(receivesCopy(thread, member('ann')), true, 'the member of the thread');
    assert.equal(receivesCopy(thread, member('cleo', { isAdmin: true })), true, 'another admin');
    assert.equal(receivesCopy(thread, member('bob')), false, 'another member');
    assert.equal(receivesCopy(thread, member('bob', { isAdmin: false })), false);
    assert.equal(receivesCopy(thread, member('owner', { isAdmin: true })), false, 'the sender, admin or not');
    assert.equal(receivesCopy(thread, member('cleo', { isAdmin: true, muted: true })), false, 'muted admins too');
    const own = { ...post, onlyAdminsAnd: 'ann' };
    assert.equal(receivesCopy(own, member('ann')), false, "the member's own post is not sent back to them");
  });
});
