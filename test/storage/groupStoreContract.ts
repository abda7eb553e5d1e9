import assert from 'node:assert/strict';
import type { TransactionAction } from '@azure/data-tables';
import sinon from 'sinon';
import { InvalidInputError, NotFoundError } from '../../src/errors';
import type { AuditEntry, Ban, Group, Member, UserRef } from '../../src/groups/model';
import { ConcurrentChangeError, type GroupStore, type NewGroup } from '../../src/groups/ports';
import { statusOf } from '../../src/storage/tables';

/**
 * What every GroupStore does, whatever it stores in: run against the in-memory store and the Table store on
 * Azurite (groupStore.test.ts), so domain tests can use the fast one and trust it. Includes what Azure does to
 * a transaction: a second insert is refused (409), a change at a stale version too (412), and a change too big
 * for one transaction (more than 100 actions) fails whole.
 */
export interface GroupStoreHarness {
  store: GroupStore;
  /** Another store on the same data, as a second bot process would have (its own caches). */
  another(): GroupStore;
  /** The table holding the groups' partitions (to make a transaction fail the way storage would). */
  groupsTable: {
    submitTransaction(actions: TransactionAction[]): Promise<unknown>;
    createEntity(entity: { partitionKey: string; rowKey: string }): Promise<unknown>;
  };
  /** Every row key of a group's partition. */
  rowKeys(groupId: string): Promise<string[]>;
}

const AT = '2025-01-02T03:04:05.000Z';
export const alice: UserRef = { id: 'aad-alice', name: 'Alice' };
const bob: UserRef = { id: 'aad-bob/with#odd?chars', name: 'Bob' };

let groupCounter = 0;
/** Group ids are unique per run, so stores that share one table never see each other's groups. */
export const freshGroupId = (name: string) => `g-${name}-${++groupCounter}-${Date.now().toString(36)}`;

export function newGroup(id: string, creator: UserRef = alice): NewGroup {
  const group: Group = { id, name: `Group ${id}`, createdBy: creator, createdAt: AT, status: 'private', memberCount: 1 };
  return {
    group,
    linkNonce: 'nonce-1',
    creator: { groupId: id, user: creator, role: 'admin', joinedAt: AT },
    audit: { groupId: id, at: AT, action: 'created', actor: creator },
  };
}

export const member = (groupId: string, user: UserRef): Member => ({ groupId, user, role: 'member', joinedAt: AT });
export const joined = (groupId: string, user: UserRef): AuditEntry => ({ groupId, at: AT, action: 'joined', actor: user });
const users = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, name: `${prefix} ${i}` }));

async function inFlight<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

