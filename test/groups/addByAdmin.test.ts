import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ForbiddenError, InvalidInputError } from '../../src/errors';
import { GroupService } from '../../src/groups/groupService';
import type { UserRef } from '../../src/groups/model';
import { MemoryGroupStore } from '../../src/storage/memoryGroupStore';

const ANN: UserRef = { id: 'aad-ann', name: 'Ann Admin' };
const BOB: UserRef = { id: 'aad-bob', name: 'Bob' };
const CY: UserRef = { id: 'aad-cy', name: 'Cy' };

describe('GroupService.addByAdmin (bulk add)', () => {
  let service: GroupService;
  let store: MemoryGroupStore;
  let groupId: string;

  beforeEach(async () => {
    store = new MemoryGroupStore();
    service = new GroupService({ store, appSecret: 'k'.repeat(48), publicUrl: 'http://127.0.0.1:3978' });
    groupId = (await service.createGroup({ name: 'Depot', creator: ANN, idempotencyKey: randomUUID() })).id;
  });

  it('adds once (a rerun finds a member), counts, audits "added" by the admin, and makes the group current for them', async () => {
    assert.equal(await service.addByAdmin(groupId, { user: ANN }, { user: BOB, role: 'member', conversationRef: '{"c":1}' }), 'added');
    assert.equal(await service.addByAdmin(groupId, { user: ANN }, { user: BOB, role: 'member' }), 'already_member');
    assert.equal((await service.getGroup(groupId)).memberCount, 2);
    const trail = await service.auditTrail(groupId);
    assert.deepEqual([trail.items[0]?.action, trail.items[0]?.actor.id, trail.items[0]?.subject?.id], ['added', ANN.id, BOB.id]);
    assert.equal((await store.getMember(groupId, BOB.id))?.conversationRef, '{"c":1}');
    assert.deepEqual(
      (await service.listMyGroups(BOB.id)).items.map((g) => g.group.id),
      [groupId],
    );
  });

  it('adds as admin when asked, and does not add someone an admin removed', async () => {
    assert.equal(await service.addByAdmin(groupId, { user: ANN }, { user: CY, role: 'admin' }), 'added');
    assert.equal((await store.getMember(groupId, CY.id))?.role, 'admin');
    await service.addByAdmin(groupId, { user: ANN }, { user: BOB, role: 'member' });
    await service.removeMember(groupId, { user: ANN }, BOB.id);
    assert.equal(await service.addByAdmin(groupId, { user: ANN }, { user: BOB, role: 'member' }), 'removed');
    assert.equal(await store.getMember(groupId, BOB.id), undefined);
  });

  it('is for admins only', async () => {
    await service.addByAdmin(groupId, { user: ANN }, { user: BOB, role: 'member' });
    await assert.rejects(service.addByAdmin(groupId, { user: BOB }, { user: CY, role: 'member' }), ForbiddenError);
  });

  describe('many at once (a bulk add chunk)', () => {
    const crowd: UserRef[] = Array.from({ length: 60 }, (_, i) => ({ id: `aad-p${i}`, name: `Person ${i}` }));
    const asMembers = (users: UserRef[]) => users.map((user) => ({ user, role: 'member' as const }));

    it('adds the new people, finds the members, does not add the removed, makes the admin row an admin, in order', async () => {
      await service.addByAdmin(groupId, { user: ANN }, { user: BOB, role: 'member' });
      await service.addByAdmin(groupId, { user: ANN }, { user: CY, role: 'member' });
      await service.removeMember(groupId, { user: ANN }, CY.id);
      const results = await service.addManyByAdmin(groupId, { user: ANN }, [
        ...asMembers(crowd.slice(0, 30)),
        { user: BOB, role: 'admin' },
        { user: CY, role: 'member' },
        ...asMembers(crowd.slice(30)),
        { user: ANN, role: 'member' },
      ]);
      assert.deepEqual(results, [...Array(30).fill('added'), 'already_member', 'removed', ...Array(30).fill('added'), 'already_member']);
      assert.equal((await service.getGroup(groupId)).memberCount, 62);
      assert.equal((await store.getMember(groupId, BOB.id))?.role, 'admin');
      assert.equal((await store.getMember(groupId, ANN.id))?.role, 'admin', 'an admin added as a member stays an admin');
      assert.equal(await store.getMember(groupId, CY.id), undefined);
      assert.deepEqual(
        (await service.listMyGroups('aad-p42')).items.map((g) => g.group.id),
        [groupId],
      );
      assert.deepEqual((await service.listMyGroups(CY.id)).items, [], 'the removed person is not indexed');
      const added = (await service.auditTrail(groupId, { pageSize: 100 })).items.filter((e) => e.action === 'added');
      assert.equal(added.length, 62, 'Bob, Cy (before) and the sixty, each once');
      assert.deepEqual(
        (await service.membersNamed(groupId, { user: ANN }, 'person 42')).map((m) => m.user.id),
        ['aad-p42'],
      );
    });

    it('done again after a crash: everyone is a member already, nobody added or counted twice', async () => {
      const first = await service.addManyByAdmin(groupId, { user: ANN }, asMembers(crowd));
      const again = await service.addManyByAdmin(groupId, { user: ANN }, asMembers(crowd));
      assert.ok(first.every((r) => r === 'added'));
      assert.ok(again.every((r) => r === 'already_member'));
      assert.equal((await service.getGroup(groupId)).memberCount, 61);
    });

    it('refuses one invalid person and adds the others; the same person twice is added once', async () => {
      const results = await service.addManyByAdmin(groupId, { user: ANN }, [
        { user: BOB, role: 'member' },
        { user: { id: '   ', name: 'Nobody' }, role: 'member' },
        { user: BOB, role: 'member' },
      ]);
      assert.equal(results[0], 'added');
      assert.ok(typeof results[1] === 'object' && results[1].refused instanceof InvalidInputError);
      assert.equal(results[2], 'already_member');
      assert.equal((await service.getGroup(groupId)).memberCount, 2);
    });

    it('is for admins only: nobody of the chunk is added', async () => {
      await assert.rejects(service.addManyByAdmin(groupId, { user: BOB }, asMembers(crowd)), ForbiddenError);
      assert.equal((await service.getGroup(groupId)).memberCount, 1);
    });
  });
});
