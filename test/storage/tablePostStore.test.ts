import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { odata } from '@azure/data-tables';
import { ForbiddenError } from '../../src/errors';
import type { Group, Member, UserRef } from '../../src/groups/model';
import { DEFAULT_POST_SETTINGS, type NewPost } from '../../src/groups/posts';
import { GroupService } from '../../src/groups/groupService';
import { TableGroupStore } from '../../src/storage/tableGroupStore';
import { TablePostStore, postRowKey } from '../../src/storage/tablePostStore';
import type { TableClients } from '../../src/storage/tables';
import { freshTables } from '../helpers/azurite';

const AT = '2025-01-02T03:04:05.000Z';
const ann: UserRef = { id: 'aad-ann', name: 'Ann' };
const bob: UserRef = { id: 'aad-bob', name: 'Bob' };

describe('TablePostStore (Azurite)', () => {
  let tables: TableClients;
  let groups: TableGroupStore;
  let store: TablePostStore;

  before(async () => {
    ({ clients: tables } = await freshTables());
    groups = new TableGroupStore(tables);
    store = new TablePostStore(tables);
  });

  async function groupWith(...others: UserRef[]): Promise<string> {
    const id = `g${randomUUID().replace(/-/g, '').slice(0, 20)}`;
    const group: Group = { id, name: `Group ${id}`, createdBy: ann, createdAt: AT, status: 'private', memberCount: 1 };
    const ref = JSON.stringify({ conversation: { id: 'a:ann', tenantId: 'TENANT-A' }, serviceUrl: 'http://127.0.0.1/' });
    await groups.insertGroup({
      group,
      linkNonce: 'n',
      creator: { groupId: id, user: ann, role: 'admin', joinedAt: AT, conversationRef: ref },
      audit: { groupId: id, at: AT, action: 'created', actor: ann },
    });
    for (const user of others) {
      const m: Member = { groupId: id, user, role: 'member', joinedAt: AT };
      await groups.addMember(m, { groupId: id, at: AT, action: 'joined', actor: user });
    }
    return id;
  }

  function newPost(
    groupId: string,
    sender: UserRef,
    text: string,
    sourceKey = randomUUID().replace(/-/g, ''),
    createdAt = new Date().toISOString(),
  ): NewPost {
    return { groupId, sender: { userId: sender.id, name: sender.name, tenantId: 'tenant-a' }, text, createdAt, sourceKey };
  }

  it("numbers a group's posts 1, 2, 3 in storage, with the post, its idempotency row and the counter", async () => {
    const groupId = await groupWith(bob);
    assert.deepEqual(await store.accept(newPost(groupId, ann, 'one')), { seq: 1, created: true });
    assert.deepEqual(await store.accept(newPost(groupId, bob, 'two')), { seq: 2, created: true });
    const fresh = new TablePostStore(tables); // another instance: no cached counter
    assert.deepEqual(await fresh.accept(newPost(groupId, ann, 'three')), { seq: 3, created: true });
    const keys: string[] = [];
    for await (const row of tables.groups.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${groupId}` } }))
      keys.push(row.rowKey!);
    assert.ok(
      keys.includes('postseq') && keys.includes(postRowKey(3)) && keys.filter((k) => k.startsWith('postsrc|')).length === 3,
      keys.join(' '),
    );
    assert.equal((await store.get(groupId, 2))?.text, 'two');
  });

  it('accepts a request once: the same source key again answers the first seq and writes nothing', async () => {
    const groupId = await groupWith();
    const post = newPost(groupId, ann, 'hello', 'same-key-1');
    const first = await store.accept(post);
    const again = await Promise.all([store.accept(post), new TablePostStore(tables).accept(post)]);
    assert.deepEqual(first, { seq: 1, created: true });
    assert.deepEqual(again, [
      { seq: 1, created: false },
      { seq: 1, created: false },
    ]);
    assert.deepEqual(await store.findBySource('same-key-1'), { groupId, seq: 1 });
    const twice = await Promise.all([
      store.accept(newPost(groupId, ann, 'x', 'same-key-2')),
      store.accept(newPost(groupId, ann, 'x', 'same-key-2')),
    ]);
    assert.deepEqual(
      twice,
      [
        { seq: 2, created: true },
        { seq: 2, created: false },
      ],
      'the same request twice in one moment',
    );
    assert.equal(await store.get(groupId, 3), undefined);
  });

  it('gives 20 concurrent posts (two instances) 20 distinct numbers 1..20 with nothing lost', async () => {
    const groupId = await groupWith(bob);
    const other = new TablePostStore(tables);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).accept(newPost(groupId, i % 3 ? ann : bob, `post ${i}`))),
    );
    assert.deepEqual(
      outcomes.map((o) => o.seq).sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const texts = new Set<string>();
    for await (const post of store.all(groupId)) texts.add(post.text);
    assert.equal(texts.size, 20);
  });

  it('refuses a post from someone who is not a member at the moment of the write', async () => {
    const groupId = await groupWith();
    await assert.rejects(store.accept(newPost(groupId, bob, 'sneaky')), ForbiddenError);
    assert.deepEqual(await store.accept(newPost(groupId, ann, 'fine')), { seq: 1, created: true });
  });

  it('refuses a post whose sender was removed between the rules check and the write, and accepts one whose row only changed', async () => {
    const service = new GroupService({ store: groups, appSecret: 'k'.repeat(48), publicUrl: 'http://127.0.0.1' });
    const groupId = await groupWith(bob);
    const checked = (await store.postingContext(groupId, bob.id))!.member!;
    await store.setMuted(groupId, bob.id, true); // a change that is no removal: the post is still accepted
    assert.deepEqual(await store.accept({ ...newPost(groupId, bob, 'muted but a member'), senderMembership: checked.version }), {
      seq: 1,
      created: true,
    });
    const again = (await store.postingContext(groupId, bob.id))!.member!;
    await service.removeMember(groupId, { user: ann }, bob.id);
    await assert.rejects(store.accept({ ...newPost(groupId, bob, 'after removal'), senderMembership: again.version }), ForbiddenError);
    assert.equal((await store.postingContext(groupId, bob.id))?.member, undefined, 'a ban is no membership');
    const texts: string[] = [];
    for await (const post of store.all(groupId)) texts.push(post.text);
    assert.deepEqual(texts, ['muted but a member']);
  });

  it('applies an edit and a delete once each, in time order; a delete leaves a tombstone without text, sender or quote', async () => {
    const groupId = await groupWith();
    await store.accept(newPost(groupId, ann, 'draft', undefined, '2025-01-01T00:00:00.000Z'));
    const edit = { kind: 'edit' as const, text: 'final', at: '2025-01-01T00:01:00.000Z' };
    assert.equal((await store.change(groupId, 1, edit))?.applied, true);
    assert.equal((await store.change(groupId, 1, edit))?.applied, false, 'the same edit again');
    assert.equal(
      (await store.change(groupId, 1, { kind: 'edit', text: 'older', at: '2025-01-01T00:00:30.000Z' }))?.applied,
      false,
      'an older edit',
    );
    const sourceKey = (await store.get(groupId, 1))!.sourceKey;
    assert.deepEqual(await store.findBySource(sourceKey), { groupId, seq: 1 });
    await store.change(groupId, 1, { kind: 'delete', at: '2025-01-01T00:02:00.000Z', by: ann });
    const deleted = await store.get(groupId, 1);
    assert.equal(deleted?.deletedAt, '2025-01-01T00:02:00.000Z');
    assert.deepEqual(deleted?.deletedBy, ann);
    assert.deepEqual([deleted?.text, deleted?.sender.name, deleted?.sender.userId, deleted?.editedAt], ['', '', '', undefined]);
    assert.equal(deleted?.version, 3);
    assert.equal(deleted?.createdAt, '2025-01-01T00:00:00.000Z', 'its place in time stays');
    assert.equal(await store.findBySource(sourceKey), undefined, 'its idempotency row went with it');
    assert.equal(await store.groupOfSource(sourceKey), groupId, 'the index still finds the group (for an undelete)');
    assert.equal(
      (await store.change(groupId, 1, { kind: 'edit', text: 'back?', at: '2025-01-01T00:03:00.000Z' }))?.applied,
      false,
      'a deleted post stays deleted',
    );
    assert.deepEqual(await store.getPost(groupId, 1), {
      groupId,
      seq: 1,
      senderUserId: '',
      createdAt: '2025-01-01T00:00:00.000Z',
      deleted: true,
      version: 3,
    });
  });

  it('scrubs the quote of a deleted post from its replies, and lists the deletion as unfinished until marked', async () => {
    const groupId = await groupWith();
    await store.accept(newPost(groupId, ann, 'the question', undefined, '2025-01-01T00:00:00.000Z'));
    await store.accept({
      ...newPost(groupId, ann, 'the answer', undefined, '2025-01-01T00:01:00.000Z'),
      replyTo: { seq: 1, senderName: ann.name, preview: 'the question' },
    });
    await store.change(groupId, 1, { kind: 'delete', at: '2025-01-01T00:02:00.000Z', by: ann });
    const unfinished = async () => {
      const found: number[] = [];
      for await (const d of store.deletion.unfinished('2025-01-01T00:03:00.000Z')) if (d.groupId === groupId) found.push(d.seq);
      return found;
    };
    assert.deepEqual(await unfinished(), [1]);
    assert.deepEqual(await store.deletion.scrubReplies(groupId, 1), [2]);
    assert.deepEqual(await store.deletion.scrubReplies(groupId, 1), [], 'once');
    const reply = (await store.get(groupId, 2))!;
    assert.deepEqual(reply.replyTo, { seq: 1, senderName: '', preview: '', deleted: true });
    assert.equal(reply.version, 2, 'its copies are rendered again');
    assert.equal(reply.text, 'the answer');
    await store.deletion.markFinished(groupId, 1);
    assert.deepEqual(await unfinished(), []);
  });

  it('pages history 20 at a time, oldest first in a page, and starts at the join time when asked', async () => {
    const groupId = await groupWith();
    for (let i = 1; i <= 45; i++)
      await store.accept(newPost(groupId, ann, `p${i}`, undefined, `2025-01-01T00:${String(i).padStart(2, '0')}:00.000Z`));
    const last = await store.page(groupId, { pageSize: 20 });
    assert.deepEqual(
      last.posts.map((p) => p.seq),
      Array.from({ length: 20 }, (_, i) => 26 + i),
    );
    assert.equal(last.earlier, 26);
    const middle = await store.page(groupId, { pageSize: 20, before: 26 });
    assert.deepEqual([middle.posts[0]!.seq, middle.posts.at(-1)!.seq, middle.earlier], [6, 25, 6]);
    const first = await store.page(groupId, { pageSize: 20, before: 6 });
    assert.deepEqual([first.posts.map((p) => p.seq), first.earlier], [[1, 2, 3, 4, 5], undefined]);
    const sinceJoin = await store.page(groupId, { pageSize: 20, visibleFrom: '2025-01-01T00:40:00.000Z' });
    assert.deepEqual([sinceJoin.posts.map((p) => p.seq), sinceJoin.earlier], [[40, 41, 42, 43, 44, 45], undefined]);
  });

  it('deletes posts past retention with their idempotency and index rows, and keeps numbering after them', async () => {
    const groupId = await groupWith();
    await store.accept(newPost(groupId, ann, 'old', 'old-key', '2000-01-01T00:00:00.000Z'));
    await store.accept(newPost(groupId, ann, 'new', 'new-key', new Date().toISOString()));
    const deleted = await store.deleteOlderThan('2001-01-01T00:00:00.000Z');
    assert.ok(deleted >= 1);
    assert.equal(await store.get(groupId, 1), undefined);
    assert.equal(await store.findBySource('old-key'), undefined);
    assert.equal((await store.get(groupId, 2))?.text, 'new');
    assert.equal((await store.accept(newPost(groupId, ann, 'next'))).seq, 3);
    const page = await store.page(groupId, { pageSize: 20 });
    assert.deepEqual([page.posts.map((p) => p.seq), page.earlier], [[2, 3], undefined]);
  });

  it("deletes a tombstone past retention with its index, but leaves the index and idempotency row of its undelete's post", async () => {
    const groupId = await groupWith();
    const [undone, gone] = [`undone-${randomUUID()}`, `gone-${randomUUID()}`];
    await store.accept(newPost(groupId, ann, 'said twice', undone, '2000-01-01T00:00:00.000Z'));
    await store.accept(newPost(groupId, ann, 'said once', gone, '2000-01-01T00:00:00.000Z'));
    for (const seq of [1, 2]) await store.change(groupId, seq, { kind: 'delete', at: '2000-01-02T00:00:00.000Z', by: ann });
    // The undelete: a fresh post under the same request key.
    assert.deepEqual(await store.accept(newPost(groupId, ann, 'said twice', undone)), { seq: 3, created: true });
    assert.ok((await store.deleteOlderThan('2001-01-01T00:00:00.000Z')) >= 2);
    assert.deepEqual([await store.get(groupId, 1), await store.get(groupId, 2)], [undefined, undefined]);
    assert.deepEqual(await store.findBySource(undone), { groupId, seq: 3 });
    assert.equal(await store.groupOfSource(undone), groupId);
    assert.equal(await store.groupOfSource(gone), undefined, "the tombstone's index went with it");
  });

  it('lists recipients in pages with their tenant, conversation and mute, and one member at a time', async () => {
    const users = Array.from({ length: 5 }, (_, i) => ({ id: `aad-m${i}`, name: `M${i}` }));
    const groupId = await groupWith(...users);
    assert.equal(await store.setMuted(groupId, 'aad-m2', true), true);
    assert.equal(await store.setMuted(groupId, 'aad-stranger', true), false);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.listRecipients(groupId, cursor, 2);
      seen.push(...page.recipients.map((r) => r.userId));
      cursor = page.next;
      pages++;
    } while (cursor && pages < 10);
    assert.deepEqual(seen.sort(), ['aad-ann', ...users.map((u) => u.id)].sort());
    const annAsRecipient = await store.getRecipient(groupId, 'aad-ann');
    assert.equal(annAsRecipient?.tenantId, 'tenant-a');
    assert.equal((annAsRecipient?.conversationRef as { conversation: { id: string } }).conversation.id, 'a:ann');
    assert.equal((await store.getRecipient(groupId, 'aad-m2'))?.muted, true);
    assert.equal(await store.getRecipient(groupId, 'aad-stranger'), undefined);
  });

  it('keeps the settings on the group row (history for new members on by default)', async () => {
    const groupId = await groupWith();
    assert.deepEqual((await store.groupView(groupId))?.settings, DEFAULT_POST_SETTINGS);
    const changed = { onlyAdminsPost: true, historyForNewMembers: false, membersSeeEachOther: false, memberPostsTo: 'admins' as const };
    await store.setSettings(groupId, { ...changed, joinNotices: 'off' });
    assert.deepEqual((await store.postingContext(groupId, 'aad-ann'))?.settings, { ...changed, joinNotices: 'off' });
    // Back to automatic join notices: the choice is cleared, not kept.
    await store.setSettings(groupId, changed);
    assert.deepEqual((await store.groupView(groupId))?.settings, changed);
    assert.equal((await groups.getGroup(groupId))?.group.name, `Group ${groupId}`);
  });

  it('loses the posts with the group when the group is deleted', async () => {
    const groupId = await groupWith();
    await store.accept(newPost(groupId, ann, 'bye'));
    await groups.deleteGroup((await groups.getGroup(groupId))!);
    assert.equal(await store.get(groupId, 1), undefined);
    const left: string[] = [];
    for await (const row of tables.groups.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${groupId}` } }))
      left.push(row.rowKey!);
    assert.deepEqual(left, []);
  });
});
