import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { odata } from '@azure/data-tables';
import { startTestApp, type TestApp } from './helpers/testApp';
import { messageActivity, TENANT_ID, testUser, type TestUser } from './helpers/activities';
import { Chat, actionsIn, buttonData, cardsIn, textOf } from './helpers/chat';
import type { SentActivity } from './helpers/fakeChannel';
import { validateCard } from '../cards/validate';
import { enc } from '../src/delivery/deliveryStore';

/**
 * Issue 10, delivered: the real app with the real delivery engine (storage queues and tables on the shared
 * Azurite), driven through /api/messages, with the fake Teams channel receiving the engine's sends, updates and
 * deletes. Every wait polls what the channel received (or the engine's outbox) against a deadline.
 */

/** Engine timings for tests: short polls, quick lane hand-back and backoff. */
const FAST = { pollMs: 50, laneIdleMs: 1_000, sweepMs: 2_000, backoffBaseMs: 50, flushMs: 20 };
const DEADLINE_MS = 20_000;

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const chatOf = (user: TestUser) => `a:personal-${user.id}`;
const uid = (user: TestUser) => user.aadObjectId;

/** The conversation as one test app sees it: groups, members, and what each member's chat received. */
function world(get: () => TestApp) {
  const chat = () => new Chat(get());

  async function join(user: TestUser, groupId: string, admin: TestUser, id?: string): Promise<void> {
    const t = get();
    const invite = await t.app.groups.getInvite(groupId, { id: uid(admin), name: admin.name });
    const res = await t.post(messageActivity(t.channel.serviceUrl, user, { text: `join ${invite.url}`, ...(id ? { id } : {}) }));
    assert.equal(res.status, 200);
  }

  async function groupWith(name: string, memberNames: string[]): Promise<{ groupId: string; owner: TestUser; members: TestUser[] }> {
    const owner = testUser(`Owner of ${name}`);
    const groupId = await chat().createGroup(owner, name);
    const members = memberNames.map((n) => testUser(n));
    for (const m of members) await join(m, groupId, owner);
    return { groupId, owner, members };
  }

  /** The post copies a member's chat received (the engine's sends carry the notification summary), in order. */
  function copiesTo(user: TestUser): SentActivity[] {
    return get()
      .channel.to(chatOf(user))
      .filter((s) => s.method === 'POST' && typeof s.activity['summary'] === 'string');
  }

  function callsTo(user: TestUser, method: 'PUT' | 'DELETE'): SentActivity[] {
    return get()
      .channel.to(chatOf(user))
      .filter((s) => s.method === method);
  }

  /** The engine's outbox has nothing left of this group: every accepted post is fanned out. */
  async function fannedOut(groupId: string): Promise<void> {
    await until(`fan-out of ${groupId} finished`, async () => {
      const filter = odata`PartitionKey eq ${enc(groupId)}`;
      for await (const row of get().app.tables.outbox.listEntities({ queryOptions: { filter } })) return row === undefined;
      return true;
    });
  }

  async function say(user: TestUser, text: string, id?: string): Promise<void> {
    const t = get();
    const res = await t.post(messageActivity(t.channel.serviceUrl, user, { text, ...(id ? { id } : {}) }));
    assert.equal(res.status, 200, res.body);
  }

  return { chat, join, groupWith, copiesTo, callsTo, fannedOut, say };
}

