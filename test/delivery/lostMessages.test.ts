import assert from 'node:assert/strict';
import { OutboxStore } from '../../src/delivery/outboxStore';
import { EngineWorld, waitForOutboxEmpty } from './engineHarness';

/**
 * Issue 16 item 4: a post whose queue message is lost (a receipt race, a replaced queue service) waits about a
 * sweep interval, not the staleness limit: work held nowhere shows no progress heartbeat and is queued again.
 */
describe('Delivery engine: a lost queue message', function () {
  this.timeout(120_000);
  let world: EngineWorld;

  afterEach(async () => {
    await world?.close();
  });

  it('is made good by the next sweeps, long before the staleness limit', async () => {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const members = world.addMembers('gl', 20);
    world.source.addPost({ groupId: 'gl', seq: 1, senderUserId: members[0]!.userId, text: 'lost in the queue' });
    // Staleness far beyond the wait below: only the sweep of work held nowhere can deliver in time.
    const engine = world.engine({ staleMs: 300_000, sweepMs: 1_000 });
    await engine.start();
    // The post is accepted (outbox row, fresh heartbeat) but its queue message never arrives.
    await new OutboxStore(world.tables.clients.outbox).openPost('gl', 1);
    await world.channel.waitFor(() => world.copiesOf('gl', 1).size >= 19, 60_000, 'the post, after the sweep queued it again');
    await waitForOutboxEmpty(world);
    assert.ok([...world.copiesOf('gl', 1).values()].every((n) => n === 1));
    assert.ok(world.log.lines.some((l) => l.msg === 'unfinished fan-out queued again' && l.startup === false));
  });
});
