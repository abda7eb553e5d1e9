import assert from 'node:assert/strict';
import { MAX_PENDING_BYTES, PENDING_TTL_MS, PendingUploads } from '../../src/import/pendingUploads';

describe('import: uploads waiting for Import', () => {
  const upload = (userId: string, size = 10) => ({
    groupId: 'g1',
    userId,
    file: { name: 'chat.txt', bytes: new Uint8Array(size) },
    timeZone: 'UTC',
  });

  it('answers only the admin who uploaded, until it expires', () => {
    let now = 1_000;
    const pending = new PendingUploads(() => now);
    const token = pending.put(upload('ann'));
    assert.equal(pending.get(token, 'bob'), undefined);
    assert.equal(pending.get(token, 'ann')?.groupId, 'g1');
    pending.update(token, { timeZone: 'Europe/Berlin', dateOrder: 'day-first' });
    assert.equal(pending.get(token, 'ann')?.timeZone, 'Europe/Berlin');
    now += PENDING_TTL_MS;
    assert.equal(pending.get(token, 'ann'), undefined);
  });

  it('holds at most 20 uploads and a bounded number of bytes, dropping the oldest', () => {
    const pending = new PendingUploads();
    const tokens = Array.from({ length: 21 }, (_, i) => pending.put(upload(`u${i}`)));
    assert.equal(pending.get(tokens[0]!, 'u0'), undefined);
    assert.ok(pending.get(tokens[20]!, 'u20'));
    const big = new PendingUploads();
    const first = big.put(upload('a', MAX_PENDING_BYTES / 2));
    const second = big.put(upload('b', MAX_PENDING_BYTES / 2));
    const third = big.put(upload('c', 1024));
    assert.equal(big.get(first, 'a'), undefined);
    assert.ok(big.get(second, 'b'));
    assert.ok(big.get(third, 'c'));
  });
});
