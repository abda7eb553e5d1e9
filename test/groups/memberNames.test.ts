import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import sinon from 'sinon';
import { ForbiddenError } from '../../src/errors';
import { GroupService } from '../../src/groups/groupService';
import { nameKey, nameMatches, wordStarts } from '../../src/groups/memberNames';
import type { UserRef } from '../../src/groups/model';
import { MemoryGroupStore } from '../../src/storage/memoryGroupStore';

const OLGA: UserRef = { id: 'aad-olga', name: 'Olga Admin' };
const ANN: UserRef = { id: 'aad-ann', name: 'Ann Lee' };
const ANN_PARK: UserRef = { id: 'aad-ann-park', name: 'Ann Park' };
const BOB: UserRef = { id: 'aad-bob', name: 'Bob Stone' };
const EVE: UserRef = { id: 'aad-eve', name: 'Eve Outsider' };

describe('finding members by name (src/groups/memberNames.ts, GroupService.membersNamed / removedNamed)', () => {
  afterEach(() => sinon.restore());

  it('compares names in one form and matches the whole name or a word start of it', () => {
    assert.equal(nameKey('  ＡNN   Lee\t'), 'ann lee', 'full-width letters, any case, runs of spaces');
    assert.deepEqual(wordStarts('mary-jane o’neil (guest)'), [
      'mary-jane o’neil (guest)',
      'jane o’neil (guest)',
      'o’neil (guest)',
      'neil (guest)',
      'guest)',
    ]);
    assert.deepEqual(nameMatches('Ann Lee', 'ann lee'), { exact: true, partial: true });
    assert.deepEqual(nameMatches('Ann Lee', 'lee'), { exact: false, partial: true });
    assert.deepEqual(nameMatches('Ann Lee', 'nn'), { exact: false, partial: false });
    assert.deepEqual(nameMatches('Ann Lee', ''), { exact: false, partial: false });
  });

  async function group() {
    const store = new MemoryGroupStore();
    const service = new GroupService({ store, appSecret: 'k'.repeat(48), publicUrl: 'http://127.0.0.1:3978' });
    const groupId = (await service.createGroup({ name: 'Depot', creator: OLGA, idempotencyKey: randomUUID() })).id;
    for (const user of [ANN, ANN_PARK, BOB]) await service.addByAdmin(groupId, { user: OLGA }, { user, role: 'member' });
    const names = async (typed: string, as: UserRef = OLGA) =>
      (await service.membersNamed(groupId, { user: as }, typed)).map((m) => m.user.name);
    return { store, service, groupId, names };
  }

  it('answers the exact name, a unique word start, everyone a shared start finds, nobody, and an id', async () => {
    const { names } = await group();
    assert.deepEqual(await names('ann lee'), ['Ann Lee'], 'exact, whatever the case');
    assert.deepEqual(await names('  STONE '), ['Bob Stone'], 'a unique word start');
    assert.deepEqual((await names('Ann')).sort(), ['Ann Lee', 'Ann Park'], 'ambiguous: the command asks which');
    assert.deepEqual(await names('Zed'), []);
    assert.deepEqual(await names(''), []);
    assert.deepEqual(await names(BOB.id), ['Bob Stone'], 'by id');
  });

  it('answers only those the asker may see: members of the group, and only admins where members do not see each other', async () => {
    const { store, groupId, names } = await group();
    await assert.rejects(names('ann', EVE), ForbiddenError);
    assert.deepEqual(await names('olga', BOB), ['Olga Admin']);
    const read = store.getGroupWithMember.bind(store);
    sinon.stub(store, 'getGroupWithMember').callsFake(async (id, userId) => {
      const found = await read(id, userId);
      return found && { ...found, record: { ...found.record, group: { ...found.record.group, membersHidden: true } } };
    });
    assert.deepEqual(await names('ann', BOB), [], 'other members are not named to a member');
    assert.deepEqual(await names('bob', BOB), ['Bob Stone'], 'themselves');
    assert.deepEqual(await names('olga', BOB), ['Olga Admin'], 'the admins');
    assert.deepEqual((await names('ann', OLGA)).sort(), ['Ann Lee', 'Ann Park'], 'admins see everyone');
    assert.ok(groupId);
  });

  it('finds people an admin removed (admins only), and forgets people who left or were let back in', async () => {
    const { service, groupId, names } = await group();
    await service.removeMember(groupId, { user: OLGA }, ANN_PARK.id);
    await service.leave(groupId, BOB);
    assert.deepEqual(await names('park'), [], 'removed: not a member');
    assert.deepEqual(
      (await service.removedNamed(groupId, { user: OLGA }, 'park')).map((b) => b.user.name),
      ['Ann Park'],
    );
    await assert.rejects(service.removedNamed(groupId, { user: ANN }, 'park'), ForbiddenError);
    assert.deepEqual(await names('bob'), [], 'left');
    await service.allowMember(groupId, { user: OLGA }, ANN_PARK.id);
    assert.deepEqual(await service.removedNamed(groupId, { user: OLGA }, 'park'), []);
  });
});
