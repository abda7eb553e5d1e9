import assert from 'node:assert/strict';
import sinon from 'sinon';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError, TooLargeError } from '../../src/errors';
import { GroupService, LastAdminError } from '../../src/groups/groupService';
import type { Group, UserRef } from '../../src/groups/model';
import { MemoryGroupStore } from '../../src/storage/memoryGroupStore';

const SECRET = 'service-test-secret-0123456789abcdef';
const PUBLIC_URL = 'https://bot.example.com';
const TENANT = '11111111-2222-3333-4444-555555555555';
const OTHER_TENANT = '99999999-8888-7777-6666-555555555555';
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]);

const alice: UserRef = { id: 'alice', name: 'Alice' };
const bob: UserRef = { id: 'bob', name: 'Bob' };
const carol: UserRef = { id: 'carol', name: 'Carol' };
const dave: UserRef = { id: 'dave', name: 'Dave' };

let keyCounter = 0;
const freshKey = () => `conv|activity-${++keyCounter}`;
const users = (n: number, prefix = 'user') => Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, name: `${prefix} ${i}` }));

async function inFlight<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

describe('GroupService', () => {
  let store: MemoryGroupStore;
  let service: GroupService;

  beforeEach(() => {
    // In memory: the same contract as the Table store (test/storage/groupStoreContract.ts), in milliseconds.
    store = new MemoryGroupStore();
    service = new GroupService({ store, appSecret: SECRET, publicUrl: PUBLIC_URL });
  });

  async function partitionRows(groupId: string): Promise<string[]> {
    return store.groups.rowKeys(groupId);
  }

  async function groupWith(members: UserRef[], name = 'Field team'): Promise<Group> {
    const group = await service.createGroup({ name, creator: alice, idempotencyKey: freshKey() });
    const { url } = await service.getInvite(group.id, alice);
    for (const user of members) await service.join({ ref: url, user });
    return group;
  }

  async function mappedGroup(members: UserRef[] = []): Promise<Group> {
    const group = await groupWith(members);
    await service.mapToOrganization({
      groupId: group.id,
      actor: alice,
      verified: { tenantId: TENANT, objectId: 'oid-alice', organizationName: 'Contoso' },
      idempotencyKey: freshKey(),
    });
    return group;
  }

  describe('creating a group', () => {
    it('makes the creator its only admin and member, private, and lists it in their groups', async () => {
      const group = await service.createGroup({ name: '  Plant 2 crew ', creator: alice, idempotencyKey: freshKey() });
      assert.equal(group.name, 'Plant 2 crew');
      assert.equal(group.status, 'private');
      assert.equal(group.memberCount, 1);
      assert.equal(group.linkNonce, undefined, 'the link nonce never leaves the domain');
      assert.deepEqual(
        (await service.listAdmins(group.id)).map((m) => m.user),
        [alice],
      );
      const mine = await service.listMyGroups(alice.id);
      assert.ok(mine.items.some((g) => g.group.id === group.id && g.role === 'admin'));
    });

    it('returns the same group for the same idempotency key and creates nothing twice', async () => {
      const key = freshKey();
      const [first, second] = await Promise.all([
        service.createGroup({ name: 'Once', creator: alice, idempotencyKey: key }),
        service.createGroup({ name: 'Once', creator: alice, idempotencyKey: key }),
      ]);
      const third = await service.createGroup({ name: 'Once', creator: alice, idempotencyKey: key });
      assert.equal(first.id, second.id);
      assert.equal(first.id, third.id);
      const rows = await partitionRows(first.id);
      assert.equal(rows.filter((k) => k.startsWith('member|')).length, 1);
      assert.equal(rows.filter((k) => k.startsWith('audit|')).length, 1);
    });

    it('refuses a reused idempotency key from another person', async () => {
      const key = freshKey();
      await service.createGroup({ name: 'Mine', creator: alice, idempotencyKey: key });
      await assert.rejects(service.createGroup({ name: 'Mine', creator: bob, idempotencyKey: key }), ConflictError);
    });

    it('refuses a bad name with a friendly message and writes nothing', async () => {
      const key = freshKey();
      await assert.rejects(
        service.createGroup({ name: 'a\u202eb', creator: alice, idempotencyKey: key }),
        (err: unknown) => err instanceof InvalidInputError && /text-direction/.test(err.userMessage),
      );
      await assert.rejects(service.createGroup({ name: '   ', creator: alice, idempotencyKey: key }), InvalidInputError);
      const retried = await service.createGroup({ name: 'Good', creator: alice, idempotencyKey: key });
      assert.equal(retried.name, 'Good');
    });

    it('leaves no half-written group when the group transaction fails', async () => {
      const key = freshKey();
      sinon.stub(store.groups, 'submitTransaction').rejects(Object.assign(new Error('storage down'), { statusCode: 503 }));
      await assert.rejects(service.createGroup({ name: 'Doomed', creator: bob, idempotencyKey: key }), /storage down/);
      sinon.restore();
      assert.deepEqual((await service.listMyGroups(bob.id)).items, []);
      const group = await service.createGroup({ name: 'Doomed', creator: bob, idempotencyKey: key });
      assert.equal(group.memberCount, 1);
    });

    it('repairs the index rows on a retry when they failed after the group was written', async () => {
      const key = freshKey();
      sinon.stub(store, 'indexUserGroup').rejects(new Error('index down'));
      await assert.rejects(service.createGroup({ name: 'Half', creator: carol, idempotencyKey: key }), /index down/);
      sinon.restore();
      assert.deepEqual((await service.listMyGroups(carol.id)).items, []);
      const group = await service.createGroup({ name: 'Half', creator: carol, idempotencyKey: key });
      assert.deepEqual(
        (await service.listMyGroups(carol.id)).items.map((g) => g.group.id),
        [group.id],
      );
    });

    it('stores the optional photo and refuses photos of the wrong type or size', async () => {
      const group = await service.createGroup({
        name: 'Pic',
        creator: alice,
        idempotencyKey: freshKey(),
        photo: { bytes: PNG, contentType: 'image/png' },
      });
      assert.equal(group.photo?.contentType, 'image/png');
      const photo = await service.getPhoto(group.id);
      assert.deepEqual(photo.bytes, PNG);
      assert.equal(photo.version, group.photo?.version);
      await assert.rejects(
        service.createGroup({ name: 'Pic', creator: alice, idempotencyKey: freshKey(), photo: { bytes: PNG, contentType: 'image/jpeg' } }),
        InvalidInputError,
      );
      const huge = Buffer.concat([PNG, Buffer.alloc(48 * 1024)]);
      await assert.rejects(
        service.createGroup({ name: 'Pic', creator: alice, idempotencyKey: freshKey(), photo: { bytes: huge, contentType: 'image/png' } }),
        TooLargeError,
      );
    });
  });

  describe('invites and joining', () => {
    it('shows the invite to members only, with a link, a token and a join code', async () => {
      const group = await groupWith([bob]);
      const invite = await service.getInvite(group.id, bob);
      assert.equal(invite.url, `${PUBLIC_URL}/join/${invite.token}`);
      assert.match(invite.joinCode, /^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
      assert.deepEqual(await service.getInvite(group.id, alice), invite, 'the same link every time it is opened');
      await assert.rejects(service.getInvite(group.id, carol), ForbiddenError);
    });

    it('resolves a link, a bare token and a loosely typed join code to the group', async () => {
      const group = await groupWith([]);
      const invite = await service.getInvite(group.id, alice);
      for (const ref of [invite.url, invite.token, invite.joinCode.toLowerCase().replace('-', ' '), invite.joinCode.replace('-', '')]) {
        assert.equal((await service.resolveInvite(ref)).id, group.id, ref);
      }
    });

    it('refuses an unknown invite and an input that is no invite at all', async () => {
      await assert.rejects(
        service.resolveInvite('AAAAAAAAAAAAAAAAAAAAAA'),
        (err: unknown) => err instanceof NotFoundError && /not valid any more/.test(err.userMessage),
      );
      await assert.rejects(service.join({ ref: 'ZZZZZ-ZZZZZ', user: bob }), NotFoundError);
      await assert.rejects(service.resolveInvite('hello'), InvalidInputError);
    });

    it('joins by code, and a second join reports alreadyMember without counting twice', async () => {
      const group = await groupWith([]);
      const { joinCode } = await service.getInvite(group.id, alice);
      const first = await service.join({ ref: joinCode, user: bob, conversationRef: '{"conversation":{"id":"a:1"}}' });
      assert.equal(first.alreadyMember, false);
      assert.equal(first.group.memberCount, 2);
      const second = await service.join({ ref: joinCode, user: bob });
      assert.equal(second.alreadyMember, true);
      assert.equal((await service.getGroup(group.id)).memberCount, 2);
      const member = (await service.listMembers(group.id, { user: alice })).items.find((m) => m.user.id === bob.id);
      assert.equal(member?.conversationRef, '{"conversation":{"id":"a:1"}}');
      assert.equal(member?.role, 'member');
    });

    it('counts 200 people joining at once (20 in flight) exactly, each a member once', async function () {
      this.timeout(120_000);
      const group = await groupWith([]);
      const { url } = await service.getInvite(group.id, alice);
      const crowd = users(200, 'crowd');
      const results: boolean[] = [];
      await inFlight(crowd, 20, async (user) => results.push((await service.join({ ref: url, user })).alreadyMember));
      assert.equal(results.filter((already) => !already).length, 200);
      assert.equal((await service.getGroup(group.id)).memberCount, 201);
      const seen: string[] = [];
      const { members } = await service.exportGroup(group.id);
      for await (const m of members) seen.push(m.user.id);
      assert.equal(seen.length, 201);
      assert.equal(new Set(seen).size, 201);
      assert.equal((await service.listMyGroups('crowd-7')).items[0]?.group.id, group.id);
    });

    it('lets only admins reset the link', async () => {
      const group = await groupWith([bob]);
      await assert.rejects(service.resetInviteLink(group.id, bob), ForbiddenError);
    });

    it('kills the old link and code at once on reset, even if the old invite rows linger', async () => {
      const group = await groupWith([]);
      const old = await service.getInvite(group.id, alice);
      // Simulate a crash right after the reset's own write: the old rows are never deleted.
      sinon.stub(store, 'deleteInvites').resolves();
      const fresh = await service.resetInviteLink(group.id, alice);
      assert.notEqual(fresh.token, old.token);
      assert.notEqual(fresh.joinCode, old.joinCode);
      for (const ref of [old.url, old.token, old.joinCode]) {
        await assert.rejects(service.join({ ref, user: dave }), NotFoundError, ref);
      }
      assert.equal((await service.join({ ref: fresh.joinCode, user: dave })).alreadyMember, false);
      assert.equal((await service.resolveInvite(fresh.url)).id, group.id);
      const trail = await service.auditTrail(group.id);
      assert.deepEqual(
        trail.items.slice(0, 2).map((e) => e.action),
        ['joined', 'link_reset'],
      );
    });
  });

  describe('leaving, removing and admins', () => {
    it('lets a member leave: the count drops and the group leaves their list', async () => {
      const group = await groupWith([bob, carol]);
      await service.leave(group.id, bob);
      assert.equal((await service.getGroup(group.id)).memberCount, 2);
      assert.deepEqual(
        (await service.listMyGroups(bob.id)).items.filter((g) => g.group.id === group.id),
        [],
      );
      await assert.rejects(service.leave(group.id, bob), ForbiddenError);
    });

    it('does not let the last admin leave without naming a new admin', async () => {
      const group = await groupWith([bob]);
      await assert.rejects(
        service.leave(group.id, alice),
        (err: unknown) => err instanceof LastAdminError && /only admin/.test(err.userMessage),
      );
      await service.leave(group.id, alice, { newAdminId: bob.id });
      assert.deepEqual(
        (await service.listAdmins(group.id)).map((m) => m.user.id),
        [bob.id],
      );
      assert.equal((await service.getGroup(group.id)).memberCount, 1);
    });

    it('tells the only member to delete the group instead of leaving', async () => {
      const group = await groupWith([]);
      await assert.rejects(
        service.leave(group.id, alice),
        (err: unknown) => err instanceof LastAdminError && /delete the group/.test(err.userMessage),
      );
    });

    it('keeps one admin when the two last admins leave at the same moment', async () => {
      const group = await groupWith([bob, carol]);
      await service.makeAdmin(group.id, { user: alice }, bob.id);
      const outcomes = await Promise.allSettled([service.leave(group.id, alice), service.leave(group.id, bob)]);
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      assert.ok(failure?.reason instanceof LastAdminError);
      const admins = await service.listAdmins(group.id);
      assert.equal(admins.length, 1);
      assert.equal((await service.getGroup(group.id)).memberCount, 2);
    });

    it('lets only admins remove members, and never the last admin', async () => {
      const group = await groupWith([bob, carol]);
      await assert.rejects(service.removeMember(group.id, { user: bob }, carol.id), ForbiddenError);
      await service.removeMember(group.id, { user: alice }, carol.id);
      assert.equal((await service.getGroup(group.id)).memberCount, 2);
      assert.deepEqual(
        (await service.listMyGroups(carol.id)).items.filter((g) => g.group.id === group.id),
        [],
      );
      await assert.rejects(service.removeMember(group.id, { user: alice }, carol.id), NotFoundError);
      await assert.rejects(service.removeMember(group.id, { user: alice }, alice.id), InvalidInputError);
      const trail = await service.auditTrail(group.id, { pageSize: 1 });
      assert.equal(trail.items[0]?.action, 'removed');
      assert.deepEqual(trail.items[0]?.subject, carol);
    });

    it('lets organization admins of the owning tenant remove members, but not of another tenant', async () => {
      const group = await mappedGroup([bob, carol]);
      await assert.rejects(service.removeMember(group.id, { user: dave, orgAdminOfTenant: OTHER_TENANT }, bob.id), ForbiddenError);
      await service.removeMember(group.id, { user: dave, orgAdminOfTenant: TENANT }, bob.id);
      await assert.rejects(service.removeMember(group.id, { user: dave, orgAdminOfTenant: TENANT }, alice.id), LastAdminError);
    });

    it('lets only admins make admins; making an admin again changes nothing', async () => {
      const group = await groupWith([bob, carol]);
      await assert.rejects(service.makeAdmin(group.id, { user: bob }, carol.id), ForbiddenError);
      assert.equal((await service.makeAdmin(group.id, { user: alice }, bob.id)).role, 'admin');
      assert.equal((await service.makeAdmin(group.id, { user: alice }, bob.id)).role, 'admin');
      await assert.rejects(service.makeAdmin(group.id, { user: alice }, dave.id), NotFoundError);
      assert.deepEqual((await service.listAdmins(group.id)).map((m) => m.user.id).sort(), [alice.id, bob.id]);
      // The new admin can act as one.
      await service.removeMember(group.id, { user: bob }, carol.id);
    });
  });

  describe('mapping to an organization', () => {
    const verified = { tenantId: TENANT, objectId: 'oid-alice', organizationName: 'Contoso' };

    it('lets only admins map', async () => {
      const group = await groupWith([bob]);
      await assert.rejects(
        service.mapToOrganization({ groupId: group.id, actor: bob, verified, idempotencyKey: freshKey() }),
        ForbiddenError,
      );
    });

    it('maps once, records who did it, lists the group for the organization and is idempotent', async () => {
      const group = await groupWith([]);
      const first = await service.mapToOrganization({ groupId: group.id, actor: alice, verified, idempotencyKey: 'k1' });
      assert.equal(first.changed, true);
      assert.equal(first.group.status, 'organization');
      assert.equal(first.group.organizationName, 'Contoso');
      assert.deepEqual(first.group.mappedBy, alice);
      const again = await service.mapToOrganization({ groupId: group.id, actor: alice, verified, idempotencyKey: 'k1' });
      assert.equal(again.changed, false);
      const stored = await service.getGroup(group.id);
      assert.equal(stored.tenantId, TENANT);
      const orgGroups = await service.listOrgGroups(TENANT, { pageSize: 100 });
      assert.ok(orgGroups.items.some((g) => g.id === group.id));
      assert.equal((await service.auditTrail(group.id)).items.filter((e) => e.action === 'mapped').length, 1);
    });

    it('refuses to move a group that belongs to another organization', async () => {
      const group = await mappedGroup();
      await assert.rejects(
        service.mapToOrganization({
          groupId: group.id,
          actor: alice,
          verified: { ...verified, tenantId: OTHER_TENANT },
          idempotencyKey: freshKey(),
        }),
        (err: unknown) => err instanceof ForbiddenError && /another organization/.test(err.userMessage),
      );
    });

    it('refuses tenants outside the allow-list when one is configured', async () => {
      const limited = new GroupService({ store, appSecret: SECRET, publicUrl: PUBLIC_URL, allowedTenantIds: [OTHER_TENANT.toUpperCase()] });
      const group = await groupWith([]);
      await assert.rejects(
        limited.mapToOrganization({ groupId: group.id, actor: alice, verified, idempotencyKey: freshKey() }),
        (err: unknown) => err instanceof ForbiddenError && /not allowed/.test(err.userMessage),
      );
      const ok = await limited.mapToOrganization({
        groupId: group.id,
        actor: alice,
        verified: { ...verified, tenantId: OTHER_TENANT },
        idempotencyKey: freshKey(),
      });
      assert.equal(ok.changed, true);
    });

    it('exports the group with all members and its audit trail', async () => {
      const group = await mappedGroup([bob]);
      const exported = await service.exportGroup(group.id);
      const members = [];
      for await (const m of exported.members) members.push(m.user.id);
      const actions = [];
      for await (const e of exported.audit) actions.push(e.action);
      assert.deepEqual(members.sort(), [alice.id, bob.id]);
      assert.deepEqual(actions, ['mapped', 'joined', 'created']);
    });
  });

  describe('listing', () => {
    it('pages through more than 20 of my groups', async () => {
      const me = { id: 'busy-person', name: 'Busy' };
      const created = new Set<string>();
      for (let i = 0; i < 25; i++) created.add((await service.createGroup({ name: `G${i}`, creator: me, idempotencyKey: freshKey() })).id);
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await service.listMyGroups(me.id, { pageSize: 10, continuationToken: token });
        seen.push(...page.items.map((g) => g.group.id));
        token = page.continuationToken;
        pages++;
      } while (token);
      assert.equal(pages, 3);
      assert.deepEqual(new Set(seen), created);
    });

    it('pages through more than 20 members, for members only', async () => {
      const group = await groupWith(users(24, 'pager'));
      await assert.rejects(service.listMembers(group.id, { user: dave }), ForbiddenError);
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await service.listMembers(group.id, { user: alice }, { pageSize: 10, continuationToken: token });
        assert.ok(page.items.length <= 10);
        seen.push(...page.items.map((m) => m.user.id));
        token = page.continuationToken;
      } while (token);
      assert.equal(seen.length, 25);
      assert.equal(new Set(seen).size, 25);
    });

    it('drops and repairs "my groups" rows whose membership has ended', async () => {
      const group = await groupWith([bob]);
      sinon.stub(store, 'unindexUserGroup').resolves(); // the leave's clean-up never happens
      await service.leave(group.id, bob);
      sinon.restore();
      assert.deepEqual(
        (await service.listMyGroups(bob.id)).items.filter((g) => g.group.id === group.id),
        [],
      );
      assert.ok(!(await store.listUserGroupIds(bob.id, { pageSize: 100 })).items.includes(group.id));
    });
  });

  describe('deleting a group', () => {
    it('lets only admins delete, and then removes the group, its members, invites and index rows', async () => {
      const group = await mappedGroup([bob, carol]);
      await store.putPhoto(group.id, { bytes: PNG, contentType: 'image/png', version: 'v1' });
      const invite = await service.getInvite(group.id, alice);
      await assert.rejects(service.deleteGroup(group.id, { user: bob }), ForbiddenError);
      await service.deleteGroup(group.id, { user: alice });

      await assert.rejects(service.getGroup(group.id), NotFoundError);
      await assert.rejects(service.resolveInvite(invite.url), NotFoundError);
      await assert.rejects(service.join({ ref: invite.joinCode, user: dave }), NotFoundError);
      await assert.rejects(service.getPhoto(group.id), NotFoundError);
      assert.deepEqual(await partitionRows(group.id), []);
      for (const user of [alice, bob, carol]) {
        assert.ok(!(await store.listUserGroupIds(user.id, { pageSize: 100 })).items.includes(group.id), user.id);
      }
      assert.ok(!(await store.listOrgGroupIds(TENANT, { pageSize: 100 })).items.includes(group.id));
    });
  });
});
