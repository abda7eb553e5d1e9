import assert from 'node:assert/strict';
import { ForbiddenError, NotFoundError } from '../../src/errors';
import { GroupService, LastAdminError } from '../../src/groups/groupService';
import type { Group, UserRef } from '../../src/groups/model';
import { MemoryGroupStore } from '../../src/storage/memoryGroupStore';

const alice: UserRef = { id: 'alice', name: 'Alice' };
const bob: UserRef = { id: 'bob', name: 'Bob' };
const carol: UserRef = { id: 'carol', name: 'Carol' };
const TENANT = '11111111-2222-3333-4444-555555555555';

/** Issue 17: an admin made a member again (never the last admin), and what a removal reports. On the memory store. */
describe('GroupService: remove admin, and who a removal removed', () => {
  let service: GroupService;
  let key = 0;

  beforeEach(() => {
    service = new GroupService({
      store: new MemoryGroupStore(),
      appSecret: 'remove-admin-secret-0123456789abcdef',
      publicUrl: 'https://bot.example',
    });
  });

  async function groupWith(members: UserRef[]): Promise<Group> {
    const group = await service.createGroup({ name: 'Alpha Crew', creator: alice, idempotencyKey: `k-${++key}` });
    const { url } = await service.getInvite(group.id, alice);
    for (const user of members) await service.join({ ref: url, user, conversationRef: `{"user":"${user.id}"}` });
    return group;
  }

  const roleOf = async (groupId: string, userId: string) =>
    (await service.listMembers(groupId, { user: alice }, { pageSize: 100 })).items.find((m) => m.user.id === userId)?.role;

  it('makes an admin a member again: the role, the admins and the audit trail', async () => {
    const group = await groupWith([bob]);
    await service.makeAdmin(group.id, { user: alice }, bob.id);
    const member = await service.removeAdmin(group.id, { user: alice }, bob.id);
    assert.equal(member.role, 'member');
    assert.equal(await roleOf(group.id, bob.id), 'member');
    assert.deepEqual(
      (await service.listAdmins(group.id)).map((a) => a.user.id),
      [alice.id],
    );
    const [entry] = (await service.auditTrail(group.id, { pageSize: 1 })).items;
    assert.deepEqual([entry?.action, entry?.subject, entry?.detail], ['role_changed', bob, 'member']);
  });

  it('lets an admin step down while another admin remains', async () => {
    const group = await groupWith([bob]);
    await service.makeAdmin(group.id, { user: alice }, bob.id);
    await service.removeAdmin(group.id, { user: alice }, alice.id);
    assert.equal(await roleOf(group.id, alice.id), 'member');
    assert.equal(await roleOf(group.id, bob.id), 'admin');
  });

  it('never makes the last admin a member, whoever asks', async () => {
    const group = await groupWith([bob]);
    await assert.rejects(service.removeAdmin(group.id, { user: alice }, alice.id), LastAdminError);
    await assert.rejects(service.removeAdmin(group.id, { user: alice, orgAdminOfTenant: TENANT }, alice.id), LastAdminError);
    assert.equal(await roleOf(group.id, alice.id), 'admin');
  });

  it('refuses members, and someone who is not in the group', async () => {
    const group = await groupWith([bob, carol]);
    await service.makeAdmin(group.id, { user: alice }, carol.id);
    await assert.rejects(service.removeAdmin(group.id, { user: bob }, carol.id), ForbiddenError);
    await assert.rejects(service.removeAdmin(group.id, { user: alice }, 'nobody'), NotFoundError);
    assert.equal(await roleOf(group.id, carol.id), 'admin');
  });

  it('leaves a member a member (a second click changes nothing)', async () => {
    const group = await groupWith([bob]);
    const version = (await service.auditTrail(group.id, { pageSize: 10 })).items.length;
    assert.equal((await service.removeAdmin(group.id, { user: alice }, bob.id)).role, 'member');
    assert.equal((await service.auditTrail(group.id, { pageSize: 10 })).items.length, version);
  });

  it('lets an organization admin of the owning tenant do it', async () => {
    const group = await groupWith([bob]);
    await service.makeAdmin(group.id, { user: alice }, bob.id);
    await service.mapToOrganization({
      groupId: group.id,
      actor: alice,
      verified: { tenantId: TENANT, organizationName: 'Contoso', objectId: 'oid' },
      idempotencyKey: 'map-1',
    });
    const orgAdmin = { user: carol, orgAdminOfTenant: TENANT };
    assert.equal((await service.removeAdmin(group.id, orgAdmin, bob.id)).role, 'member');
  });

  it('reports who a removal removed (with where to tell them) and from which group', async () => {
    const group = await groupWith([bob]);
    const removed = await service.removeMember(group.id, { user: alice }, bob.id);
    assert.equal(removed.group.name, 'Alpha Crew');
    assert.deepEqual(removed.member.user, bob);
    assert.equal(removed.member.conversationRef, '{"user":"bob"}');
  });

  it('names the member for a confirmation card, for admins only', async () => {
    const group = await groupWith([bob, carol]);
    const { group: named, member } = await service.memberForAdmin(group.id, { user: alice }, bob.id, 'admins only');
    assert.deepEqual([named.name, member.user.name], ['Alpha Crew', 'Bob']);
    await assert.rejects(service.memberForAdmin(group.id, { user: carol }, bob.id, 'admins only'), ForbiddenError);
    await assert.rejects(service.memberForAdmin(group.id, { user: alice }, 'nobody', 'admins only'), NotFoundError);
  });
});
