import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { startTestApp, type TestApp } from './helpers/testApp';
import { messageActivity, TENANT_ID, testUser, type TestUser } from './helpers/activities';
import { Chat } from './helpers/chat';
import { enc, postPartition } from '../src/delivery/deliveryStore';
import { postRowKey } from '../src/storage/tablePostStore';

/**
 * Issue 17 item 8, nothing left behind: the real app and the real delivery engine on Azurite, then every table
 * read after a group's deletion, after retention, and after an organization removal.
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
    for (const text of ['first post', 'second post']) {
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
