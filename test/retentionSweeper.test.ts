import assert from 'node:assert/strict';
import { DAY_MS, RetentionSweeper } from '../src/retentionSweeper';
import { memoryLogger } from './helpers/testApp';

const NOW = new Date('2026-11-30T12:00:00Z');

describe('RetentionSweeper: deletes what a target holds past its age, at start-up and every hour', () => {
  it('asks the target for rows older than now minus the policy, and logs how many went', async () => {
    const cutoffs: string[] = [];
    const { logger, logs } = memoryLogger();
    const sweeper = new RetentionSweeper(
      { deleteOlderThan: async (cutoff) => (cutoffs.push(cutoff), 3) },
      { what: 'redelivery leases', keepMs: DAY_MS },
      logger,
      () => NOW,
    );
    assert.equal(await sweeper.sweep(), 3);
    assert.deepEqual(cutoffs, ['2026-11-29T12:00:00.000Z']);
    assert.ok(logs.some((l) => l.msg === 'rows past retention deleted' && l.what === 'redelivery leases' && l.deleted === 3));
  });

  it('runs one sweep for overlapping calls', async () => {
    let calls = 0;
    let finish!: (n: number) => void;
    const sweeper = new RetentionSweeper(
      { deleteOlderThan: () => (calls++, new Promise<number>((resolve) => (finish = resolve))) },
      { what: 'posts', keepMs: 7 * DAY_MS },
      memoryLogger().logger,
      () => NOW,
    );
    const first = sweeper.sweep();
    const second = sweeper.sweep();
    finish(1);
    assert.deepEqual(await Promise.all([first, second]), [1, 1]);
    assert.equal(calls, 1);
    const later = sweeper.sweep();
    finish(0);
    assert.equal(await later, 0);
    assert.equal(calls, 2, 'a later call sweeps again');
  });

  it('sweeps at start, logs a failed sweep as a warning without throwing, and stops', async () => {
    const { logger, logs } = memoryLogger();
    let calls = 0;
    const sweeper = new RetentionSweeper(
      {
        deleteOlderThan: async () => {
          calls++;
          throw new Error('storage unavailable');
        },
      },
      { what: 'posts', keepMs: DAY_MS },
      logger,
    );
    sweeper.start();
    await sweeper.stop();
    assert.equal(calls, 1);
    assert.ok(logs.some((l) => l.msg === 'retention sweep failed' && l.what === 'posts' && l.err === 'storage unavailable'));
  });
});
