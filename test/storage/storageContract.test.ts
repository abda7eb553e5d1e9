import assert from 'node:assert/strict';
import { MemoryStorage, type Storage } from 'botbuilder';
import { TableStorage, StateTooLargeError, escapeTableKey, CHUNK_CHARS, MAX_CHUNKS } from '../../src/storage/tableStorage';
import { freshTables } from '../helpers/azurite';

/**
 * One contract, two implementations: whatever botbuilder's MemoryStorage does, our Table storage does too.
 */
const implementations: Array<[string, () => Promise<Storage>]> = [
  ['MemoryStorage', async () => new MemoryStorage()],
  ['TableStorage on Azurite', async () => new TableStorage((await freshTables()).clients.botstate)],
];

for (const [name, create] of implementations) {
  describe(`Storage contract: ${name}`, () => {
    let storage: Storage;
    beforeEach(async () => {
      storage = await create();
    });

    it('returns nothing for keys never written', async () => {
      assert.deepEqual(await storage.read(['missing']), {});
    });

    it('reads back what it wrote, with an eTag', async () => {
      await storage.write({ a: { count: 1, nested: { list: [1, 2] } } });
      const items = await storage.read(['a', 'missing']);
      assert.deepEqual(Object.keys(items), ['a']);
      assert.equal(items.a.count, 1);
      assert.deepEqual(items.a.nested, { list: [1, 2] });
      assert.equal(typeof items.a.eTag, 'string');
    });

    it('keeps keys with slashes, hashes, question marks, percent signs and unicode apart', async () => {
      const keys = ['msteams/conversations/a:1/', 'x#y?z', 'back\\slash', '100%', 'Grüße/✓', 'msteams%2Fconversations'];
      await storage.write(Object.fromEntries(keys.map((k, i) => [k, { i }])));
      const items = await storage.read(keys);
      keys.forEach((k, i) => assert.equal(items[k].i, i, k));
    });

    it('writes unconditionally when the eTag is * or missing', async () => {
      await storage.write({ k: { v: 1 } });
      await storage.write({ k: { v: 2, eTag: '*' } });
      await storage.write({ k: { v: 3 } });
      assert.equal((await storage.read(['k'])).k.v, 3);
    });

    it('writes when the eTag matches and changes the eTag', async () => {
      await storage.write({ k: { v: 1 } });
      const first = (await storage.read(['k'])).k;
      await storage.write({ k: { ...first, v: 2 } });
      const second = (await storage.read(['k'])).k;
      assert.equal(second.v, 2);
      assert.notEqual(second.eTag, first.eTag);
    });

    it('refuses a stale eTag with an "eTag conflict" error and keeps the newer value', async () => {
      await storage.write({ k: { v: 1 } });
      const stale = (await storage.read(['k'])).k;
      await storage.write({ k: { ...stale, v: 2 } });
      await assert.rejects(storage.write({ k: { ...stale, v: 3 } }), /eTag conflict/);
      assert.equal((await storage.read(['k'])).k.v, 2);
    });

    it('lets exactly one of two concurrent writers with the same eTag win', async () => {
      await storage.write({ k: { v: 0 } });
      const base = (await storage.read(['k'])).k;
      const results = await Promise.allSettled([storage.write({ k: { ...base, v: 'a' } }), storage.write({ k: { ...base, v: 'b' } })]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    });

    it('deletes, and deleting a missing key is fine', async () => {
      await storage.write({ k: { v: 1 } });
      await storage.delete(['k', 'never-there']);
      assert.deepEqual(await storage.read(['k']), {});
    });
  });
}

describe('TableStorage specifics', () => {
  it('stores state larger than one table property across chunks and reads it back', async () => {
    const storage = new TableStorage((await freshTables()).clients.botstate);
    const big = 'x'.repeat(CHUNK_CHARS * 3 + 17);
    await storage.write({ big: { big } });
    assert.equal((await storage.read(['big'])).big.big, big);
  });

  it('refuses state past one entity with a clear error and writes nothing', async () => {
    const storage = new TableStorage((await freshTables()).clients.botstate);
    const tooBig = 'y'.repeat(CHUNK_CHARS * MAX_CHUNKS + 1);
    await assert.rejects(storage.write({ huge: { tooBig } }), StateTooLargeError);
    assert.deepEqual(await storage.read(['huge']), {});
  });

  it('escapes keys reversibly-safe and bounds their length', () => {
    assert.equal(escapeTableKey('a/b#c?d\\e%f'), 'a%2fb%23c%3fd%5ce%25f');
    assert.ok(escapeTableKey('k'.repeat(5000)).length < 1024);
    assert.notEqual(escapeTableKey('k'.repeat(5000)), escapeTableKey('k'.repeat(5001)));
  });
});
