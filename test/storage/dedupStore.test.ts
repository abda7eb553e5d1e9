import assert from 'node:assert/strict';
import { DedupStore } from '../../src/storage/dedupStore';
import { freshTables } from '../helpers/azurite';

describe('DedupStore', () => {
  it('lets the first claim win and every later claim lose', async () => {
    const dedup = new DedupStore((await freshTables()).clients.dedup);
    assert.equal(await dedup.claim('conv/1', 'activity-1'), true);
    assert.equal(await dedup.claim('conv/1', 'activity-1'), false);
    assert.equal(await dedup.claim('conv/1', 'activity-2'), true);
    assert.equal(await dedup.claim('conv/2', 'activity-1'), true);
  });

  it('lets exactly one of ten concurrent claims win', async () => {
    const dedup = new DedupStore((await freshTables()).clients.dedup);
    const wins = await Promise.all(Array.from({ length: 10 }, () => dedup.claim('s', 'same-id')));
    assert.equal(wins.filter(Boolean).length, 1);
  });
});
