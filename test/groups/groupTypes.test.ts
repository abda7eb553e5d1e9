import assert from 'node:assert/strict';
import { DIGEST_ABOVE_MEMBERS, joinNoticeMode, postAsSeenBy, shownName, threadNote, threadOfNewPost } from '../../src/groups/groupTypes';
import { canSee, DEFAULT_POST_SETTINGS, type GroupPostSettings, type PostingContext } from '../../src/groups/posts';
import { searchMembers, SEARCH_SCAN_ROWS } from '../../src/groups/memberSearch';
import type { Member, Page } from '../../src/groups/model';
import type { PageQuery } from '../../src/groups/ports';
import { InvalidInputError } from '../../src/errors';

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

describe('member search over paged storage (src/groups/memberSearch.ts)', () => {
  const members: Member[] = Array.from({ length: 1_250 }, (_, i) => ({
    groupId: 'g',
    user: { id: `u${String(i).padStart(4, '0')}`, name: i % 100 === 7 ? `Ann ${i}` : `Person ${i}` },
    role: 'member',
    joinedAt: '2026-01-01T00:00:00.000Z',
  }));
  let reads = 0;
  /** Pages of the store (tokens are offsets), like Table Storage's listing. */
  async function list(query: PageQuery): Promise<Page<Member>> {
    reads++;
    const from = Number(query.continuationToken ?? 0);
    const items = members.slice(from, from + query.pageSize);
    return from + query.pageSize < members.length ? { items, continuationToken: String(from + query.pageSize) } : { items };
  }

  it('finds every match once across calls, each call reading a bounded slice', async () => {
    const found: string[] = [];
    let token: string | undefined;
    let calls = 0;
    do {
      reads = 0;
      const page = await searchMembers(list, 'ANN', { pageSize: 5, continuationToken: token });
      assert.ok(reads <= SEARCH_SCAN_ROWS / 100 + 1, `${reads} store pages in one call`);
      found.push(...page.items.map((m) => m.user.name));
      token = page.continuationToken;
      calls++;
    } while (token !== undefined && calls < 20);
    assert.deepEqual(
      found,
      members.filter((m) => m.user.name.startsWith('Ann')).map((m) => m.user.name),
    );
    assert.equal(found.length, 13);
  });

  it('refuses a token it did not make', async () => {
    await assert.rejects(searchMembers(list, 'ann', { pageSize: 5, continuationToken: 'garbage' }), InvalidInputError);
  });
});
