import assert from 'node:assert/strict';
import { forEachLimited } from '../../src/storage/partitionSweep';
import type { TableClient } from '@azure/data-tables';
import { DedupStore, type Lease, type LeaseOutcome } from '../../src/storage/dedupStore';
import { freshTables } from '../helpers/azurite';

/** A clock the test moves by hand, so that "the lease expired" needs no waiting. */
class Clock {
  constructor(private t = Date.parse('2026-11-30T12:00:00Z')) {}
  now = () => new Date(this.t);
  advance(ms: number) {
    this.t += ms;
  }
}

const LEASE_MS = 2_000;

function leaseOf(outcome: LeaseOutcome): Lease {
  assert.equal(outcome.kind, 'acquired', `expected the lease, got ${JSON.stringify(outcome)}`);
  return (outcome as { lease: Lease }).lease;
}

describe('DedupStore leases (one row per activity, on Azurite)', () => {
  let table: TableClient;
  let clock: Clock;
  let dedup: DedupStore;
  beforeEach(async () => {
    table = (await freshTables()).clients.dedup;
    clock = new Clock();
    dedup = new DedupStore(table, clock.now);
  });

  it('gives the first delivery the lease with one insert', async () => {
    const lease = leaseOf(await dedup.acquireLease('msteams|a:1|message', 'act-1', LEASE_MS));
    assert.equal(lease.takenOver, false);
    const row = await table.getEntity<{ state: string; owner: string; expiresAt: string }>(lease.partitionKey, lease.rowKey);
    assert.equal(row.state, 'leased');
    assert.equal(row.owner, lease.owner);
    assert.equal(row.expiresAt, new Date(clock.now().getTime() + LEASE_MS).toISOString());
  });

  it('answers a redelivery during the live lease with busy, even from another instance', async () => {
    leaseOf(await dedup.acquireLease('s', 'act-1', LEASE_MS));
    clock.advance(LEASE_MS - 1);
    const other = new DedupStore(table, clock.now);
    const outcome = await other.acquireLease('s', 'act-1', LEASE_MS);
    assert.equal(outcome.kind, 'busy');
  });

  it('lets a redelivery after the lease expired without "done" take it over, and the late first owner cannot mark it done', async () => {
    const first = leaseOf(await dedup.acquireLease('s', 'act-1', LEASE_MS));
    clock.advance(LEASE_MS + 1);
    const second = leaseOf(await dedup.acquireLease('s', 'act-1', LEASE_MS));
    assert.equal(second.takenOver, true);
    assert.notEqual(second.owner, first.owner);
    assert.equal(await dedup.completeLease(first), false, "the lease is no longer the first owner's");
    assert.equal(await dedup.completeLease(second), true);
  });

  it('does nothing for any delivery once the turn is done, however late', async () => {
    const lease = leaseOf(await dedup.acquireLease('s', 'act-1', LEASE_MS));
    assert.equal(await dedup.completeLease(lease), true);
    assert.deepEqual(await dedup.acquireLease('s', 'act-1', LEASE_MS), { kind: 'done' });
    clock.advance(10 * LEASE_MS);
    assert.deepEqual(await dedup.acquireLease('s', 'act-1', LEASE_MS), { kind: 'done' });
  });

  it('lets exactly one of ten simultaneous takeovers of an expired lease win', async () => {
    leaseOf(await dedup.acquireLease('s', 'act-1', LEASE_MS));
    clock.advance(LEASE_MS + 1);
    const instances = Array.from({ length: 10 }, () => new DedupStore(table, clock.now));
    const outcomes = await Promise.all(instances.map((d) => d.acquireLease('s', 'act-1', LEASE_MS)));
    assert.equal(outcomes.filter((o) => o.kind === 'acquired').length, 1, JSON.stringify(outcomes));
    assert.equal(outcomes.filter((o) => o.kind === 'busy').length, 9);
  });

  it('lets exactly one of ten simultaneous first deliveries win', async () => {
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => dedup.acquireLease('s', 'act-1', LEASE_MS)));
    assert.equal(outcomes.filter((o) => o.kind === 'acquired').length, 1);
  });

  it('gives a released lease (its turn threw) to the next delivery at once', async () => {
    const failed = leaseOf(await dedup.acquireLease('s', 'act-1', LEASE_MS));
    await dedup.releaseLease(failed);
    const retry = leaseOf(await dedup.acquireLease('s', 'act-1', LEASE_MS));
    assert.equal(retry.takenOver, false);
  });

  it('does not release a lease that another delivery took over', async () => {
    const first = leaseOf(await dedup.acquireLease('s', 'act-1', LEASE_MS));
    clock.advance(LEASE_MS + 1);
    leaseOf(await dedup.acquireLease('s', 'act-1', LEASE_MS));
    await dedup.releaseLease(first);
    assert.equal((await dedup.acquireLease('s', 'act-1', LEASE_MS)).kind, 'busy');
  });

  it('keeps activities of different conversations apart', async () => {
    leaseOf(await dedup.acquireLease('msteams|a:1|message', 'act-1', LEASE_MS));
    leaseOf(await dedup.acquireLease('msteams|a:2|message', 'act-1', LEASE_MS));
  });

  it('reads a marker of the earlier insert-only claim as done', async () => {
    assert.equal(await dedup.claim('s', 'act-old'), true);
    assert.deepEqual(await dedup.acquireLease('s', 'act-old', LEASE_MS), { kind: 'done' });
  });

  describe('the sweep of old leases (deleteLeasesClaimedBefore)', () => {
    const DAY = 24 * 60 * 60 * 1000;
    const count = async () => {
      let rows = 0;
      for await (const _row of table.listEntities()) rows++;
      return rows;
    };

    it('deletes done and long-expired leases claimed before the cutoff, and keeps newer leases and every claim', async () => {
      const done = leaseOf(await dedup.acquireLease('s', 'old-done', LEASE_MS));
      assert.equal(await dedup.completeLease(done), true);
      leaseOf(await dedup.acquireLease('s', 'old-died-mid-turn', LEASE_MS));
      assert.equal(await dedup.claim('welcome', 'a:1'), true);
      clock.advance(DAY);
      const recent = leaseOf(await dedup.acquireLease('s', 'recent-done', LEASE_MS));
      await dedup.completeLease(recent);
      leaseOf(await dedup.acquireLease('s', 'recent-live', LEASE_MS));
      assert.equal(await count(), 5);

      const cutoff = new Date(clock.now().getTime() - DAY / 2).toISOString();
      assert.equal(await dedup.deleteLeasesClaimedBefore(cutoff), 2);
      assert.equal(await count(), 3);
      assert.equal(await dedup.claim('welcome', 'a:1'), false, 'the welcome claim stays');
      assert.equal((await dedup.acquireLease('s', 'recent-done', LEASE_MS)).kind, 'done');
      assert.equal((await dedup.acquireLease('s', 'recent-live', LEASE_MS)).kind, 'busy');
      // A delivery of a swept activity, a day later, is a new activity to the guard.
      assert.equal((await dedup.acquireLease('s', 'old-done', LEASE_MS)).kind, 'acquired');
    });

    it('pages through more rows than one page holds', async () => {
      // 16 writes at a time, not 1,050 at once: on a busy machine a thousand queued writes pass the storage deadline.
      await forEachLimited(
        Array.from({ length: 1_050 }, (_, i) => i),
        16,
        async (i) => {
          await dedup.completeLease(leaseOf(await dedup.acquireLease(`s${i % 7}`, `a${i}`, LEASE_MS)));
        },
      );
      clock.advance(DAY);
      assert.equal(await dedup.deleteLeasesClaimedBefore(clock.now().toISOString()), 1_050);
      assert.equal(await count(), 0);
    });

    it('leaves a lease taken over between the listing and its delete (the delete is conditional on the listed eTag)', async () => {
      leaseOf(await dedup.acquireLease('s', 'act-1', LEASE_MS));
      clock.advance(LEASE_MS + 1);
      const deleteEntity = table.deleteEntity.bind(table);
      let taken: Lease | undefined;
      const racing = Object.create(table) as TableClient;
      racing.deleteEntity = async (...args: Parameters<TableClient['deleteEntity']>) => {
        taken ??= leaseOf(await dedup.acquireLease('s', 'act-1', LEASE_MS));
        return deleteEntity(...args);
      };
      const sweeping = new DedupStore(racing, clock.now);
      assert.equal(await sweeping.deleteLeasesClaimedBefore(clock.now().toISOString()), 0);
      assert.equal(taken?.takenOver, true);
      assert.equal(await dedup.completeLease(taken!), true, 'the new delivery still holds its lease');
    });
  });
});
