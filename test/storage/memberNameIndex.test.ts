import assert from 'node:assert/strict';
import { odata } from '@azure/data-tables';
import sinon from 'sinon';
import { GroupService } from '../../src/groups/groupService';
import type { UserRef } from '../../src/groups/model';
import { MemberNameIndex, NAMES_READY_ROW, namesPartition, STALE_AFTER_MS } from '../../src/storage/memberNameIndex';
import { TableGroupStore } from '../../src/storage/tableGroupStore';
import type { TableClients } from '../../src/storage/tables';
import { freshTables } from '../helpers/azurite';
import { alice, freshGroupId, joined, member, newGroup } from './groupStoreContract';

/**
 * The members' name index on Table Storage (issue 18): what makes it safe apart from the member rows (a stale
 * entry is never an answer and goes once old; a group made before the index is filled on its first lookup),
 * and what it costs: a lookup in a group of thousands is a handful of requests, not the member list.
 */
describe('member name index (Azurite)', () => {
  let clients: TableClients;
  let store: TableGroupStore;
  before(async () => {
    ({ clients } = await freshTables());
  });
  beforeEach(() => {
    store = new TableGroupStore(clients);
  });
  afterEach(() => sinon.restore());

  async function indexKeys(groupId: string): Promise<string[]> {
    const keys: string[] = [];
    const filter = odata`PartitionKey eq ${namesPartition(groupId)}`;
    for await (const row of clients.groups.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) keys.push(row.rowKey!);
    return keys;
  }

  async function groupWith(prefix: string, people: UserRef[]): Promise<string> {
    const id = freshGroupId(prefix);
    await store.insertGroup(newGroup(id));
    // 49 joins at a time (one transaction's worth): not a storm, this is about lookups.
    for (let i = 0; i < people.length; i += 49)
      await Promise.all(people.slice(i, i + 49).map((u) => store.addMember(member(id, u), joined(id, u))));
    return id;
  }

  it('writes a join’s entries before its member row, and fails the join (nothing added) when they cannot be written', async () => {
    const id = await groupWith('names-first', []);
    const ann = { id: 'aad-ann', name: 'Ann Lee' };
    const order: string[] = [];
    const submit = clients.groups.submitTransaction.bind(clients.groups);
    const stub = sinon.stub(clients.groups, 'submitTransaction').callsFake(async (actions) => {
      order.push(String(actions[0]![1].partitionKey));
      return submit(actions);
    });
    assert.equal(await store.addMember(member(id, ann), joined(id, ann)), 'added');
    assert.deepEqual(order, [namesPartition(id), id]);
    assert.ok((await indexKeys(id)).some((key) => key.startsWith('ann!lee ')));

    stub.restore();
    const bob = { id: 'aad-bob', name: 'Bob Stone' };
    sinon.stub(clients.groups, 'submitTransaction').callsFake(async (actions) => {
      if (actions[0]![1].partitionKey === namesPartition(id)) throw Object.assign(new Error('storage down'), { statusCode: 503 });
      return submit(actions);
    });
    await assert.rejects(store.addMember(member(id, bob), joined(id, bob)), /storage down/);
    sinon.restore();
    assert.equal(await store.getMember(id, bob.id), undefined, 'no member row without its entries');
  });

  it('never answers with an entry its member row does not bear out, and deletes it once it is older than a join could take', async () => {
    const ann = { id: 'aad-ann', name: 'Ann Lee' };
    const id = await groupWith('names-stale', [ann]);
    // A join whose entries were written but whose member row never was (a crash between them, a refused join).
    const ghost = { id: 'aad-ghost', name: 'Ann Ghost' };
    await new MemberNameIndex(clients.groups).write(id, [ghost]);
    const before = await indexKeys(id);
    assert.deepEqual(
      (await store.peopleNamed(id, 'ann', 8)).map((p) => p.user.id),
      [ann.id],
    );
    assert.deepEqual(await store.peopleNamed(id, 'ghost', 8), []);
    assert.deepEqual(await indexKeys(id), before, 'young: it may be a join under way, so it stays');

    sinon.useFakeTimers({ now: Date.now() + STALE_AFTER_MS + 60_000, toFake: ['Date'] });
    assert.deepEqual(await store.peopleNamed(id, 'ghost', 8), []);
    assert.deepEqual(
      (await store.peopleNamed(id, 'ann', 8)).map((p) => p.user.id),
      [ann.id],
    );
    sinon.restore();
    const after = await indexKeys(id);
    assert.ok(!after.some((key) => key.includes('aad-ghost')), after.join(','));
    assert.ok(
      after.some((key) => key.includes('aad-ann')),
      'the member’s own entries stay',
    );
  });

  it('fills the index of a group made before it from the member rows, removed people too, once', async () => {
    const ann = { id: 'aad-ann', name: 'Ann Lee' };
    const bob = { id: 'aad-bob', name: 'Bob Stone' };
    const id = await groupWith('names-old', [ann, bob]);
    const record = (await store.getGroup(id))!;
    await store.changeMembership({
      groupId: id,
      expectedVersion: record.version,
      adminIds: [alice.id],
      remove: [bob.id],
      ban: [{ groupId: id, user: bob, bannedBy: alice, bannedAt: record.group.createdAt }],
      audit: [],
    });
    // As a group of before the index: no entries, no '!ready'.
    for (const rowKey of await indexKeys(id)) await clients.groups.deleteEntity(namesPartition(id), rowKey);
    const later = new TableGroupStore(clients);
    assert.deepEqual(
      (await later.peopleNamed(id, 'lee', 8)).map((p) => [p.user.id, p.exact]),
      [[ann.id, false]],
    );
    assert.ok((await indexKeys(id)).includes(NAMES_READY_ROW));
    const [removed] = await later.peopleNamed(id, 'bob stone', 8);
    assert.deepEqual([removed?.user.id, removed?.exact, removed?.member], [bob.id, true, undefined]);
  });

  it('deletes the index with the group', async () => {
    const id = await groupWith('names-gone', [{ id: 'aad-ann', name: 'Ann Lee' }]);
    assert.ok((await indexKeys(id)).length > 0);
    await store.deleteGroup((await store.getGroup(id))!);
    assert.deepEqual(await indexKeys(id), []);
  });

  it('finds a member of a 600-member group by name in a handful of requests, where each 100 members cost the member list 3', async function () {
    this.timeout(60_000);
    const people = Array.from({ length: 600 }, (_, i) => ({ id: `aad-m${i}`, name: `Member ${String(i).padStart(4, '0')} Crew` }));
    people[234] = { id: 'aad-ann', name: 'Ann Lee' };
    people[345] = { id: 'aad-ann-park', name: 'Ann Park' };
    const id = await groupWith('names-big', people);
    assert.equal((await store.getGroup(id))!.group.memberCount, 601);

    // A second instance: nothing cached (it reads '!ready' once, counted here).
    const service = new GroupService({
      store: new TableGroupStore(clients),
      appSecret: 'k'.repeat(48),
      publicUrl: 'http://127.0.0.1:3978',
    });
    const requests = () =>
      ['getEntity', 'listEntities', 'submitTransaction', 'createEntity', 'updateEntity', 'upsertEntity', 'deleteEntity'].map((method) =>
        sinon.spy(clients.groups, method as 'getEntity'),
      );
    const count = async (typed: string) => {
      sinon.restore();
      const spies = requests();
      const found = await service.membersNamed(id, { user: alice }, typed);
      return { names: found.map((m) => m.user.name), requests: spies.reduce((sum, spy) => sum + spy.callCount, 0) };
    };

    const exact = await count('ann lee');
    assert.deepEqual(exact.names, ['Ann Lee']);
    // The group and the caller's membership (2), the index (1), '!ready' once (1), the one member row (1).
    // (Measured on Azurite, 1,500 members: 5, 5 for a word start, 6 for two, 4 for nobody, 12 for 1,500 alike;
    // the list: 48. The same with 600 here, to spare the shared Azurite.)
    assert.ok(exact.requests <= 5, `${exact.requests} requests for an exact name`);
    const part = await count('park');
    assert.deepEqual(part.names, ['Ann Park']);
    assert.ok(part.requests <= 5, `${part.requests} requests for a word start`);
    const two = await count('Ann');
    assert.deepEqual(two.names.sort(), ['Ann Lee', 'Ann Park']);
    assert.ok(two.requests <= 6, `${two.requests} requests for two matches`);
    const nobody = await count('Zed');
    assert.deepEqual(nobody.names, []);
    assert.ok(nobody.requests <= 4, `${nobody.requests} requests for nobody`);
    const many = await count('member');
    assert.ok(many.names.length >= 2, 'more than one: the command asks which');
    assert.ok(many.requests <= 12, `${many.requests} requests for a name 600 people share`);

    // What a lookup cost before the index: every page of the member list.
    sinon.restore();
    const spies = requests();
    let token: string | undefined;
    do token = (await service.listMembers(id, { user: alice }, { pageSize: 100, continuationToken: token })).continuationToken;
    while (token);
    const listing = spies.reduce((sum, spy) => sum + spy.callCount, 0);
    assert.ok(listing >= 18, `${listing} requests to read the list`);
  });

  it('writes entries again that are there already (a rerun, a rejoin): rewritten with the new ones, not refused', async () => {
    const id = await groupWith('names-again', []);
    const index = new MemberNameIndex(clients.groups);
    const ann: UserRef = { id: 'aad-ann-again', name: 'Ann Again' };
    const bo: UserRef = { id: 'aad-bo-again', name: 'Bo' };
    await index.write(id, [ann]);
    const before = new Map<string, string>();
    for await (const row of clients.groups.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${namesPartition(id)}` } }))
      if (row.userId === ann.id) before.set(row.rowKey!, row.etag);
    await index.write(id, [ann, bo]);
    const keys = await indexKeys(id);
    assert.ok(
      keys.some((k) => k.startsWith('bo ')),
      'the new one written',
    );
    assert.ok(before.size >= 2, 'her entries');
    for (const [rowKey, etag] of before) {
      const row = await clients.groups.getEntity(namesPartition(id), rowKey);
      assert.notEqual(row.etag, etag, `${rowKey} rewritten (a fresh entry is never taken for stale)`);
    }
  });
});
