import assert from 'node:assert/strict';
import { OutboxStore } from '../../src/delivery/outboxStore';
import { chatOf, EngineWorld, waitForOutboxEmpty } from './engineHarness';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Delivery engine: fan-out', function () {
  this.timeout(60_000);
  let world: EngineWorld;

  afterEach(async () => {
    await world?.close();
  });

  it('delivers a post once to every member but the sender, the muted, the departed and those who joined later', async () => {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const members = [...world.addMembers('g1', 90, 'tenant-a'), ...world.addMembers('g1', 40, 'tenant-b')];
    const sender = members[0]!;
    const muted = members[5]!;
    const departed = members[6]!;
    const late = members[7]!;
    world.source.addMember('g1', { ...muted, muted: true });
    world.source.addMember('g1', { ...late, joinedAt: new Date(Date.now() + 60_000).toISOString() });
    world.source.addPost({ groupId: 'g1', seq: 1, senderUserId: sender.userId, text: 'hello all' });
    const engine = world.engine();
    await engine.start();
    await engine.postAccepted('g1', 1);
    await engine.postAccepted('g1', 1); // a redelivered post is the same post
    world.source.removeMember('g1', departed.userId); // left after the post was accepted: no copy

    const expected = members.filter((m) => ![sender, muted, departed, late].includes(m)).map((m) => chatOf(m.userId));
    await world.channel.waitFor(() => world.copiesOf('g1', 1).size >= expected.length, 20_000, 'every copy');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const copies = world.copiesOf('g1', 1);
    assert.deepEqual([...copies.keys()].sort(), expected.sort());
    assert.ok(
      [...copies.values()].every((n) => n === 1),
      'each member got the post once',
    );
    await waitForOutboxEmpty(world);
  });

  it('gives each member a burst of posts in sequence order, each once', async () => {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const members = world.addMembers('g2', 30);
    const engine = world.engine();
    await engine.start();
    for (let seq = 1; seq <= 8; seq++) {
      world.source.addPost({ groupId: 'g2', seq, senderUserId: members[seq]!.userId, text: `post ${seq}` });
    }
    // Accepted out of order and concurrently, as parallel turns would.
    await Promise.all([3, 1, 2, 5, 4, 8, 7, 6].map((seq) => engine.postAccepted('g2', seq)));
    await world.channel.waitFor(() => world.channel.sends().length >= 8 * 29, 40_000, 'all copies');
    for (const member of members) {
      const texts = world.channel.textsByConversation().get(chatOf(member.userId)) ?? [];
      const seqs = texts.map((t) => Number(/^g2#(\d+) /.exec(t)![1]));
      const own = members.indexOf(member);
      const want = [1, 2, 3, 4, 5, 6, 7, 8].filter((s) => s !== own);
      assert.deepEqual(seqs, want, `${member.userId} got the posts in order, once each`);
    }
  });

  it("lets a small group's post through while a large group's post is still going out in the same tenant (groups take turns)", async () => {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const big = world.addMembers('big', 300);
    const small = world.addMembers('small', 5, 'tenant-a', 1);
    world.source.addPost({ groupId: 'big', seq: 1, senderUserId: big[0]!.userId, text: 'to many' });
    world.source.addPost({ groupId: 'small', seq: 1, senderUserId: small[0]!.userId, text: 'to few' });
    const engine = world.engine({ tenantBudgetRps: 100 });
    await engine.start();
    await engine.postAccepted('big', 1);
    await world.channel.waitFor(() => world.copiesOf('big', 1).size >= 20, 10_000, 'the big fan-out under way');
    await engine.postAccepted('small', 1);
    await world.channel.waitFor(() => world.copiesOf('small', 1).size >= 4, 10_000, 'the small post delivered');
    assert.ok(
      world.copiesOf('big', 1).size < 200,
      `the small post did not wait for the big one (${world.copiesOf('big', 1).size} big copies sent before)`,
    );
    await world.channel.waitFor(() => world.copiesOf('big', 1).size >= 299, 15_000, 'the big post delivered');
  });

  it('pauses a tenant for Retry-After on 429 and still delivers every copy once', async () => {
    // The channel allows 20/s with a burst of 2; the engine is told 200/s, so it meets 429s.
    world = await EngineWorld.create({ tenantRps: 20, tenantBurst: 2, retryAfterSeconds: 1 });
    const members = world.addMembers('g3', 20);
    world.source.addPost({ groupId: 'g3', seq: 1, senderUserId: members[0]!.userId, text: 'throttled' });
    const engine = world.engine({ tenantBudgetRps: 200, maxInFlight: 2 });
    await engine.start();
    await engine.postAccepted('g3', 1);
    await world.channel.waitFor(() => world.copiesOf('g3', 1).size >= 19, 30_000, 'every copy');
    assert.ok(world.channel.throttled.length > 0, 'the channel answered 429');
    for (const throttle of world.channel.throttled) {
      const during = world.channel.accepted.filter((c) => c.tenant === 'tenant-a' && c.at > throttle.at + 100 && c.at < throttle.at + 900);
      assert.equal(during.length, 0, 'nothing was sent to the tenant during the Retry-After pause');
    }
    assert.ok(
      [...world.copiesOf('g3', 1).values()].every((n) => n === 1),
      'each member once',
    );
    assert.ok(engine.stats.throttled > 0);
  });

  it('counts members Teams refuses (403/404) as unreachable, retries 503 until it goes through, logs 413 as failed and creates a missing personal chat', async () => {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const members = world.addMembers('g4', 20);
    world.source.addPost({ groupId: 'g4', seq: 1, senderUserId: members[0]!.userId, text: 'hi' });
    world.channel.failures.set(chatOf(members[1]!.userId), { status: 403 });
    world.channel.failures.set(chatOf(members[2]!.userId), { status: 404 });
    world.channel.failures.set(chatOf(members[3]!.userId), { status: 503, times: 2 });
    world.channel.failures.set(chatOf(members[5]!.userId), { status: 413 });
    const noChat = { ...members[4]!, conversationRef: undefined };
    world.source.addMember('g4', noChat);
    const engine = world.engine();
    await engine.start();
    await engine.postAccepted('g4', 1);
    await waitForOutboxEmpty(world);
    const copies = world.copiesOf('g4', 1);
    assert.equal(copies.get(chatOf(members[3]!.userId)), 1, 'the 503 member got the post after retries');
    assert.equal(copies.get(chatOf(members[4]!.userId)), 1, 'the member without a personal chat got one created');
    assert.equal(copies.size, 20 - 1 - 3);
    assert.equal(await engine.unreachableCount('g4'), 2, 'the two Teams refused');
    assert.ok(engine.stats.retried >= 2);
    assert.equal(engine.stats.failed, 1);
    assert.ok(world.log.lines.some((l) => l.msg === 'delivery failed for good' && l.status === 413));
  });

  it('recovers from a crash mid fan-out: a new engine on the same storage finishes, repeating only unrecorded sends', async () => {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const members = world.addMembers('g5', 250);
    world.source.addPost({ groupId: 'g5', seq: 1, senderUserId: members[0]!.userId, text: 'survives' });
    const first = world.engine({ tenantBudgetRps: 100 });
    await first.start();
    await first.postAccepted('g5', 1);
    await world.channel.waitFor(() => world.copiesOf('g5', 1).size >= 80, 15_000, 'a part of the fan-out');
    const unrecorded = await first.abandon();
    await sleep(100);
    const sentBeforeCrash = world.channel.sends().length;
    assert.ok(sentBeforeCrash < 249, 'the crash came mid fan-out');

    const second = world.engine({ tenantBudgetRps: 400 });
    await second.start();
    await world.channel.waitFor(() => world.copiesOf('g5', 1).size >= 249, 30_000, 'every member after the restart');
    await waitForOutboxEmpty(world, 20_000);
    const copies = world.copiesOf('g5', 1);
    const duplicates = [...copies.values()].reduce((sum, n) => sum + n - 1, 0);
    assert.equal(copies.size, 249, 'no member missing');
    assert.ok(duplicates <= unrecorded, `duplicates (${duplicates}) only for sends not recorded at the crash (${unrecorded})`);
  });

  it('re-queues an unfinished post whose queue message was lost (start-up and periodic sweep)', async () => {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const members = world.addMembers('g6', 30);
    world.source.addPost({ groupId: 'g6', seq: 1, senderUserId: members[0]!.userId, text: 'lost once' });
    world.source.addPost({ groupId: 'g6', seq: 2, senderUserId: members[0]!.userId, text: 'lost twice' });
    const engine = world.engine({ staleMs: 1_000, sweepMs: 300 });
    await world.queue().ensure();
    await engine.postAccepted('g6', 1); // not started yet
    await world.queue().clear();
    await engine.start();
    await world.channel.waitFor(() => world.copiesOf('g6', 1).size >= 29, 10_000, 'post 1 after the start-up sweep');
    await waitForOutboxEmpty(world);

    // Post 2's outbox row is written but its queue message never arrives: the periodic sweep finds it.
    const store = new OutboxStore(world.tables.clients.outbox);
    await store.openPost('g6', 2, Date.now() - 10_000);
    await world.channel.waitFor(() => world.copiesOf('g6', 2).size >= 29, 15_000, 'post 2 after the periodic sweep');
    assert.ok([...world.copiesOf('g6', 2).values()].every((n) => n === 1));
  });

  it('shares one tenant lane between two engines on one storage, within the budget, each member once', async () => {
    world = await EngineWorld.create({ tenantRps: 60, tenantBurst: 6 });
    const members = world.addMembers('g7', 120);
    world.source.addPost({ groupId: 'g7', seq: 1, senderUserId: members[0]!.userId, text: 'shared' });
    world.source.addPost({ groupId: 'g7', seq: 2, senderUserId: members[1]!.userId, text: 'shared again' });
    const a = world.engine({ tenantBudgetRps: 50 });
    const b = world.engine({ tenantBudgetRps: 50 });
    await Promise.all([a.start(), b.start()]);
    await a.postAccepted('g7', 1);
    await b.postAccepted('g7', 2);
    await world.channel.waitFor(() => world.copiesOf('g7', 2).size >= 119, 30_000, 'both posts');
    assert.equal(world.channel.throttled.length, 0, 'never above the channel limit');
    assert.ok(world.channel.maxInWindow('tenant-a') <= 60);
    for (const seq of [1, 2]) {
      const copies = world.copiesOf('g7', seq);
      assert.equal(copies.size, 119);
      assert.ok(
        [...copies.values()].every((n) => n === 1),
        `each member once (post ${seq})`,
      );
    }
  });
});
