import assert from 'node:assert/strict';
import { GraphBudget } from '../../src/bulkadd/graphBudget';
import type { TableClients } from '../../src/storage/tables';
import { freshTables } from '../helpers/azurite';

/**
 * Graph's budget shared by instances through the table (Azurite), on a virtual clock: what is measured is how
 * far the clock had to move, never how long the test took.
 */
describe("bulk add: Graph's budget shared by all instances", function () {
  this.timeout(30_000);
  let tables: TableClients;
  before(async () => {
    ({ clients: tables } = await freshTables());
  });

  /** A clock that only moves when someone sleeps on it. */
  function virtualClock(start = 1_000_000) {
    let now = start;
    return {
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
        await new Promise((resolve) => setImmediate(resolve));
      },
    };
  }

  it('two instances together stay within the budget: each paces at its share', async () => {
    const clock = virtualClock();
    const budgets = ['a', 'b'].map((holder) =>
      new GraphBudget({ table: tables.bulkjobs, holder, rps: 100, refreshMs: 1_000_000, ...clock }).forTenant('tenant-1'),
    );
    // Both register their share first (an instance renews it every couple of seconds).
    await budgets[0]!.take(1);
    await budgets[1]!.take(1);
    await budgets[0]!.take(0);
    const start = clock.now();
    // 20 calls of 20 from each instance, at the same time.
    await Promise.all(
      budgets.map(async (budget) => {
        for (let i = 0; i < 20; i++) await budget.take(20);
      }),
    );
    const seconds = (clock.now() - start) / 1000;
    // 800 calls at 100 a second, all instances together: at least 8 s; each paced at 50 a second.
    assert.ok(seconds >= 8 - 0.5, `800 calls in ${seconds} s`);
    assert.equal(budgets[1]!.rate, 50);
  });

  it('a 429 pauses every instance of the tenant for its Retry-After', async () => {
    const clockA = virtualClock();
    const a = new GraphBudget({ table: tables.bulkjobs, holder: 'a', rps: 1_000, refreshMs: 100, ...clockA }).forTenant('tenant-2');
    await a.take(1);
    const pausedAt = clockA.now();
    await a.pause(5_000);
    assert.ok(clockA.now() >= pausedAt + 5_000);
    // Another instance, at the moment of the 429: it learns the pause from the table and waits it out.
    const clockB = virtualClock(pausedAt);
    const b = new GraphBudget({ table: tables.bulkjobs, holder: 'b', rps: 1_000, refreshMs: 100, ...clockB }).forTenant('tenant-2');
    await b.take(1);
    assert.ok(clockB.now() >= pausedAt + 5_000, `B called ${pausedAt + 5_000 - clockB.now()} ms early`);
  });
});
