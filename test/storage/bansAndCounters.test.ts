import assert from 'node:assert/strict';
import type { WindowCounter } from '../../src/groups/joinAttemptLimiter';
import { MemoryWindowCounter } from '../../src/storage/memoryWindowCounter';
import { TableWindowCounter } from '../../src/storage/windowCounter';
import { freshTables } from '../helpers/azurite';

// (The bans of Table Storage are in the GroupStore contract, groupStore.test.ts.)

/** Counters over one shared store: `counter(now)` is one more instance of the bot on it. */
type CounterFactory = () => Promise<(now?: () => number) => WindowCounter>;

const implementations: Array<[string, CounterFactory]> = [
  [
    'in memory',
    async () => {
      const shared = new Map<() => number, MemoryWindowCounter>();
      // One process's memory is the whole store: every "instance" with the same clock is the same counter.
      return (now = Date.now) => shared.get(now) ?? shared.set(now, new MemoryWindowCounter(now)).get(now)!;
    },
  ],
  [
    'Table Storage (Azurite)',
    async () => {
      const { clients } = await freshTables();
      return (now) => new TableWindowCounter(clients.limits, now);
    },
  ],
];

for (const [name, create] of implementations) {
  describe(`The fixed-window join-code counter: ${name}`, () => {
    let counter: (now?: () => number) => WindowCounter;
    before(async () => {
      counter = await create();
    });

    it('allows exactly the limit to 100 parallel takes split over two instances', async () => {
      const [one, two] = [counter(), counter()];
      const takes = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? one : two).take('burst', 10, 600_000)));
      assert.equal(takes.filter((t) => t.allowed).length, 10);
      assert.ok(takes.every((t) => t.msBeforeNext > 0 && t.msBeforeNext <= 600_000));
    });

    it('opens a new window once the last one has passed, and keeps keys apart', async () => {
      let now = 1_000_000;
      const clock = () => now;
      const first = counter(clock);
      for (let i = 0; i < 3; i++) assert.equal((await first.take('slow', 3, 60_000)).allowed, true);
      const refused = await first.take('slow', 3, 60_000);
      assert.deepEqual(refused, { allowed: false, msBeforeNext: 60_000 });
      assert.equal((await first.take('other', 3, 60_000)).allowed, true);
      now += 59_999;
      assert.equal((await first.take('slow', 3, 60_000)).allowed, false);
      now += 1;
      assert.equal((await first.take('slow', 3, 60_000)).allowed, true);
      // Another instance sees the same window (the store is the truth).
      assert.equal((await counter(clock).take('slow', 3, 60_000)).allowed, true);
    });
  });
}
