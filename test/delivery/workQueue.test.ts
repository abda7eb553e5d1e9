import assert from 'node:assert/strict';
import { WorkQueue } from '../../src/delivery/workQueue';
import { freshTables } from '../helpers/azurite';
import { captureLogger } from './engineHarness';

describe('Work queue on Azurite queues', function () {
  this.timeout(30_000);

  async function queue(maxDequeues = 3) {
    const { connectionString, prefix } = await freshTables();
    const log = captureLogger();
    const q = new WorkQueue<{ n: number }>({
      connectionString,
      name: `${prefix}-work`,
      logger: log.logger,
      maxDequeues,
      visibilitySeconds: 5,
    });
    await q.ensure();
    return { q, log };
  }

  it('sends, receives in a batch, hides what is being worked on and deletes what is done', async () => {
    const { q } = await queue();
    for (let n = 1; n <= 3; n++) await q.send({ n });
    const got = await q.receive(32);
    assert.deepEqual(got.map((m) => m.body.n).sort(), [1, 2, 3]);
    assert.equal((await q.receive(32)).length, 0, 'received messages are invisible to other workers');
    await q.extend(got[0]!, 10);
    await q.release(got[1]!, 0);
    const again = await q.receive(32);
    assert.deepEqual(
      again.map((m) => m.body.n),
      [2],
      'a released message comes back',
    );
    for (const m of [got[0]!, got[2]!, again[0]!]) await q.delete(m);
    await q.delete(again[0]!); // already gone: fine
    assert.equal(await q.approximateCount(), 0);
  });

  it('moves a message that keeps failing to the poison queue and logs it', async () => {
    const { q, log } = await queue(3);
    await q.send({ n: 7 });
    for (let i = 0; i < 3; i++) {
      const [m] = await q.receive();
      assert.ok(m, `delivery ${i + 1}`);
      await q.release(m, 0); // the work failed
    }
    assert.equal((await q.receive()).length, 0, 'the fourth delivery goes to the poison queue instead');
    assert.deepEqual(await q.poisoned(), [JSON.stringify({ n: 7 })]);
    assert.ok(log.lines.some((l) => l.msg === 'work message moved to the poison queue' && l.dequeueCount === 4));
  });

  it('counts a message taken over by another receiver (stale pop receipt) as a harmless race, logged at info, not thrown', async () => {
    const { q, log } = await queue();
    await q.send({ n: 5 });
    const [mine] = await q.receive();
    await q.release({ ...mine! }, 0); // as if our visibility had lapsed: another receiver takes it
    const [theirs] = await q.receive();
    assert.equal(theirs!.body.n, 5);
    await q.extend(mine!); // our receipt is stale now
    await q.delete(mine!);
    assert.equal(q.races.count, 2);
    const lines = log.lines.filter((l) => l.msg === 'work message no longer ours (harmless)');
    assert.equal(lines.length, 2);
    assert.ok(lines.every((l) => l.level === 30));
    assert.equal((await q.receive()).length, 0, 'the other receiver still holds it');
    await q.delete(theirs!);
  });

  it('delays a message sent with a delay', async () => {
    const { q } = await queue();
    await q.send({ n: 1 }, { delaySeconds: 2 });
    assert.equal((await q.receive()).length, 0);
  });
});