export function groupStoreContract(name: string, harness: () => Promise<GroupStoreHarness>): void {
  describe(`GroupStore contract: ${name}`, () => {
    let h: GroupStoreHarness;
    let store: GroupStore;
    beforeEach(async () => {
      h = await harness();
      store = h.store;
    });
    afterEach(() => sinon.restore());

    describe('creating a group', () => {
      it('writes the group, its creator as admin, a count of one and the "created" entry together', async () => {
        const id = freshGroupId('insert');
        assert.equal(await store.insertGroup(newGroup(id)), true);
        const record = await store.getGroup(id);
        assert.equal(record?.group.memberCount, 1);
        assert.deepEqual(record?.adminIds, [alice.id]);
        assert.equal(record?.linkNonce, 'nonce-1');
        assert.equal(typeof record?.version, 'string');
        assert.equal((await store.getMember(id, alice.id))?.role, 'admin');
        assert.deepEqual(
          (await store.listAudit(id, { pageSize: 10 })).items.map((e) => e.action),
          ['created'],
        );
      });

      it('refuses a second insert of the same group (409) and writes nothing of it', async () => {
        const id = freshGroupId('twice');
        await store.insertGroup(newGroup(id));
        const before = await h.rowKeys(id);
        assert.equal(await store.insertGroup(newGroup(id, { id: 'someone-else', name: 'Eve' })), false);
        assert.deepEqual(await h.rowKeys(id), before);
        assert.equal(await store.getMember(id, 'someone-else'), undefined);
      });

      it('leaves nothing behind when the group transaction fails on its last action', async () => {
        const id = freshGroupId('atomic');
        await h.groupsTable.createEntity({ partitionKey: id, rowKey: 'zz-blocker' });
        const original = h.groupsTable.submitTransaction.bind(h.groupsTable);
        sinon
          .stub(h.groupsTable, 'submitTransaction')
          // The group's own transaction (a store may write elsewhere first, e.g. its name index).
          .callsFake((actions: TransactionAction[]) =>
            original(actions[0]?.[1].partitionKey === id ? [...actions, ['create', { partitionKey: id, rowKey: 'zz-blocker' }]] : actions),
          );
        await assert.rejects(store.insertGroup(newGroup(id)), (err) => statusOf(err) === 409);
        sinon.restore();
        assert.deepEqual(await h.rowKeys(id), ['zz-blocker']);
        assert.equal(await store.getGroup(id), undefined);
      });
    });

    describe('joining', () => {
      it('adds a member once, reports the second add as already a member, and counts them once', async () => {
        const id = freshGroupId('add');
        await store.insertGroup(newGroup(id));
        assert.equal(await store.addMember(member(id, bob), joined(id, bob)), 'added');
        assert.equal(await store.addMember(member(id, bob), joined(id, bob)), 'already_member');
        assert.equal((await store.getGroup(id))?.group.memberCount, 2);
        assert.deepEqual((await store.getMember(id, bob.id))?.user, bob, 'ids with characters table keys forbid');
      });

      it('does not change the group version (joins never touch the group row)', async () => {
        const id = freshGroupId('version');
        await store.insertGroup(newGroup(id));
        const before = (await store.getGroup(id))!.version;
        await store.addMember(member(id, bob), joined(id, bob));
        assert.equal((await store.getGroup(id))!.version, before);
      });

      it('counts 200 concurrent joins (20 in flight, some repeated, two stores) exactly, each member once', async function () {
        this.timeout(120_000);
        const id = freshGroupId('crowd');
        await store.insertGroup(newGroup(id));
        const stores = [store, h.another()];
        const crowd = users(200, 'user');
        const outcomes: string[] = [];
        await inFlight([...crowd, ...crowd.slice(0, 20)], 20, async (user) => {
          outcomes.push(await stores[outcomes.length % 2]!.addMember(member(id, user), joined(id, user)));
        });
        assert.equal(outcomes.filter((o) => o === 'added').length, 200);
        assert.equal(outcomes.filter((o) => o === 'already_member').length, 20);
        assert.equal((await store.getGroup(id))?.group.memberCount, 201);
        const ids: string[] = [];
        for await (const m of store.allMembers(id)) ids.push(m.user.id);
        assert.equal(new Set(ids).size, 201);
        assert.equal(ids.length, 201);
      });

      it('adds many at once (bulk add): new ones added, members and the removed found, a repeat once, two stores at once exact', async function () {
        this.timeout(120_000);
        const id = freshGroupId('many');
        await store.insertGroup(newGroup(id));
        const crowd = users(130, 'bulk');
        await store.addMember(member(id, bob), joined(id, bob));
        const record = (await store.getGroup(id))!;
        const ban: Ban = { groupId: id, user: crowd[7]!, bannedBy: alice, bannedAt: AT };
        await store.addMember(member(id, crowd[7]!), joined(id, crowd[7]!));
        await store.changeMembership({
          groupId: id,
          expectedVersion: record.version,
          adminIds: [alice.id],
          remove: [crowd[7]!.id],
          ban: [ban],
          audit: [],
        });
        const adds = (list: UserRef[]) => list.map((user) => ({ member: member(id, user), audit: joined(id, user) }));
        // Two instances on overlapping people (a job's chunk done twice), the first with Bob and a repeat.
        const [first, second] = await Promise.all([
          store.addMembers(id, adds([...crowd.slice(0, 100), bob, crowd[3]!])),
          h.another().addMembers(id, adds(crowd.slice(60))),
        ]);
        assert.equal(first.length, 102);
        assert.equal(first[7], 'banned');
        assert.equal(first[100], 'already_member', 'a member already');
        assert.equal(first[101], 'already_member', 'the same person twice: once');
        const outcome = new Map<string, string[]>();
        const seenAs = (list: UserRef[], results: string[]) =>
          list.forEach((u, i) => outcome.set(u.id, [...(outcome.get(u.id) ?? []), results[i]!]));
        seenAs([...crowd.slice(0, 100), bob, crowd[3]!], first);
        seenAs(crowd.slice(60), second);
        for (const user of crowd) {
          if (user.id === crowd[7]!.id) continue;
          const seen = outcome.get(user.id)!;
          assert.equal(seen.filter((o) => o === 'added').length, 1, `${user.id} added once: ${seen.join(',')}`);
          assert.ok(seen.every((o) => o === 'added' || o === 'already_member'));
        }
        assert.equal((await store.getGroup(id))?.group.memberCount, 2 + 129);
        assert.equal(await store.getMember(id, crowd[7]!.id), undefined, 'the removed person stays out');
        const ids: string[] = [];
        for await (const m of store.allMembers(id)) ids.push(m.user.id);
        assert.equal(ids.length, 131);
        assert.deepEqual(
          (await store.peopleNamed(id, 'bulk 129', 8)).map((p) => p.user.id),
          ['bulk-129'],
          'the name index has them',
        );
        const audit: AuditEntry[] = [];
        for await (const entry of store.allAudit(id)) audit.push(entry);
        assert.equal(
          audit.filter((e) => e.action === 'joined').length,
          2 + 129,
          'one entry a member added (Bob and the removed one before)',
        );
      });

      it('refuses many adds once the group is deleted', async () => {
        const id = freshGroupId('many-gone');
        await store.insertGroup(newGroup(id));
        await h.another().deleteGroup((await store.getGroup(id))!);
        await assert.rejects(store.addMembers(id, [{ member: member(id, bob), audit: joined(id, bob) }]), NotFoundError);
      });

      it('refuses a join once the group is deleted, and the group leaves no rows', async () => {
        const id = freshGroupId('gone');
        await store.insertGroup(newGroup(id));
        await h.another().deleteGroup((await store.getGroup(id))!);
        await assert.rejects(store.addMember(member(id, bob), joined(id, bob)), NotFoundError);
        assert.deepEqual(await h.rowKeys(id), []);
        assert.equal(await store.getGroup(id), undefined);
      });
    });

    describe('changing the membership', () => {
      it('removes a member and lowers the count in the same change', async () => {
        const id = freshGroupId('remove');
        await store.insertGroup(newGroup(id));
        await store.addMember(member(id, bob), joined(id, bob));
        const record = (await store.getGroup(id))!;
        await store.changeMembership({ groupId: id, expectedVersion: record.version, adminIds: [alice.id], remove: [bob.id], audit: [] });
        assert.equal(await store.getMember(id, bob.id), undefined);
        assert.equal((await store.getGroup(id))?.group.memberCount, 1);
        assert.notEqual((await store.getGroup(id))!.version, record.version);
      });

      it('refuses a change made at a stale version (412) and changes nothing', async () => {
        const id = freshGroupId('stale');
        await store.insertGroup(newGroup(id));
        await store.addMember(member(id, bob), joined(id, bob));
        const stale = (await store.getGroup(id))!;
        await store.changeMembership({
          groupId: id,
          expectedVersion: stale.version,
          adminIds: [alice.id, bob.id],
          setRoles: [{ userId: bob.id, role: 'admin' }],
          audit: [{ groupId: id, at: AT, action: 'role_changed', actor: alice, subject: bob }],
        });
        await assert.rejects(
          store.changeMembership({ groupId: id, expectedVersion: stale.version, adminIds: [alice.id], remove: [bob.id], audit: [] }),
          ConcurrentChangeError,
        );
        const after = (await store.getGroup(id))!;
        assert.deepEqual(after.adminIds, [alice.id, bob.id]);
        assert.equal(after.group.memberCount, 2);
        assert.equal((await store.getMember(id, bob.id))?.role, 'admin');
      });

      it('makes an admin a member again: the role and the admins in one change (issue 17, remove admin)', async () => {
        const id = freshGroupId('demote');
        await store.insertGroup(newGroup(id));
        await store.addMember(member(id, bob), joined(id, bob));
        const promoted = { groupId: id, adminIds: [alice.id, bob.id], setRoles: [{ userId: bob.id, role: 'admin' as const }], audit: [] };
        await store.changeMembership({ ...promoted, expectedVersion: (await store.getGroup(id))!.version });
        const demoted = { groupId: id, adminIds: [alice.id], setRoles: [{ userId: bob.id, role: 'member' as const }], audit: [] };
        await store.changeMembership({ ...demoted, expectedVersion: (await store.getGroup(id))!.version });
        assert.deepEqual((await store.getGroup(id))!.adminIds, [alice.id]);
        assert.equal((await store.getMember(id, bob.id))?.role, 'member');
        assert.equal((await store.getGroup(id))!.group.memberCount, 2);
      });

      it('refuses a group change at a stale version too', async () => {
        const id = freshGroupId('stale-update');
        await store.insertGroup(newGroup(id));
        const stale = (await store.getGroup(id))!;
        const audit: AuditEntry = { groupId: id, at: AT, action: 'link_reset', actor: alice };
        await store.updateGroup(id, stale.version, { linkNonce: 'nonce-2' }, audit);
        await assert.rejects(store.updateGroup(id, stale.version, { linkNonce: 'nonce-3' }, audit), ConcurrentChangeError);
        assert.equal((await store.getGroup(id))!.linkNonce, 'nonce-2');
      });

      it('refuses, whole, a change too big for one transaction (more than 100 actions)', async () => {
        const id = freshGroupId('too-big');
        await store.insertGroup(newGroup(id));
        const crowd = users(100, 'big');
        for (const user of crowd) await store.addMember(member(id, user), joined(id, user));
        const record = (await store.getGroup(id))!;
        await assert.rejects(
          store.changeMembership({
            groupId: id,
            expectedVersion: record.version,
            adminIds: [alice.id],
            remove: crowd.map((u) => u.id),
            audit: [],
          }),
        );
        assert.equal((await store.getGroup(id))!.group.memberCount, 101);
        assert.equal((await store.getGroup(id))!.version, record.version);
        assert.ok(await store.getMember(id, 'big-0'));
      });

      it('leaves a ban where a removed member was: joins report "banned" until an admin allows them back', async () => {
        const id = freshGroupId('ban');
        await store.insertGroup(newGroup(id));
        await store.addMember(member(id, bob), joined(id, bob));
        const record = (await store.getGroup(id))!;
        const ban: Ban = { groupId: id, user: bob, bannedBy: alice, bannedAt: AT };
        await store.changeMembership({
          groupId: id,
          expectedVersion: record.version,
          adminIds: [alice.id],
          remove: [bob.id],
          ban: [ban],
          audit: [{ groupId: id, at: AT, action: 'banned', actor: alice, subject: bob }],
        });

        assert.equal(await store.getMember(id, bob.id), undefined, 'a banned person is no member');
        assert.deepEqual(
          (await store.listMembers(id, { pageSize: 10 })).items.map((m) => m.user.id),
          [alice.id],
        );
        assert.deepEqual(await store.getBan(id, bob.id), ban);
        assert.deepEqual((await store.listBans(id, { pageSize: 10 })).items, [ban]);
        assert.equal((await store.getGroup(id))!.group.memberCount, 1);

        const again = () => store.addMember(member(id, bob), joined(id, bob));
        assert.deepEqual(await Promise.all([again(), again()]), ['banned', 'banned']);
        assert.equal(await again(), 'banned');
        assert.equal((await store.getGroup(id))!.group.memberCount, 1);

        const now = (await store.getGroup(id))!;
        await store.changeMembership({
          groupId: id,
          expectedVersion: now.version,
          adminIds: [alice.id],
          allow: [bob.id],
          audit: [{ groupId: id, at: AT, action: 'allowed', actor: alice, subject: bob }],
        });
        assert.equal(await store.getBan(id, bob.id), undefined);
        assert.equal(await again(), 'added');
        assert.equal((await store.getGroup(id))!.group.memberCount, 2);
      });
    });

    describe('finding people by name', () => {
      const ann = { id: 'aad-ann', name: 'Ann Lee' };
      const annPark = { id: 'aad-ann-park', name: 'ANN  Park' };
      const anna = { id: 'aad-anna', name: 'Anna-Marie O’Neil' };
      const dave = { id: 'aad-dave/odd#id?', name: '**Dave** [x](y) | 100%' };
      const named = async (id: string, typed: string) =>
        (await store.peopleNamed(id, typed, 8)).map((p) => [p.user.id, p.exact, p.member ? p.member.role : 'removed']);

      it('finds a member by the whole name first, then by word starts; a name that begins no word finds nobody', async () => {
        const id = freshGroupId('names');
        await store.insertGroup(newGroup(id));
        for (const user of [ann, annPark, anna, dave]) await store.addMember(member(id, user), joined(id, user));
        assert.deepEqual(await named(id, 'alice'), [[alice.id, true, 'admin']], 'the creator');
        assert.deepEqual(await named(id, 'ann lee'), [[ann.id, true, 'member']]);
        assert.deepEqual((await named(id, 'ann')).map(([userId]) => userId).sort(), [ann.id, annPark.id, anna.id].sort());
        assert.deepEqual(await named(id, 'ann p'), [[annPark.id, false, 'member']], 'spaces collapsed, any case');
        assert.deepEqual(await named(id, 'marie o'), [[anna.id, false, 'member']], 'a word after a hyphen');
        assert.deepEqual(await named(id, 'neil'), [[anna.id, false, 'member']]);
        assert.deepEqual(await named(id, '**dave** [x](y) | 100%'), [[dave.id, true, 'member']], 'characters keys forbid');
        assert.deepEqual(await named(id, '100%'), [[dave.id, false, 'member']]);
        assert.deepEqual(await named(id, 'nn'), [], 'the middle of a word is not a word start');
        assert.deepEqual(await named(id, 'zed'), []);
      });

      it('puts exact matches first, and knows people who left as nobody and people removed as removed', async () => {
        const id = freshGroupId('names-change');
        await store.insertGroup(newGroup(id));
        const ann2 = { id: 'aad-ann-2', name: 'Ann' };
        for (const user of [ann, ann2, annPark]) await store.addMember(member(id, user), joined(id, user));
        assert.deepEqual((await named(id, 'ann'))[0], [ann2.id, true, 'member']);
        let record = (await store.getGroup(id))!;
        await store.changeMembership({
          groupId: id,
          expectedVersion: record.version,
          adminIds: [alice.id],
          remove: [ann.id],
          audit: [{ groupId: id, at: AT, action: 'left', actor: ann }],
          forget: [ann],
        });
        record = (await store.getGroup(id))!;
        const ban: Ban = { groupId: id, user: annPark, bannedBy: alice, bannedAt: AT };
        await store.changeMembership({
          groupId: id,
          expectedVersion: record.version,
          adminIds: [alice.id],
          remove: [annPark.id],
          ban: [ban],
          audit: [],
        });
        assert.deepEqual(await named(id, 'ann lee'), [], 'left');
        assert.deepEqual(await named(id, 'ann park'), [[annPark.id, true, 'removed']]);
        record = (await store.getGroup(id))!;
        await store.changeMembership({
          groupId: id,
          expectedVersion: record.version,
          adminIds: [alice.id],
          allow: [annPark.id],
          audit: [],
          forget: [annPark],
        });
        assert.deepEqual(await named(id, 'ann park'), [], 'let back in: nobody until they join again');
        await store.addMember(member(id, { ...ann, name: 'Ann Lee-Smith' }), joined(id, ann));
        assert.deepEqual(await named(id, 'smith'), [[ann.id, false, 'member']], 'back under a new name');
        assert.deepEqual(await named(id, 'ann lee'), [[ann.id, false, 'member']]);
      });

      /** Every page of a search, 2 members a page, as the members card and the tab walk it. */
      async function searchAll(id: string, typed: string): Promise<{ names: string[]; pages: number }> {
        const names: string[] = [];
        let token: string | undefined;
        let pages = 0;
        do {
          const page = await store.searchMembers(id, typed, { pageSize: 2, continuationToken: token });
          names.push(...page.items.map((m) => m.user.name));
          token = page.continuationToken;
          pages++;
        } while (token !== undefined && pages < 50);
        return { names, pages };
      }

      it('searches members by a name or a word start, each once, alphabetically by the matching part, a page at a time', async () => {
        const id = freshGroupId('search');
        await store.insertGroup(newGroup(id));
        const annAnnette = { id: 'aad-ann-annette', name: 'Ann Annette' };
        const zoe = { id: 'aad-zoe', name: 'Zoe Anders' };
        for (const user of [ann, annPark, anna, dave, annAnnette, zoe]) await store.addMember(member(id, user), joined(id, user));
        const { names, pages } = await searchAll(id, 'ann');
        assert.deepEqual(names, ['Ann Annette', 'Ann Lee', 'ANN  Park', 'Anna-Marie O’Neil'], 'Ann Annette once, under "ann annette"');
        assert.ok(pages >= 2, 'more than one page of 2');
        assert.deepEqual((await searchAll(id, 'nders')).names, [], 'the middle of a word is not a word start');
        assert.deepEqual((await searchAll(id, 'AND')).names, ['Zoe Anders'], 'any case');
        assert.deepEqual((await searchAll(id, 'anders')).names, ['Zoe Anders'], 'a surname');
        assert.deepEqual((await searchAll(id, 'o’neil')).names, ['Anna-Marie O’Neil']);
        assert.deepEqual((await searchAll(id, '100%')).names, ['**Dave** [x](y) | 100%'], 'characters keys forbid');
        assert.deepEqual((await searchAll(id, 'nobody')).names, []);
        await assert.rejects(store.searchMembers(id, 'ann', { pageSize: 2, continuationToken: 'not a token' }), (err: unknown) => {
          assert.ok(err instanceof InvalidInputError);
          return true;
        });
      });

      it('never finds in a search someone who left or was removed, nor under an old name', async () => {
        const id = freshGroupId('search-change');
        await store.insertGroup(newGroup(id));
        for (const user of [ann, annPark]) await store.addMember(member(id, user), joined(id, user));
        let record = (await store.getGroup(id))!;
        await store.changeMembership({
          groupId: id,
          expectedVersion: record.version,
          adminIds: [alice.id],
          remove: [ann.id],
          audit: [{ groupId: id, at: AT, action: 'left', actor: ann }],
          forget: [ann],
        });
        record = (await store.getGroup(id))!;
        await store.changeMembership({
          groupId: id,
          expectedVersion: record.version,
          adminIds: [alice.id],
          remove: [annPark.id],
          ban: [{ groupId: id, user: annPark, bannedBy: alice, bannedAt: AT }],
          audit: [],
        });
        assert.deepEqual((await searchAll(id, 'ann')).names, []);
        await store.addMember(member(id, { ...ann, name: 'Ann Lee-Smith' }), joined(id, ann));
        assert.deepEqual((await searchAll(id, 'ann')).names, ['Ann Lee-Smith']);
        assert.deepEqual((await searchAll(id, 'smith')).names, ['Ann Lee-Smith']);
      });
    });

    describe('indexes, photos, listings', () => {
      it('keeps a "my groups" row while the user is a member, and drops it when not', async () => {
        const id = freshGroupId('index');
        await store.insertGroup(newGroup(id));
        await store.addMember(member(id, bob), joined(id, bob));
        await store.indexUserGroup(bob.id, id);
        await store.unindexUserGroup(bob.id, id);
        assert.deepEqual((await store.listUserGroupIds(bob.id, { pageSize: 10 })).items, [id]);

        const record = (await store.getGroup(id))!;
        await store.changeMembership({ groupId: id, expectedVersion: record.version, adminIds: [alice.id], remove: [bob.id], audit: [] });
        await store.unindexUserGroup(bob.id, id);
        assert.deepEqual((await store.listUserGroupIds(bob.id, { pageSize: 10 })).items, []);
      });

      it('pages through an index, and refuses a damaged page token as bad input', async () => {
        const tenant = freshGroupId('tenant');
        const ids = ['a', 'b', 'c'].map((s) => `${tenant}-${s}`);
        for (const id of ids) await store.indexOrgGroup(tenant, id);
        const first = await store.listOrgGroupIds(tenant, { pageSize: 2 });
        assert.deepEqual(first.items, ids.slice(0, 2));
        const second = await store.listOrgGroupIds(tenant, { pageSize: 2, continuationToken: first.continuationToken });
        assert.deepEqual(second.items, ids.slice(2));
        assert.equal(second.continuationToken, undefined);
        await assert.rejects(store.listUserGroupIds('x', { pageSize: 2, continuationToken: 'not a token!' }), InvalidInputError);
      });

      it('stores a photo and reads back the same bytes', async () => {
        const id = freshGroupId('photo');
        const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
        await store.putPhoto(id, { bytes, contentType: 'image/png', version: 'v1' });
        assert.deepEqual(await store.getPhoto(id), { bytes, contentType: 'image/png', version: 'v1' });
      });

      it('remembers invites and reset invites by hash', async () => {
        const id = freshGroupId('invite');
        const [hash, old] = [`${id}-h1`, `${id}-h0`];
        await store.putInvites(id, [hash]);
        assert.equal(await store.findInviteGroupId(hash), id);
        await store.deleteInvites([hash]);
        assert.equal(await store.findInviteGroupId(hash), undefined);
        await store.putRevokedInvites?.([old]);
        assert.equal(await store.isRevokedInvite?.(old), true);
        assert.equal(await store.isRevokedInvite?.(hash), false);
      });

      it('lists the audit trail newest first', async () => {
        const id = freshGroupId('audit');
        await store.insertGroup(newGroup(id));
        await store.addMember(member(id, bob), { groupId: id, at: '2025-02-01T00:00:00.000Z', action: 'joined', actor: bob });
        assert.deepEqual(
          (await store.listAudit(id, { pageSize: 10 })).items.map((e) => e.action),
          ['joined', 'created'],
        );
        const all: string[] = [];
        for await (const entry of store.allAudit(id)) all.push(entry.action);
        assert.deepEqual(all, ['joined', 'created']);
      });

      it('deletes the group with its members, bans, audit, photo and index rows', async () => {
        const id = freshGroupId('delete');
        const tenant = freshGroupId('org');
        await store.insertGroup(newGroup(id));
        await store.addMember(member(id, bob), joined(id, bob));
        await store.indexUserGroup(bob.id, id);
        const mapped = (await store.getGroup(id))!;
        await store.updateGroup(
          id,
          mapped.version,
          { organization: { tenantId: tenant, organizationName: 'Contoso', mappedBy: alice, mappedAt: AT } },
          { groupId: id, at: AT, action: 'mapped', actor: alice },
        );
        await store.indexOrgGroup(tenant, id);
        await store.putPhoto(id, { bytes: Buffer.from([1]), contentType: 'image/png', version: 'v1' });
        await store.deleteGroup((await store.getGroup(id))!);
        assert.equal(await store.getGroup(id), undefined);
        assert.deepEqual(await h.rowKeys(id), []);
        assert.deepEqual(
          (await store.listUserGroupIds(bob.id, { pageSize: 10 })).items.filter((g) => g === id),
          [],
        );
        assert.deepEqual((await store.listOrgGroupIds(tenant, { pageSize: 10 })).items, []);
        assert.equal(await store.getPhoto(id), undefined);
      });
    });
  });
}
