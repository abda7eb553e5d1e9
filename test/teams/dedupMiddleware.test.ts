import assert from 'node:assert/strict';
import { TestAdapter, type Activity, type TurnContext } from 'botbuilder';
import { RedeliveryGuard } from '../../src/teams/dedupMiddleware';
import { DedupStore } from '../../src/storage/dedupStore';
import { StorageUnavailableError } from '../../src/errors';
import { freshTables } from '../helpers/azurite';
import { memoryLogger } from '../helpers/testApp';

/**
 * The redelivery guard in a real middleware pipeline (botbuilder's TestAdapter) on real Azurite rows: what each
 * delivery of one activity id does, depending on the state of its lease.
 */
describe('RedeliveryGuard: storage effects once, replies at least once', () => {
  let dedup: DedupStore;
  let runs: number;
  beforeEach(async () => {
    dedup = new DedupStore((await freshTables()).clients.dedup);
    runs = 0;
  });

  function activity(id: string, fields: Partial<Activity> = {}): Partial<Activity> {
    return { type: 'message', id, channelId: 'msteams', text: 'help', conversation: { id: 'a:1' } as Activity['conversation'], ...fields };
  }

  function adapterWith(guard: RedeliveryGuard): TestAdapter {
    return new TestAdapter(async () => undefined).use(guard);
  }

  it('runs a delivery once, and a redelivery after the turn finished does nothing', async () => {
    const adapter = adapterWith(new RedeliveryGuard(dedup, memoryLogger().logger));
    const turn = async (context: TurnContext) => {
      runs++;
      await context.sendActivity('hello');
    };
    await adapter.processActivity(activity('act-1'), turn);
    await adapter.processActivity(activity('act-1'), turn);
    assert.equal(runs, 1);
  });

  it('does nothing for a redelivery while the first delivery still runs (live lease)', async () => {
    const { logger, logs } = memoryLogger();
    const adapter = adapterWith(new RedeliveryGuard(dedup, logger, { leaseMs: 60_000 }));
    let finish!: () => void;
    const blocked = new Promise<void>((resolve) => (finish = resolve));
    const first = adapter.processActivity(activity('act-1'), async () => {
      runs++;
      await blocked;
    });
    while (runs === 0) await new Promise((r) => setTimeout(r, 5));
    await adapter.processActivity(activity('act-1'), async () => void runs++);
    finish();
    await first;
    assert.equal(runs, 1);
    assert.ok(logs.some((l) => l.msg === 'redelivered activity ignored' && l.lease === 'busy'));
  });

  it('answers an invoke redelivered during a live lease with 200 "Already done."', async () => {
    const adapter = adapterWith(new RedeliveryGuard(dedup, memoryLogger().logger));
    const invoke = activity('act-2', { type: 'invoke', name: 'adaptiveCard/action' });
    await adapter.processActivity(invoke, async () => void runs++);
    await adapter.processActivity(invoke, async () => void runs++);
    assert.equal(runs, 1);
    const sent = adapter.activeQueue.find((a) => a.type === 'invokeResponse');
    assert.deepEqual((sent?.value as { body: unknown }).body, {
      statusCode: 200,
      type: 'application/vnd.microsoft.activity.message',
      value: 'Already done.',
    });
  });

  it('runs the turn again when the first delivery died and its lease expired', async () => {
    let now = Date.parse('2026-11-30T12:00:00Z');
    const clocked = new DedupStore((await freshTables()).clients.dedup, () => new Date(now));
    const adapter = adapterWith(new RedeliveryGuard(clocked, memoryLogger().logger, { leaseMs: 2_000 }));
    // The first delivery "dies": its lease is taken and never completed nor released.
    assert.equal((await clocked.acquireLease('msteams|a:1|message', 'act-1', 2_000)).kind, 'acquired');
    now += 1_999;
    await adapter.processActivity(activity('act-1'), async () => void runs++);
    assert.equal(runs, 0, "still inside the dead delivery's lease");
    now += 2;
    await adapter.processActivity(activity('act-1'), async () => void runs++);
    assert.equal(runs, 1, 'the turn ran again after the lease expired');
    now += 10_000;
    await adapter.processActivity(activity('act-1'), async () => void runs++);
    assert.equal(runs, 1, 'and once done, never again');
  });

  it('gives the lease back when the turn throws, so the retry runs at once', async () => {
    const adapter = adapterWith(new RedeliveryGuard(dedup, memoryLogger().logger));
    await assert.rejects(
      adapter.processActivity(activity('act-1'), async () => {
        runs++;
        throw new Error('boom');
      }),
      /boom/,
    );
    await adapter.processActivity(activity('act-1'), async () => void runs++);
    assert.equal(runs, 2);
  });

  it('never marks a turn done whose storage stopped answering', async () => {
    const adapter = adapterWith(new RedeliveryGuard(dedup, memoryLogger().logger));
    await assert.rejects(
      adapter.processActivity(activity('act-1'), async () => {
        runs++;
        throw new StorageUnavailableError('timeout', 'test');
      }),
      StorageUnavailableError,
    );
    // The release runs on its own (not awaited); the retry finds the lease released or, at worst, busy.
    for (let i = 0; i < 50 && runs < 2; i++) {
      await adapter.processActivity(activity('act-1'), async () => void runs++);
      if (runs < 2) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(runs, 2);
  });

  it('does not guard a join (idempotent by construction) nor the SSO exchange', async () => {
    const adapter = adapterWith(new RedeliveryGuard(dedup, memoryLogger().logger, { idempotent: (c) => c.activity.text === 'join x' }));
    await adapter.processActivity(activity('act-1', { text: 'join x' }), async () => void runs++);
    await adapter.processActivity(activity('act-1', { text: 'join x' }), async () => void runs++);
    const sso = activity('act-2', { type: 'invoke', name: 'signin/tokenExchange' });
    await adapter.processActivity(sso, async () => void runs++);
    await adapter.processActivity(sso, async () => void runs++);
    assert.equal(runs, 4);
  });

  it('starts the preload together with the lease', async () => {
    let preloadStarted = false;
    const adapter = adapterWith(new RedeliveryGuard(dedup, memoryLogger().logger, { preload: async () => void (preloadStarted = true) }));
    await adapter.processActivity(activity('act-1'), async () => {
      assert.equal(preloadStarted, true);
      runs++;
    });
    assert.equal(runs, 1);
  });
});
