import assert from 'node:assert/strict';
import { SingleFlight } from '../../src/storage/singleFlight';

/** A read that settles when the test says so, counting how often it started. */
function controlledRead() {
  let started = 0;
  let settle!: { resolve: (value: string) => void; reject: (err: Error) => void };
  const read = () => {
    started++;
    return new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  };
  return { read, started: () => started, settle: () => settle };
}

describe('SingleFlight (shared reads of one key)', () => {
  it('answers overlapping calls for one key with one read', async () => {
    const flight = new SingleFlight<string>();
    const r = controlledRead();
    const first = flight.run('g1', r.read);
    const second = flight.run('g1', r.read);
    r.settle().resolve('group 1');
    assert.deepEqual(await Promise.all([first, second]), ['group 1', 'group 1']);
    assert.equal(r.started(), 1);
  });

  it('reads again once the shared read has settled', async () => {
    const flight = new SingleFlight<string>();
    const r = controlledRead();
    const first = flight.run('g1', r.read);
    r.settle().resolve('old');
    await first;
    const second = flight.run('g1', r.read);
    r.settle().resolve('new');
    assert.equal(await second, 'new');
    assert.equal(r.started(), 2);
  });

  it('keeps keys apart', async () => {
    const flight = new SingleFlight<string>();
    const a = controlledRead();
    const b = controlledRead();
    const first = flight.run('g1', a.read);
    const second = flight.run('g2', b.read);
    a.settle().resolve('one');
    b.settle().resolve('two');
    assert.deepEqual(await Promise.all([first, second]), ['one', 'two']);
  });

  it('gives a failure to every waiting caller, and the next call reads again', async () => {
    const flight = new SingleFlight<string>();
    const r = controlledRead();
    const first = flight.run('g1', r.read);
    const second = flight.run('g1', r.read);
    r.settle().reject(new Error('storage down'));
    await assert.rejects(first, /storage down/);
    await assert.rejects(second, /storage down/);
    const third = flight.run('g1', r.read);
    r.settle().resolve('back');
    assert.equal(await third, 'back');
  });

  it('after clear, a call starts its own read instead of joining the one on its way', async () => {
    const flight = new SingleFlight<string>();
    const r = controlledRead();
    const before = flight.run('g1', r.read);
    const stale = r.settle();
    flight.clear();
    const after = flight.run('g1', r.read);
    stale.resolve('before the restart');
    r.settle().resolve('after the restart');
    assert.equal(await before, 'before the restart');
    assert.equal(await after, 'after the restart');
    assert.equal(r.started(), 2);
  });
});
