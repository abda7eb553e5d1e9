import assert from 'node:assert/strict';
import { chatOf, EngineWorld, waitForOutboxEmpty } from './engineHarness';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Issue 16 item 3: an outage of the channel delays posts, never drops them. The fake channel answers every call
 * 503 (or drops its connections) for a while; the engine pauses the tenant lane and probes, spending no copy's
 * tries, and delivers every copy once when the channel answers again.
 */
describe('Delivery engine: channel outages delay, never drop', function () {
  this.timeout(180_000);
  let world: EngineWorld;

  afterEach(async () => {
    await world?.close();
  });

  const onceEach = (copies: Map<string, number>) => [...copies.values()].every((n) => n === 1);

  it('survives 65 s of 503 from the channel (longer than the old 5 tries ~15 s apart): every member gets the post once', async () => {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const members = world.addMembers('go1', 120);
    world.source.addPost({ groupId: 'go1', seq: 1, senderUserId: members[0]!.userId, text: 'through the storm' });
    // Probes at most 2 s apart, so that recovery is seen soon; 5 tries per copy, as before.
    const engine = world.engine({ tenantBudgetRps: 40, maxInFlight: 8, outageCapMs: 2_000, maxAttempts: 5 });
    await engine.start();
    await engine.postAccepted('go1', 1);
    await world.channel.waitFor(() => world.copiesOf('go1', 1).size >= 30, 20_000, 'a part of the fan-out');
    world.channel.outage = 503;
    await sleep(65_000);
    const probes = world.channel.outageCalls;
    world.channel.outage = undefined;
    await world.channel.waitFor(() => world.copiesOf('go1', 1).size >= 119, 60_000, 'every copy after the outage');
    await waitForOutboxEmpty(world, 20_000);
    const copies = world.copiesOf('go1', 1);
    assert.equal(copies.size, 119);
    assert.ok(onceEach(copies), 'each member once');
    assert.equal(engine.stats.gaveUp, 0, 'no copy given up');
    assert.ok(!world.log.lines.some((l) => l.msg === 'delivery failed for good'));
    // One probe at a time, backing off: far fewer calls than copies times tries.
    assert.ok(probes < 150, `the lane probed the channel instead of hammering it (${probes} calls during the outage)`);
    assert.ok(world.log.lines.some((l) => l.msg === 'channel answers again; tenant lane resumed'));
  });

  it('waits out dropped connections (connection reset) the same way, and health() reports the lane meanwhile', async () => {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const members = world.addMembers('go2', 60);
    world.source.addPost({ groupId: 'go2', seq: 1, senderUserId: members[0]!.userId, text: 'reset' });
    const engine = world.engine({ tenantBudgetRps: 40, maxInFlight: 8, outageCapMs: 1_000, maxAttempts: 2, stallReportMs: 3_000 });
    await engine.start();
    await engine.postAccepted('go2', 1);
    await world.channel.waitFor(() => world.copiesOf('go2', 1).size >= 10, 20_000, 'a part of the fan-out');
    assert.equal(engine.health().progressing, true);
    world.channel.outage = 'reset';
    await sleep(8_000);
    const during = engine.health();
    assert.equal(during.progressing, false, 'health reports the lane that sends nothing');
    assert.deepEqual(
      during.stalledLanes.map((l) => [l.tenant, l.paused]),
      [['tenant-a', true]],
    );
    world.channel.outage = undefined;
    await world.channel.waitFor(() => world.copiesOf('go2', 1).size >= 59, 60_000, 'every copy after the outage');
    await waitForOutboxEmpty(world, 20_000);
    assert.ok(world.channel.outageCalls > 0);
    assert.equal(engine.stats.gaveUp, 0);
    assert.equal(engine.health().progressing, true, 'and no longer once it sends again');
    // A reset connection may have been accepted before it dropped: never more than the calls in flight repeat.
    const copies = world.copiesOf('go2', 1);
    assert.equal(copies.size, 59);
  });

  it('gives up on a copy whose own conversation keeps failing, counts the member as not reached, and sends it once it answers', async () => {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const members = world.addMembers('go3', 10);
    world.source.addPost({ groupId: 'go3', seq: 1, senderUserId: members[0]!.userId, text: 'one stuck chat' });
    const stuck = chatOf(members[3]!.userId);
    world.channel.failures.set(stuck, { status: 500 });
    const engine = world.engine({ maxAttempts: 3, retryGiveUpsAfterMs: 1_000 });
    await engine.start();
    await engine.postAccepted('go3', 1);
    await waitForOutboxEmpty(world);
    assert.equal(world.copiesOf('go3', 1).size, 8, 'the others got it; the group was not held up');
    assert.equal(engine.stats.gaveUp, 1);
    assert.deepEqual(await engine.notReachedCount('go3'), { unreachable: 0, retrying: 1 });
    world.channel.failures.delete(stuck);
    await world.channel.waitFor(() => world.copiesOf('go3', 1).get(stuck) === 1, 20_000, 'the given-up copy, sent by the sweep');
    const deadline = Date.now() + 10_000;
    while ((await engine.notReachedCount('go3')).retrying > 0 && Date.now() < deadline) await sleep(100);
    assert.deepEqual(await engine.notReachedCount('go3'), { unreachable: 0, retrying: 0 });
    assert.ok(onceEach(world.copiesOf('go3', 1)));
  });
  it('welcomes refused by chats the bot never delivered to are no outage: a post to the group goes through meanwhile', async () => {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const members = world.addMembers('gw', 20);
    // Forty people bulk add reached: their new chats answer 500 to everything (as the playground does).
    const newcomers = world.addMembers('gw-newcomers', 40, 'tenant-a', 100);
    for (const n of newcomers) world.channel.failures.set(chatOf(n.userId), { status: 500 });
    world.source.addPost({ groupId: 'gw', seq: 1, senderUserId: members[0]!.userId, text: 'is anyone there' });
    const engine = world.engine({ tenantBudgetRps: 40, maxInFlight: 8, maxAttempts: 3 });
    await engine.start();
    for (const n of newcomers)
      await engine.sendOneOff(`bulk|gw|${n.userId}`, n, { type: 'message', text: 'welcome' }, { firstMessageFor: { groupId: 'gw' } });
    await engine.postAccepted('gw', 1);
    await waitForOutboxEmpty(world, 60_000);
    await world.channel.waitFor(() => world.copiesOf('gw', 1).size >= 19, 60_000, 'every copy of the post');
    assert.ok(onceEach(world.copiesOf('gw', 1)));
    assert.ok(
      !world.log.lines.some((l) => l.msg === 'channel not answering; tenant lane paused, copies wait'),
      'the refused welcomes did not pause the tenant',
    );
    // The newcomers count as not reached in their group (their posts would fail the same way).
    const deadline = Date.now() + 30_000;
    while ((await engine.notReachedCount('gw')).unreachable < 40 && Date.now() < deadline) await sleep(200);
    assert.deepEqual(await engine.notReachedCount('gw'), { unreachable: 40, retrying: 0 });
    // Each welcome spent its own tries and ended (a queue message handed over again on a busy machine may try again).
    assert.ok(engine.stats.gaveUp >= 40, `every welcome given up (${engine.stats.gaveUp})`);
    assert.equal(engine.stats.sends, 19, 'the post, once per member');

    // They are members now, and their chats still fail: the group's next post is no outage either.
    for (const n of newcomers) world.source.addMember('gw', n);
    world.source.addPost({ groupId: 'gw', seq: 2, senderUserId: members[0]!.userId, text: 'second' });
    await engine.postAccepted('gw', 2);
    await world.channel.waitFor(() => world.copiesOf('gw', 2).size >= 19, 60_000, 'every reachable copy of the next post');
    await waitForOutboxEmpty(world, 60_000);
    assert.ok(onceEach(world.copiesOf('gw', 2)));
    assert.ok(!world.log.lines.some((l) => l.msg === 'channel not answering; tenant lane paused, copies wait'));
  });
});
