import assert from 'node:assert/strict';
import { EngineWorld, waitForOutboxEmpty } from './engineHarness';

/**
 * Issue 16 item 5: nothing stale goes out. An edit or a delete accepted at about 30% of a 300-member fan-out:
 * after it, only the calls already on their way (at most the lane's calls in flight) may carry the old version
 * or the deleted post; every later copy is rendered from the current version (or not sent at all).
 */
describe('Delivery engine: no stale copy after an edit or delete mid fan-out', function () {
  this.timeout(90_000);
  let world: EngineWorld;
  const MAX_IN_FLIGHT = 8;

  afterEach(async () => {
    await world?.close();
  });

  async function thirtyPercentIn(groupId: string) {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const members = world.addMembers(groupId, 300);
    world.source.addPost({ groupId, seq: 1, senderUserId: members[0]!.userId, text: 'old words' });
    const engine = world.engine({ tenantBudgetRps: 60, maxInFlight: MAX_IN_FLIGHT });
    await engine.start();
    await engine.postAccepted(groupId, 1);
    await world.channel.waitFor(() => world.copiesOf(groupId, 1).size >= 90, 30_000, '30% of the fan-out');
    return engine;
  }

  /** Sends of the first version the channel received after `at`. */
  const oldSendsAfter = (groupId: string, at: number) =>
    world.channel.sends().filter((c) => c.at > at && String(c.activity.text).startsWith(`${groupId}#1 v1:`)).length;

  it('sends no copy with the old text once an edit is accepted (beyond the calls already in flight)', async () => {
    const engine = await thirtyPercentIn('se');
    world.source.editPost('se', 1, { text: 'new words' });
    const acceptedAt = Date.now();
    await engine.postChanged('se', 1);
    const latest = () => {
      const shown = new Map<string, string>();
      for (const call of world.channel.accepted) if (call.method !== 'DELETE') shown.set(call.conversationId, String(call.activity.text));
      return shown;
    };
    await world.channel.waitFor(
      () => [...latest().values()].filter((t) => t === 'se#1 v2: new words').length >= 299,
      60_000,
      'every copy showing the edit',
    );
    const stale = oldSendsAfter('se', acceptedAt);
    assert.ok(stale <= MAX_IN_FLIGHT, `${stale} copies with the old text were sent after the edit (at most ${MAX_IN_FLIGHT} in flight)`);
    assert.equal(world.copiesOf('se', 1).size, 299);
    assert.ok(
      [...world.copiesOf('se', 1).values()].every((n) => n === 1),
      'each member one copy',
    );
  });

  it('sends no copy of a deleted post once the delete is accepted, and deletes every copy sent before', async () => {
    const engine = await thirtyPercentIn('sd');
    world.source.editPost('sd', 1, { deleted: true });
    const acceptedAt = Date.now();
    await engine.postChanged('sd', 1);
    await waitForOutboxEmpty(world, 30_000);
    const sent = world.channel.sends().filter((c) => String(c.activity.text).startsWith('sd#1 '));
    await world.channel.waitFor(
      () => world.channel.accepted.filter((c) => c.method === 'DELETE').length >= sent.length,
      30_000,
      'every copy sent deleted',
    );
    const stale = oldSendsAfter('sd', acceptedAt);
    assert.ok(
      stale <= MAX_IN_FLIGHT,
      `${stale} copies of the deleted post were sent after the delete (at most ${MAX_IN_FLIGHT} in flight)`,
    );
    assert.ok(sent.length < 299, 'the rest of the fan-out was not sent');
    const deleted = new Set(world.channel.accepted.filter((c) => c.method === 'DELETE').map((c) => c.activityId));
    assert.ok(
      sent.every((c) => deleted.has(c.activityId)),
      'every copy that went out was deleted',
    );
  });
});
