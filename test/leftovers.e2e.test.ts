import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { startTestApp, type TestApp } from './helpers/testApp';
import { messageActivity, TENANT_ID, testUser, type TestUser } from './helpers/activities';
import { Chat, textOf } from './helpers/chat';
import { enc, outboxRow, postPartition } from '../src/delivery/deliveryStore';
import { postRowKey } from '../src/storage/tablePostStore';
import { groupExportCsv, groupExportJson } from '../src/web/groupExport';

/**
 * Issue 17 item 8, nothing left behind: the real app and the real delivery engine on Azurite, then every table
 * read after a group's deletion, after retention, after a post's deletion and after an organization removal.
 * Kept on purpose (README, "Data retention"): a deleted post's tombstone (its number, time, who deleted it) and
 * the index from its request key to its group (a Teams undelete names only the message).
 */
const FAST = { pollMs: 50, laneIdleMs: 1_000, sweepMs: 2_000, backoffBaseMs: 50, flushMs: 20 };

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Nothing left behind: every table read after deletions', function () {
  this.timeout(90_000);
  let t: TestApp;
  let chat: Chat;

  before(async () => {
    t = await startTestApp({ MESSAGE_RETENTION_DAYS: '1' }, { deliveryTuning: FAST });
    chat = new Chat(t);
  });
  after(async () => {
    await t.stop();
  });

  const uid = (user: TestUser) => user.aadObjectId;

  /** Every row of every table of the app that names `needle` in a key or a value, as "table PK RK". */
  async function rowsNaming(needle: string): Promise<string[]> {
    const found: string[] = [];
    const wanted = [needle, enc(needle)];
    for (const [name, table] of Object.entries(t.app.tables) as Array<[string, TableClient]>) {
      for await (const row of table.listEntities()) {
        const text = JSON.stringify(row);
        if (wanted.some((w) => text.includes(w))) found.push(`${name} ${row.partitionKey} ${row.rowKey}`);
      }
    }
    return found;
  }

  async function groupWithPosts(name: string, members: TestUser[]): Promise<{ groupId: string; owner: TestUser }> {
    const owner = testUser(`Owner of ${name}`);
    const groupId = await chat.createGroup(owner, name);
    for (const m of members) {
      const invite = await t.app.groups.getInvite(groupId, { id: uid(owner), name: owner.name });
      await chat.say(m, `join ${invite.url}`);
    }
    for (const text of [`first post of ${name}`, `second post of ${name}`]) {
      const res = await t.post(messageActivity(t.channel.serviceUrl, owner, { text }));
      assert.equal(res.status, 200);
    }
    await until(
      'both posts delivered to every member',
      async () => (await deliveryRows(groupId)).filter((r) => r.st === 'sent').length === 2 * members.length,
    );
    return { groupId, owner };
  }

  async function deliveryRows(groupId: string): Promise<Array<{ partitionKey?: string; rowKey?: string; st?: string }>> {
    const filter = odata`PartitionKey gt ${`${enc(groupId)}|`} and PartitionKey lt ${`${enc(groupId)}}`}`;
    const rows = [];
    for await (const row of t.app.tables.deliveries.listEntities<{ st?: string }>({ queryOptions: { filter } })) rows.push(row);
    return rows;
  }

  it('deletes every row of a deleted group: its partition, indexes, invites, posts, deliveries, outbox and notices', async () => {
    const { groupId, owner } = await groupWithPosts('Gone Crew', [testUser('Ann Member'), testUser('Bob Member')]);
    assert.ok((await rowsNaming(groupId)).length > 0, 'the group has rows to begin with');
    // The admin's join notice is sent a little after the joins (batched): its record too must go.
    await until('the join notice sent', async () => (await rowsNaming(groupId)).some((row) => row.startsWith('deliveries oneoff ')));
    await chat.submit(owner, 'confirmDelete', { groupId });
    await until('no row of any table names the deleted group', async () => (await rowsNaming(groupId)).length === 0).catch(async (err) => {
      throw new Error(`${(err as Error).message}:\n${(await rowsNaming(groupId)).join('\n')}`);
    });
  });

  it('deletes the delivery rows and the request index of posts past retention, and keeps newer posts and their rows', async () => {
    const member = testUser('Cy Member');
    const { groupId, owner } = await groupWithPosts('Retained Crew', [member]);
    const oldKey = `old-${randomUUID()}`;
    const { seq: oldSeq } = await t.app.posts.accept({
      groupId,
      sender: { userId: uid(owner), name: owner.name, tenantId: TENANT_ID },
      text: 'soon ancient',
      createdAt: new Date().toISOString(),
      sourceKey: oldKey,
    });
    await t.app.delivery.postAccepted(groupId, oldSeq);
    await until('the post delivered', async () => {
      for await (const row of t.app.tables.deliveries.listEntities<{ st?: string }>({
        queryOptions: { filter: odata`PartitionKey eq ${postPartition(groupId, oldSeq)}` },
      }))
        if (row.st === 'sent') return true;
      return false;
    });
    // Three days pass for this post (the retention is one day).
    await t.app.tables.groups.updateEntity(
      { partitionKey: groupId, rowKey: postRowKey(oldSeq), createdAt: new Date(Date.now() - 3 * 86_400_000).toISOString() },
      'Merge',
    );
    assert.ok((await t.app.retention!.sweep()) >= 1);
    const left = (await rowsNaming(oldKey)).concat(
      (await deliveryRows(groupId))
        .filter((r) => r.partitionKey === postPartition(groupId, oldSeq))
        .map((r) => `deliveries ${r.partitionKey} ${r.rowKey}`),
    );
    assert.deepEqual(left, []);
    assert.equal(await t.app.posts.get(groupId, oldSeq), undefined);
    assert.ok(
      (await deliveryRows(groupId)).some((r) => r.partitionKey === postPartition(groupId, 1)),
      'newer posts keep their rows',
    );
  });

  /** The delivery rows of one post, and the activity ids its copies were sent as. */
  async function postRows(groupId: string, seq: number): Promise<Array<{ rowKey?: string; id?: string; del?: boolean }>> {
    const rows = [];
    for await (const row of t.app.tables.deliveries.listEntities<{ id?: string; del?: boolean }>({
      queryOptions: { filter: odata`PartitionKey eq ${postPartition(groupId, seq)}` },
    }))
      rows.push(row);
    return rows;
  }

  async function outboxHas(groupId: string, seq: number): Promise<boolean> {
    return t.app.tables.outbox.getEntity(groupId, outboxRow(seq)).then(
      () => true,
      () => false,
    );
  }

  it('keeps nothing of a deleted post once its copies are deleted: its rows, its text, its quotes; history and export show none', async () => {
    const ann = testUser('Ann Quoter');
    const bob = testUser('Bob Reader');
    const { groupId, owner } = await groupWithPosts('Scrubbed Crew', [ann, bob]);
    await chat.submit(ann, 'replyToPost', { groupId, seq: 1, replyText: 'an answer' });
    await until('the reply delivered', async () => (await postRows(groupId, 3)).filter((r) => r.id).length === 2);
    const { sourceKey } = (await t.app.posts.get(groupId, 1))!;
    const sentIds = (await postRows(groupId, 1)).map((r) => r.id!);
    assert.equal(sentIds.length, 2);
    assert.ok((await rowsNaming('first post of Scrubbed Crew')).length >= 2, 'the post and the quote in the reply, to begin with');

    assert.match(textOf(await chat.submit(owner, 'confirmDeletePost', { groupId, seq: 1 })), /deleted for everyone/);
    await until('both copies deleted in Teams', async () =>
      [ann, bob].every((m) =>
        t.channel.to(`a:personal-${m.id}`).some((s) => s.method === 'DELETE' && sentIds.some((id) => s.path.endsWith(id))),
      ),
    );
    await until('the delivery rows gone', async () => (await postRows(groupId, 1)).length === 0);
    await until('the deletion finished', async () => {
      for await (const d of t.app.posts.deletion.unfinished(new Date(Date.now() + 60_000).toISOString()))
        if (d.groupId === groupId) return false;
      return true;
    });

    assert.deepEqual(await rowsNaming('first post of Scrubbed Crew'), [], 'no text, no quote, anywhere');
    for (const id of sentIds) assert.deepEqual(await rowsNaming(id), [], 'no sent activity id');
    assert.deepEqual(await rowsNaming(postPartition(groupId, 1)), [], 'no delivery or retry row');
    assert.equal(await outboxHas(groupId, 1), false);
    assert.deepEqual(
      (await rowsNaming(sourceKey)).sort(),
      [`groups ${groupId} ${postRowKey(1)}`, `postsources ${sourceKey} post`],
      'only the tombstone and the index, as the README lists',
    );
    const tombstone = (await t.app.posts.get(groupId, 1))!;
    assert.deepEqual(
      [tombstone.text, tombstone.sender, tombstone.replyTo, tombstone.deletedBy?.id],
      ['', { userId: '', name: '', tenantId: '' }, undefined, uid(owner)],
    );
    assert.deepEqual((await t.app.posts.get(groupId, 3))!.replyTo, { seq: 1, senderName: '', preview: '', deleted: true });
    // The reply's delivered copies are rendered again without the quote.
    await until("the reply's copies updated", async () =>
      [owner, bob].every((m) => t.channel.to(`a:personal-${m.id}`).some((s) => s.method === 'PUT' && /a deleted post/.test(textOf([s])))),
    );

    const history = textOf(await chat.say(bob, 'history'));
    assert.match(history, /This post was deleted\./);
    assert.match(history, /a deleted post/);
    assert.doesNotMatch(history, /first post/);
    const group = (await t.app.groups.getGroup(groupId))!;
    async function* none<T>(): AsyncIterable<T> {}
    const csv = await groupExportCsv(group, none(), none(), t.app.posts.all(groupId));
    const json = await groupExportJson(group, none(), none(), t.app.posts.all(groupId));
    for (const exported of [csv, json]) {
      assert.doesNotMatch(exported, /first post/);
      assert.match(exported, /second post/);
    }
    assert.match(csv, /"post_deleted"/);
  });

  it('finishes a deletion that a crash cut short between the copy deletes and the row deletes: the sweep', async () => {
    const ann = testUser('Ann Crashed');
    const { groupId, owner } = await groupWithPosts('Crash Crew', [ann]);
    const partition = postPartition(groupId, 1);
    // The process dies once the copies are deleted in Teams: no delete of the post's rows is ever written.
    const deliveries = t.app.tables.deliveries;
    const submit = deliveries.submitTransaction.bind(deliveries);
    let refused = 0;
    deliveries.submitTransaction = async (actions) => {
      if (actions.every(([kind, entity]) => kind === 'delete' && entity.partitionKey === partition)) {
        refused++;
        throw new Error('the process died here');
      }
      return submit(actions);
    };
    try {
      assert.match(textOf(await chat.submit(owner, 'confirmDeletePost', { groupId, seq: 1 })), /deleted for everyone/);
      await until(
        'the copy deleted, and the row deletes cut short',
        async () => refused > 0 && (await postRows(groupId, 1)).every((r) => r.del),
      );
    } finally {
      deliveries.submitTransaction = submit;
    }
    assert.equal((await postRows(groupId, 1)).length, 1, 'the row is still there');
    assert.equal((await t.app.posts.get(groupId, 1))!.text, '', 'the text went at once');
    assert.equal(await t.app.deletedPosts.sweep(), 0, 'too recent for the sweep: the engine may still be at it');
    // Twenty minutes pass (the sweep takes deletions unfinished for ten).
    await t.app.tables.groups.updateEntity(
      { partitionKey: groupId, rowKey: postRowKey(1), deletedAt: new Date(Date.now() - 20 * 60_000).toISOString() },
      'Merge',
    );
    assert.ok((await t.app.deletedPosts.sweep()) >= 1);
    assert.deepEqual(await postRows(groupId, 1), []);
    assert.deepEqual(await rowsNaming(partition), []);
    assert.deepEqual(await rowsNaming('first post of Crash Crew'), []);
  });

  it("deletes a removed member's delivery rows with their copies in an organization group", async () => {
    const dee = testUser('Dee Removed');
    const eve = testUser('Eve Stays');
    const { groupId, owner } = await groupWithPosts('Org Crew', [dee, eve]);
    await t.app.groups.mapToOrganization({
      groupId,
      actor: { id: uid(owner), name: owner.name },
      verified: { tenantId: TENANT_ID, objectId: uid(owner), organizationName: 'Contoso' },
      idempotencyKey: randomUUID(),
    });
    await t.app.groups.removeMember(groupId, { user: { id: uid(owner), name: owner.name } }, uid(dee));
    await t.app.delivery.deleteCopiesFor(groupId, uid(dee));
    await until("the removed member's rows gone", async () => !(await deliveryRows(groupId)).some((r) => r.rowKey === enc(uid(dee))));
    assert.equal(t.channel.to(`a:personal-${dee.id}`).filter((s) => s.method === 'DELETE').length, 2, 'both copies deleted in Teams');
    assert.equal((await deliveryRows(groupId)).filter((r) => r.rowKey === enc(uid(eve))).length, 2, "the others' rows stay");
  });
});
