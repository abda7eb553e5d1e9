import assert from 'node:assert/strict';
import type { TableClients } from '../../src/storage/tables';
import { TableWindowCounter } from '../../src/storage/windowCounter';
import { freshTables } from '../helpers/azurite';

// (The bans of Table Storage are in the GroupStore contract, groupStore.test.ts.)
describe('Join-code counters in Table Storage (Azurite)', () => {
  let clients: TableClients;

  before(async () => {
    ({ clients } = await freshTables());
  });

  describe('the fixed-window counter', () => {
    it('allows exactly the limit to 100 parallel takes split over two instances', async () => {
      const [one, two] = [new TableWindowCounter(clients.limits), new TableWindowCounter(clients.limits)];
      const takes = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? one : two).take('burst', 10, 600_000)));
      assert.equal(takes.filter((t) => t.allowed).length, 10);
      assert.ok(takes.every((t) => t.msBeforeNext > 0 && t.msBeforeNext <= 600_000));
    });

    it('opens a new window once the last one has passed, and keeps keys apart', async () => {
      let now = 1_000_000;
      const counter = new TableWindowCounter(clients.limits, () => now);
      for (let i = 0; i < 3; i++) assert.equal((await counter.take('slow', 3, 60_000)).allowed, true);
      const refused = await counter.take('slow', 3, 60_000);
      assert.deepEqual(refused, { allowed: false, msBeforeNext: 60_000 });
      assert.equal((await counter.take('other', 3, 60_000)).allowed, true);
      now += 59_999;
      assert.equal((await counter.take('slow', 3, 60_000)).allowed, false);
      now += 1;
      assert.equal((await counter.take('slow', 3, 60_000)).allowed, true);
      // Another instance sees the same window (the row is the truth, not the memory).
      assert.equal((await new TableWindowCounter(clients.limits, () => now).take('slow', 3, 60_000)).allowed, true);
    });
  });
});
