import assert from 'node:assert/strict';
import { DeliveryStore } from '../../src/delivery/deliveryStore';
import { chatOf, EngineWorld, waitForOutboxEmpty } from './engineHarness';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Delivery engine: edits, deletes, removals and one-off messages', function () {
  this.timeout(60_000);
  let world: EngineWorld;

  afterEach(async () => {
    await world?.close();
  });

  async function deliveredPost(members = 12) {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const group = world.addMembers('ge', members);
    world.source.addPost({ groupId: 'ge', seq: 1, senderUserId: group[0]!.userId, text: 'first words' });
    const engine = world.engine();
    await engine.start();
    await engine.postAccepted('ge', 1);
    await world.channel.waitFor(() => world.copiesOf('ge', 1).size >= members - 1, 10_000, 'the post delivered');
    await waitForOutboxEmpty(world);
    return { engine, group };
  }

  it('updates every delivered copy in place after an edit (the activity ids kept per delivery)', async () => {
    const { engine } = await deliveredPost();
    const sentIds = new Map(world.channel.sends().map((c) => [c.conversationId, c.activityId]));
    world.source.editPost('ge', 1, { text: 'better words' });
    await engine.postChanged('ge', 1);
    await world.channel.waitFor(() => world.channel.accepted.filter((c) => c.method === 'PUT').length >= 11, 10_000, 'every copy updated');
    const updates = world.channel.accepted.filter((c) => c.method === 'PUT');
    for (const update of updates) {
      assert.equal(update.activityId, sentIds.get(update.conversationId), 'the copy sent to that chat is the one updated');
      assert.equal(update.activity.text, 'ge#1 v2: better words');
    }
    assert.equal(new Set(updates.map((u) => u.conversationId)).size, 11, 'each copy once');
  });

  it('deletes every copy when the post is deleted, once even when the change is handed over again', async () => {
    // A deleted post never comes back (issue 17: an undelete in Teams is a fresh post), so the engine only deletes.
    const { engine } = await deliveredPost();
    const sendsBefore = world.channel.sends().length;
    world.source.editPost('ge', 1, { deleted: true });
    await engine.postChanged('ge', 1);
    await world.channel.waitFor(
      () => world.channel.accepted.filter((c) => c.method === 'DELETE').length >= 11,
      10_000,
      'every copy deleted',
    );
    await sleep(300); // the outcomes are written in batches
    await engine.postChanged('ge', 1);
    await sleep(500);
    assert.equal(world.channel.accepted.filter((c) => c.method === 'DELETE').length, 11);
    assert.equal(world.channel.sends().length, sendsBefore, 'nothing sent again');
  });

  it('brings every copy to the latest text when a post is edited in the middle of its fan-out', async () => {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const group = world.addMembers('gm', 80);
    world.source.addPost({ groupId: 'gm', seq: 1, senderUserId: group[0]!.userId, text: 'draft' });
    const engine = world.engine({ tenantBudgetRps: 40 });
    await engine.start();
    await engine.postAccepted('gm', 1);
    await world.channel.waitFor(() => world.copiesOf('gm', 1).size >= 20, 10_000, 'a part of the fan-out');
    world.source.editPost('gm', 1, { text: 'final' });
    await engine.postChanged('gm', 1);
    const latest = () => {
      const shown = new Map<string, string>();
      for (const call of world.channel.accepted) if (call.method !== 'DELETE') shown.set(call.conversationId, String(call.activity.text));
      return shown;
    };
    await world.channel.waitFor(
      () => [...latest().values()].filter((t) => t === 'gm#1 v2: final').length >= 79,
      20_000,
      'every copy showing the edit',
    );
    assert.equal(latest().size, 79);
    assert.ok(
      world.channel.accepted.some((c) => c.method === 'PUT'),
      'copies sent before the edit were updated in place',
    );
  });

  it('deletes the copies delivered to a member removed from an organization group', async () => {
    const { engine, group } = await deliveredPost();
    const removed = group[3]!;
    world.source.removeMember('ge', removed.userId);
    await engine.deleteCopiesFor('ge', removed.userId);
    await world.channel.waitFor(() => world.channel.accepted.some((c) => c.method === 'DELETE'), 10_000, 'the copy deleted');
    await sleep(200);
    const deletes = world.channel.accepted.filter((c) => c.method === 'DELETE');
    assert.deepEqual(
      deletes.map((d) => d.conversationId),
      [chatOf(removed.userId)],
    );
  });

  it('sends a one-off message once per key through the tenant lane', async () => {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const [admin] = world.addMembers('go', 1);
    const engine = world.engine();
    await engine.start();
    await engine.sendOneOff('join|go|x', admin!, { type: 'message', text: 'Someone joined' });
    await engine.sendOneOff('join|go|x', admin!, { type: 'message', text: 'Someone joined' });
    await world.channel.waitFor(() => world.channel.sends().length >= 1, 10_000, 'the notice');
    await sleep(500);
    assert.equal(world.channel.sends().length, 1);
    assert.equal(world.channel.sends()[0]!.activity.text, 'Someone joined');
  });

  it('records a one-off as posting before its request leaves, and sent after', async () => {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const [member] = world.addMembers('gp', 1);
    const store = new DeliveryStore(world.tables.clients.deliveries);
    const seenAtArrival: (string | undefined)[] = [];
    world.channel.onAccept = async () => {
      seenAtArrival.push((await store.oneOff('bulk|gp|one'))?.st);
    };
    const engine = world.engine();
    await engine.start();
    await engine.sendOneOff('bulk|gp|one', member!, { type: 'message', text: 'welcome' });
    await world.channel.waitFor(() => world.channel.sends().length >= 1, 10_000, 'the welcome');
    await waitForOutboxEmpty(world);
    assert.deepEqual(seenAtArrival, ['posting']);
    // The record of the answer is written after the channel answers: wait for it (bounded), then it says sent.
    let row = await store.oneOff('bulk|gp|one');
    for (let polls = 0; row?.st === 'posting' && polls < 100; polls++) {
      await sleep(50);
      row = await store.oneOff('bulk|gp|one');
    }
    assert.equal(row?.st, 'sent');
  });

  it('after a crash, never sends again a one-off whose request may have left; sends one only claimed', async () => {
    // The rows a SIGKILLed process leaves: `posting` (the request was leaving: maybe delivered) and `sending`
    // (claimed, nothing left yet). The queue hands both over again.
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const [left, claimed] = world.addMembers('gc', 2);
    const store = new DeliveryStore(world.tables.clients.deliveries);
    await store.recordOneOff('bulk|gc|left', { st: 'posting', t: 'tenant-a' });
    await store.recordOneOff('bulk|gc|claimed', { st: 'sending', t: 'tenant-a' });
    const engine = world.engine();
    await engine.start();
    await engine.sendOneOff('bulk|gc|left', left!, { type: 'message', text: 'welcome left' });
    await engine.sendOneOff('bulk|gc|claimed', claimed!, { type: 'message', text: 'welcome claimed' });
    await world.channel.waitFor(() => world.channel.sends().length >= 1, 10_000, 'the claimed welcome');
    await waitForOutboxEmpty(world);
    assert.deepEqual(
      world.channel.sends().map((s) => s.activity.text),
      ['welcome claimed'],
    );
    assert.deepEqual([...(await engine.oneOffOutcomes('bulk|gc|')).entries()].sort(), [
      ['bulk|gc|claimed', 'sent'],
      ['bulk|gc|left', 'posting'],
    ]);
  });
});
