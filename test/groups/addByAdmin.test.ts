import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ForbiddenError } from '../../src/errors';
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
});
