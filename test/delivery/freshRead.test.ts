import assert from 'node:assert/strict';
import { FreshRead } from '../../src/delivery/freshRead';

/** The send-time re-check's read: never an answer to a read begun before the caller asked, one read per round trip. */
describe('FreshRead', () => {
  function source() {
    let value = 1;
    const started: Array<{ at: number; resolve: () => void }> = [];
    const read = () =>
      new Promise<number>((resolve) => {
        const at = value;
        started.push({ at, resolve: () => resolve(at) });
      });
    return { read, started, set: (v: number) => (value = v) };
  }

  it('gives a caller who asks while a read is on its way the next read, begun after it asked', async () => {
    const s = source();
    const fresh = new FreshRead(s.read);
    const first = fresh.get();
    s.set(2); // an edit lands while the first read is on its way
    const second = fresh.get();
    const third = fresh.get();
    assert.equal(s.started.length, 1, 'one read at a time');
    s.started[0]!.resolve();
    assert.equal(await first, 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(s.started.length, 2, 'the waiting callers share one new read');
    s.started[1]!.resolve();
    assert.equal(await second, 2);
    assert.equal(await third, 2);
  });

  it('starts again after a failed read', async () => {
    let fail = true;
    const fresh = new FreshRead(async () => {
      if (fail) throw new Error('timeout');
      return 7;
    });
    await assert.rejects(fresh.get(), /timeout/);
    fail = false;
    assert.equal(await fresh.get(), 7);
  });
});