describe('Group conversation, delivered: the real engine through /api/messages to the fake Teams channel', function () {
  this.timeout(60_000);
  let t: TestApp;
  const w = world(() => t);
  const chat = () => w.chat();

  before(async () => {
    t = await startTestApp({}, { deliveryTuning: FAST });
  });
  after(async () => {
    await t.stop();
  });
  afterEach(() => {
    t.channel.refuse = undefined;
  });

  it('delivers a post to every other member once, with the summary "Ann · Group: first words", and never to the sender', async () => {
    const { groupId, owner, members } = await w.groupWith('Field Sales North', ['Ann', 'Bob', 'Cleo']);
    const [ann, bob, cleo] = members as [TestUser, TestUser, TestUser];
    await w.say(ann, 'Truck 4 is late today, please call the depot');
    await w.fannedOut(groupId);
    for (const member of [owner, bob, cleo]) {
      const copies = w.copiesTo(member);
      assert.equal(copies.length, 1, `${member.name} got the post once`);
      assert.equal(copies[0]!.activity['summary'], 'Ann · Field Sales North: Truck 4 is late today, please call the depot');
      const card = cardsIn(copies)[0]!;
      assert.deepEqual(validateCard(card), []);
      assert.match(textOf(card), /Truck 4 is late today, please call the depot/);
    }
    assert.deepEqual(w.copiesTo(ann), [], 'the sender gets no copy');
    assert.ok(
      actionsIn(cardsIn(w.copiesTo(owner))[0]!).some((a) => a.data?.['verb'] === 'deletePost'),
      'an admin can delete it',
    );
    assert.ok(!actionsIn(cardsIn(w.copiesTo(bob))[0]!).some((a) => a.data?.['verb'] === 'deletePost'), 'a member cannot');
  });

  it('sends a reply from a member\'s card to the others, and keeps "You replied in ..." in the replier\'s chat', async () => {
    const { groupId, owner, members } = await w.groupWith('Depot Crew', ['Ann', 'Bob', 'Cleo']);
    const [ann, bob, cleo] = members as [TestUser, TestUser, TestUser];
    await w.say(ann, 'Who can take the 6 am shift?');
    await until('Bob has the post', () => w.copiesTo(bob).length === 1);
    const send = buttonData(cardsIn(w.copiesTo(bob))[0]!, 'replyToPost');
    const answer = await chat().submit(bob, 'replyToPost', { ...send, replyText: 'I can' });
    assert.equal(textOf(answer), 'You replied in Depot Crew to Ann: I can');
    await w.fannedOut(groupId);
    for (const member of [ann, cleo, owner]) {
      const reply = w.copiesTo(member).find((c) => /I can/.test(textOf([c])));
      assert.ok(reply, `${member.name} got the reply`);
      assert.equal(reply.activity['summary'], 'Bob · Depot Crew: I can');
      assert.match(textOf([reply]), /replying to\s+Ann: Who can take the 6 am shift\?/);
    }
    assert.equal(w.copiesTo(bob).length, 1, 'the replier gets no copy of the reply');
  });

  it('brings a burst of 10 posts from two members to a third in the order the group numbered them', async () => {
    const { groupId, members } = await w.groupWith('Burst Room', ['Ann', 'Bob', 'Cleo']);
    const [ann, bob, cleo] = members as [TestUser, TestUser, TestUser];
    await Promise.all(
      [ann, bob].map(async (m) => {
        for (let i = 1; i <= 5; i++) await w.say(m, `${m.name} burst ${i}`);
      }),
    );
    await w.fannedOut(groupId);
    const numbered: string[] = [];
    for await (const post of t.app.posts.all(groupId)) numbered.push(post.text);
    assert.equal(numbered.length, 10);
    const received = w.copiesTo(cleo).map((c) => /(\w+ burst \d+)/.exec(textOf([c]))![1]);
    assert.deepEqual(received, numbered, 'each post once, in sequence order');
    assert.deepEqual(
      w.copiesTo(ann).map((c) => /(\w+ burst \d+)/.exec(textOf([c]))![1]),
      numbered.filter((p) => p.startsWith('Bob')),
    );
  });

  it('stops delivering to a member who mutes, resumes when they unmute, and stops for good when they leave', async () => {
    const { groupId, members } = await w.groupWith('Quiet Please', ['Ann', 'Bob', 'Cleo']);
    const [ann, bob, cleo] = members as [TestUser, TestUser, TestUser];
    assert.match(textOf(await chat().say(bob, 'mute')), /is muted/);
    await w.say(ann, 'while Bob is muted');
    await w.fannedOut(groupId);
    assert.equal(w.copiesTo(cleo).length, 1);
    assert.deepEqual(w.copiesTo(bob), [], 'muted: nothing delivered');
    assert.match(textOf(await chat().say(bob, 'unmute')), /unmuted/);
    await w.say(ann, 'Bob is back');
    await w.fannedOut(groupId);
    assert.deepEqual(
      w.copiesTo(bob).map((c) => /Bob is back/.test(textOf([c]))),
      [true],
      'unmuted: delivered again (and not the muted one)',
    );
    await chat().submit(cleo, 'confirmLeave', { groupId });
    await w.say(ann, 'after Cleo left');
    await w.fannedOut(groupId);
    assert.equal(w.copiesTo(bob).length, 2);
    assert.equal(w.copiesTo(cleo).length, 2, 'nothing after leaving');
  });

  it("updates every copy when the sender edits, deletes them on the sender's delete, and sends the undeleted text as a new post", async () => {
    const { groupId, members } = await w.groupWith('Edit Desk', ['Ann', 'Bob', 'Cleo']);
    const [ann, bob, cleo] = members as [TestUser, TestUser, TestUser];
    const id = `act-${randomUUID()}`;
    await w.say(ann, 'meet at 4', id);
    await w.fannedOut(groupId);
    const change = (type: 'messageUpdate' | 'messageDelete', eventType: string, timestamp: string, text?: string) => ({
      ...messageActivity(t.channel.serviceUrl, ann, { id, text }),
      type,
      timestamp,
      channelData: { tenant: { id: TENANT_ID }, eventType },
    });
    assert.equal((await t.post(change('messageUpdate', 'editMessage', '2030-01-01T00:00:01.000Z', 'meet at 5'))).status, 200);
    for (const member of [bob, cleo]) {
      await until(`${member.name}'s copy updated`, () => w.callsTo(member, 'PUT').length === 1);
      const [put] = w.callsTo(member, 'PUT');
      assert.equal(
        put!.path.endsWith(`/activities/${encodeURIComponent(w.copiesTo(member)[0]!.id!)}`),
        true,
        'the delivered copy, by its activity id',
      );
      assert.match(textOf([put!]), /meet at 5/);
      assert.equal(put!.activity['summary'], 'Ann · Edit Desk: meet at 5');
    }
    await t.post(change('messageDelete', 'softDeleteMessage', '2030-01-01T00:00:02.000Z'));
    for (const member of [bob, cleo]) {
      await until(`${member.name}'s copy deleted`, () => w.callsTo(member, 'DELETE').length === 1);
      assert.ok(w.callsTo(member, 'DELETE')[0]!.path.endsWith(`/activities/${encodeURIComponent(w.copiesTo(member)[0]!.id!)}`));
    }
    // Nothing about the deleted post is kept: its delivery rows go after the deletes.
    await until("the deleted post's delivery rows gone", async () => {
      for await (const row of t.app.tables.deliveries.listEntities({
        queryOptions: { filter: odata`PartitionKey eq ${`${enc(groupId)}|0000000001`}` },
      }))
        return row === undefined;
      return true;
    });
    await t.post(change('messageUpdate', 'undeleteMessage', '2030-01-01T00:00:03.000Z', 'meet at 5'));
    for (const member of [bob, cleo]) {
      await until(`${member.name} got the post again`, () => w.copiesTo(member).length === 2);
      assert.match(textOf([w.copiesTo(member)[1]!]), /meet at 5/);
    }
    assert.equal((await t.app.posts.get(groupId, 2))?.text, 'meet at 5', 'a fresh post, number 2');
    assert.match(textOf(t.channel.to(chatOf(ann)).slice(-1)), /posted to \*\*Edit Desk\*\* again/);
    assert.deepEqual(w.copiesTo(ann), []);
  });

  it("deletes every copy when an admin uses the card's Delete post", async () => {
    const { groupId, owner, members } = await w.groupWith('Moderated Room', ['Ann', 'Bob']);
    const [ann, bob] = members as [TestUser, TestUser];
    await w.say(ann, 'buy cheap watches');
    await w.fannedOut(groupId);
    const del = buttonData(cardsIn(w.copiesTo(owner))[0]!, 'deletePost');
    assert.match(textOf(await chat().submit(owner, 'deletePost', del)), /Delete this post for everyone\?/);
    assert.match(textOf(await chat().submit(owner, 'confirmDeletePost', { groupId: del.groupId, seq: del.seq })), /deleted for everyone/);
    for (const member of [owner, bob]) await until(`${member.name}'s copy deleted`, () => w.callsTo(member, 'DELETE').length === 1);
  });

  it('relays a post Teams delivers twice (the same activity id) once', async () => {
    const { groupId, members } = await w.groupWith('Twice Told', ['Ann', 'Bob']);
    const [ann, bob] = members as [TestUser, TestUser];
    await w.say(ann, 'warm up');
    const activity = messageActivity(t.channel.serviceUrl, ann, { text: 'said once', id: `act-${randomUUID()}` });
    await Promise.all([t.post(activity), t.post(activity)]);
    await t.post(activity);
    await w.fannedOut(groupId);
    assert.deepEqual(
      w.copiesTo(bob).map((c) => /said once|warm up/.exec(textOf([c]))![0]),
      ['warm up', 'said once'],
    );
  });

  it('tells the admins of each join once, through the engine, even when Teams delivers the join again', async () => {
    const { groupId, owner } = await w.groupWith('Join Desk', []);
    const noticesOf = (name: string) => t.channel.to(chatOf(owner)).filter((s) => new RegExp(`${name} joined Join Desk`).test(textOf([s])));
    const dana = testUser('Dana');
    const joinId = `act-${randomUUID()}`;
    await Promise.all([w.join(dana, groupId, owner, joinId), w.join(dana, groupId, owner, joinId)]);
    await w.join(dana, groupId, owner, joinId);
    await until('the notice of Dana', () => noticesOf('Dana').length >= 1);
    // A later join's notice goes out after it: by then a second notice of Dana would have gone out too.
    await w.join(testUser('Eli'), groupId, owner);
    await until('the notice of Eli', () => noticesOf('Eli').length >= 1);
    assert.equal(noticesOf('Dana').length, 1);
    assert.equal(noticesOf('Eli').length, 1);
    assert.deepEqual(validateCard(cardsIn(noticesOf('Dana'))[0]!), []);
  });

  it('deletes the copies delivered to a member removed from a group the organization owns (not in a private group)', async () => {
    const org = await w.groupWith('Owned Group', ['Ann', 'Bob']);
    const priv = await w.groupWith('Private Group', ['Ann', 'Bob']);
    await t.app.groups.mapToOrganization({
      groupId: org.groupId,
      actor: { id: uid(org.owner), name: org.owner.name },
      verified: { tenantId: TENANT_ID, objectId: uid(org.owner), organizationName: 'Contoso' },
      idempotencyKey: `map-${org.groupId}`,
    });
    for (const g of [org, priv]) {
      await w.say(g.members[0]!, `first in ${g.groupId}`);
      await w.say(g.members[0]!, `second in ${g.groupId}`);
      await w.fannedOut(g.groupId);
    }
    const bob = org.members[1]!;
    const delivered = w
      .copiesTo(bob)
      .filter((c) => textOf([c]).includes(org.groupId))
      .map((c) => c.id);
    assert.equal(delivered.length, 2);
    assert.match(textOf(await chat().submit(org.owner, 'confirmRemove', { groupId: org.groupId, userId: uid(bob) })), /Removed .* from /);
    await until("Bob's two copies deleted", () => w.callsTo(bob, 'DELETE').length === 2);
    assert.deepEqual(
      w
        .callsTo(bob, 'DELETE')
        .map((d) => decodeURIComponent(d.path.split('/').at(-1)!))
        .sort(),
      [...delivered].sort(),
    );
    const privBob = priv.members[1]!;
    await chat().submit(priv.owner, 'confirmRemove', { groupId: priv.groupId, userId: uid(privBob) });
    // The organization group's deletions above went through the same lane; give the private removal its chance.
    await w.say(priv.members[0]!, `third in ${priv.groupId}`);
    await w.fannedOut(priv.groupId);
    assert.deepEqual(w.callsTo(privBob, 'DELETE'), [], 'a private group keeps what it delivered');
  });

  it('reports delivery progress in /healthz (with ?detail, or by itself when delivery stalls)', async () => {
    assert.deepEqual(await (await fetch(`${t.app.url}/healthz`)).json(), { status: 'ok' }, 'all well: the short answer');
    const res = await fetch(`${t.app.url}/healthz?detail`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; delivery?: { progressing: boolean; receiptRaces: number } };
    assert.equal(body.status, 'ok');
    assert.equal(body.delivery?.progressing, true);
    assert.equal(typeof body.delivery?.receiptRaces, 'number');
  });

  it("tells admins in Group Info how many members can't be reached (Teams answered 403)", async () => {
    const { groupId, owner, members } = await w.groupWith('Reach Test', ['Ann', 'Bob', 'Cleo']);
    const [ann, bob, cleo] = members as [TestUser, TestUser, TestUser];
    t.channel.refuse = ({ conversationId }) => ([chatOf(bob), chatOf(cleo)].includes(conversationId) ? { status: 403 } : undefined);
    await w.say(ann, 'can everyone see this?');
    await w.fannedOut(groupId);
    t.channel.refuse = undefined;
    const info = await chat().submit(owner, 'showGroupInfo', { groupId });
    assert.match(textOf(info), /2 members can't be reached \(they blocked or removed the app\)/);
    assert.deepEqual(validateCard(cardsIn(info).at(-1)!), []);
    assert.doesNotMatch(textOf(await chat().submit(ann, 'showGroupInfo', { groupId })), /can't be reached/, 'members are not told');
  });
});

describe('Group conversation, delivered: Teams throttling, and members who go mid fan-out', function () {
  this.timeout(60_000);
  let t: TestApp;
  const w = world(() => t);

  before(async () => {
    // One recipient per page and one call at a time: the rows after the first two are checked against the group
    // only after the pause.
    t = await startTestApp({}, { deliveryTuning: { ...FAST, chunkSize: 1, maxInFlight: 1 } });
  });
  after(async () => {
    await t.stop();
  });

  it('waits out a 429 for its Retry-After, then delivers every copy once, skipping those who left, were removed or muted meanwhile', async () => {
    const { groupId, owner, members } = await w.groupWith('Big Room', ['Ann', 'M1', 'M2', 'M3', 'M4', 'M5']);
    const ann = members[0]!;
    // The engine sends in the order of its delivery rows (by user id); the 429 comes on the first send.
    const recipients = [owner, ...members.slice(1)].sort((a, b) => (enc(uid(a)) < enc(uid(b)) ? -1 : 1));
    const [leaver, removed, muter] = recipients.slice(2).filter((r) => r !== owner) as [TestUser, TestUser, TestUser];
    let throttled = false;
    t.channel.refuse = ({ method, activity }) => {
      if (throttled || method !== 'POST' || typeof activity['summary'] !== 'string') return undefined;
      throttled = true;
      return { status: 429, retryAfterSeconds: 3 };
    };
    await w.say(ann, 'big news');
    await until('Teams throttled the first send', () => t.channel.refused.length === 1);
    const throttledAt = t.channel.refused[0]!.at;
    // During the pause: one leaves, one is removed, one mutes.
    await w.chat().submit(leaver, 'confirmLeave', { groupId });
    await w.chat().submit(owner, 'confirmRemove', { groupId, userId: uid(removed) });
    await w.chat().say(muter, 'mute');
    await w.fannedOut(groupId);
    const delivered = recipients.filter((r) => w.copiesTo(r).length > 0);
    assert.deepEqual(
      delivered.map((r) => r.name),
      recipients.filter((r) => ![leaver, removed, muter].includes(r)).map((r) => r.name),
    );
    for (const r of delivered) assert.equal(w.copiesTo(r).length, 1, `${r.name} once`);
    const firstCopy = Math.min(...delivered.map((r) => w.copiesTo(r)[0]!.at));
    assert.ok(firstCopy >= throttledAt + 2_900, `no send within Retry-After (first copy ${firstCopy - throttledAt} ms after the 429)`);
    assert.equal(t.channel.refused.length, 1);
  });
});
