import assert from 'node:assert/strict';
import { odata } from '@azure/data-tables';
import type { Ban, Group, UserRef } from '../../src/groups/model';
import type { NewGroup } from '../../src/groups/ports';
import { TableGroupStore } from '../../src/storage/tableGroupStore';
import type { TableClients } from '../../src/storage/tables';
import { TableWindowCounter } from '../../src/storage/windowCounter';
import { freshTables } from '../helpers/azurite';

const AT = '2025-01-02T03:04:05.000Z';
const alice: UserRef = { id: 'aad-alice', name: 'Alice' };
const bob: UserRef = { id: 'aad-bob/with#odd?chars', name: 'Bob' };

function newGroup(id: string): NewGroup {
  const group: Group = { id, name: `Group ${id}`, createdBy: alice, createdAt: AT, status: 'private', memberCount: 1 };
  return { group, linkNonce: 'nonce-1', creator: { groupId: id, user: alice, role: 'admin', joinedAt: AT }, audit: { groupId: id, at: AT, action: 'created', actor: alice } };
}

describe('Bans and join-code counters in Table Storage (Azurite)', () => {
  let clients: TableClients;

  before(async () => {
    ({ clients } = await freshTables());
  });

  describe('a removal by an admin', () => {
    it('leaves a tombstone where the member row was and a ban row, in the same transaction; joins then report "banned"', async () => {
      const store = new TableGroupStore(clients);
      await store.insertGroup(newGroup('g-ban'));
      await store.addMember({ groupId: 'g-ban', user: bob, role: 'member', joinedAt: AT }, { groupId: 'g-ban', at: AT, action: 'joined', actor: bob });
      const record = (await store.getGroup('g-ban'))!;
      const ban: Ban = { groupId: 'g-ban', user: bob, bannedBy: alice, bannedAt: AT };
      await store.changeMembership({ groupId: 'g-ban', expectedVersion: record.version, adminIds: [alice.id], remove: [bob.id], ban: [ban], audit: [{ groupId: 'g-ban', at: AT, action: 'banned', actor: alice, subject: bob }] });

      const keys: string[] = [];
      for await (const row of clients.groups.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${'g-ban'}` } })) keys.push(row.rowKey!);
      assert.ok(keys.includes('member|aad-bob%2fwith%23odd%3fchars') && keys.includes('ban|aad-bob%2fwith%23odd%3fchars'), keys.join(','));

      assert.equal(await store.getMember('g-ban', bob.id), undefined, 'a tombstone is nobody');
      assert.deepEqual((await store.listMembers('g-ban', { pageSize: 10 })).items.map((m) => m.user.id), [alice.id]);
      assert.deepEqual(await store.getBan('g-ban', bob.id), ban);
      assert.deepEqual((await store.listBans('g-ban', { pageSize: 10 })).items, [ban]);
      assert.equal((await store.getGroup('g-ban'))!.group.memberCount, 1);

      // Twice at once in one transaction, and once more alone: both refused, nothing written, the count unchanged.
      const again = () => store.addMember({ groupId: 'g-ban', user: bob, role: 'member', joinedAt: AT }, { groupId: 'g-ban', at: AT, action: 'joined', actor: bob });
      assert.deepEqual(await Promise.all([again(), again()]), ['banned', 'banned']);
      assert.equal(await again(), 'banned');
      assert.equal((await store.getGroup('g-ban'))!.group.memberCount, 1);

      const now = (await store.getGroup('g-ban'))!;
      await store.changeMembership({ groupId: 'g-ban', expectedVersion: now.version, adminIds: [alice.id], allow: [bob.id], audit: [{ groupId: 'g-ban', at: AT, action: 'allowed', actor: alice, subject: bob }] });
      assert.equal(await store.getBan('g-ban', bob.id), undefined);
      assert.equal(await again(), 'added');
      assert.equal((await store.getGroup('g-ban'))!.group.memberCount, 2);
    });
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
