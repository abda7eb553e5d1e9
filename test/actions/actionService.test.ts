import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ActionService, groupMemberLister } from '../../src/actions/actionService';
import { ActionStore } from '../../src/actions/actionStore';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../../src/errors';
import { ConversationService } from '../../src/groups/conversationService';
import { GroupService } from '../../src/groups/groupService';
import type { UserRef } from '../../src/groups/model';
import { MemoryPostRateLimiter } from '../../src/groups/postRateLimiter';
import { TableCurrentGroupStore } from '../../src/storage/tableCurrentGroupStore';
import { TableGroupStore } from '../../src/storage/tableGroupStore';
import { TablePostStore } from '../../src/storage/tablePostStore';
import type { TableClients } from '../../src/storage/tables';
import { freshTables } from '../helpers/azurite';
import { RecordingDeliveryEngine } from '../helpers/recordingEngine';

/** The rules of announcements and polls, on Azurite with the real domain and its one membership check. */
describe('ActionService', function () {
  this.timeout(30_000);
  let tables: TableClients;
  let groups: GroupService;
  let actions: ActionService;
  let clock = new Date();
  let groupId: string;
  const ann: UserRef = { id: randomUUID(), name: 'Ann Admin' };
  const bob: UserRef = { id: randomUUID(), name: 'Bob Member' };
  const cy: UserRef = { id: randomUUID(), name: 'Cy Member' };
  const dee: UserRef = { id: randomUUID(), name: 'Dee Leaver' };
  const eve: UserRef = { id: randomUUID(), name: 'Eve Stranger' };

  before(async () => {
    ({ clients: tables } = await freshTables());
    groups = new GroupService({ store: new TableGroupStore(tables), appSecret: 'k'.repeat(48), publicUrl: 'http://127.0.0.1:3978' });
    const conversation = new ConversationService({
      posts: new TablePostStore(tables),
      current: new TableCurrentGroupStore(tables.usergroups),
      engine: new RecordingDeliveryEngine(),
      limiter: new MemoryPostRateLimiter(),
    });
    actions = new ActionService({
      store: new ActionStore(tables.actions),
      members: conversation,
      lister: groupMemberLister(groups),
      now: () => clock,
    });
  });

  beforeEach(async () => {
    clock = new Date();
    groupId = (await groups.createGroup({ name: 'Depot', creator: ann, idempotencyKey: randomUUID() })).id;
    const invite = await groups.getInvite(groupId, ann);
    for (const user of [bob, cy, dee]) await groups.join({ ref: invite.url, user });
  });

  const poll = (overrides: Record<string, unknown> = {}) =>
    actions.createPoll({
      groupId,
      question: 'Lunch?',
      options: ['Pizza', 'Salad'],
      multi: false,
      anonymous: false,
      resultsFor: 'everyone',
      createdBy: ann,
      ...overrides,
    });

  it('refuses a stranger everything, with the same "not a member" for a real and a forged action', async () => {
    const p = await poll();
    await assert.rejects(actions.vote(groupId, p.actionId, eve, [0]), ForbiddenError);
    await assert.rejects(actions.vote(groupId, 'forged', eve, [0]), ForbiddenError);
    await assert.rejects(actions.vote(groupId, 'forged', bob, [0]), NotFoundError);
    await assert.rejects(
      actions.createPoll({
        groupId,
        question: 'x',
        options: ['a', 'b'],
        multi: false,
        anonymous: false,
        resultsFor: 'everyone',
        createdBy: eve,
      }),
      ForbiddenError,
    );
  });

  it('refuses an option that does not exist, two choices in a single-choice poll, and any vote once closed', async () => {
    const p = await poll();
    await assert.rejects(actions.vote(groupId, p.actionId, bob, [2]), InvalidInputError);
    await assert.rejects(actions.vote(groupId, p.actionId, bob, [0, 1]), /one choice/);
    await assert.rejects(actions.vote(groupId, p.actionId, bob, []), /Choose/);
    await assert.rejects(actions.close(groupId, p.actionId, bob), ForbiddenError, 'a member cannot close it');
    await actions.close(groupId, p.actionId, ann);
    await assert.rejects(actions.vote(groupId, p.actionId, bob, [0]), /closed/);
    const timed = await poll({ closesAt: new Date(clock.getTime() + 60_000).toISOString() });
    clock = new Date(clock.getTime() + 61_000);
    await assert.rejects(actions.vote(groupId, timed.actionId, bob, [0]), /closed/);
  });

  it('lets a named vote change, keeps an anonymous one final with a line', async () => {
    const named = await poll();
    assert.equal(await actions.vote(groupId, named.actionId, bob, [0]), 'counted');
    assert.equal(await actions.vote(groupId, named.actionId, bob, [1]), 'changed');
    assert.deepEqual((await actions.results(groupId, named.actionId, ann))?.counts, [0, 1]);
    const secret = await poll({ anonymous: true });
    await actions.vote(groupId, secret.actionId, bob, [0]);
    await assert.rejects(actions.vote(groupId, secret.actionId, bob, [1]), /anonymous vote cannot be changed/);
  });

  it('shows results to a member after they voted or once closed, never when they are for admins, always to admins', async () => {
    const p = await poll();
    assert.equal(await actions.results(groupId, p.actionId, cy), undefined, 'before voting');
    await actions.vote(groupId, p.actionId, cy, [1]);
    assert.deepEqual(await actions.results(groupId, p.actionId, cy), { counts: [0, 1], answered: 1 });
    assert.equal(await actions.results(groupId, p.actionId, bob), undefined);
    await actions.close(groupId, p.actionId, ann);
    assert.ok(await actions.results(groupId, p.actionId, bob), 'after closing');
    const hidden = await poll({ resultsFor: 'admins' });
    await actions.vote(groupId, hidden.actionId, cy, [0]);
    assert.equal(await actions.results(groupId, hidden.actionId, cy), undefined);
    assert.deepEqual((await actions.results(groupId, hidden.actionId, ann))?.counts, [1, 0]);
  });

  it("lists who hasn't confirmed (members who left do not count), searchable, and reminds them at most once per 4 hours", async () => {
    const a = await actions.announce({ groupId, title: 'Gate code', text: 'New code on Monday.', askConfirm: true, createdBy: ann });
    assert.equal(await actions.confirm(groupId, a.actionId, bob), 'counted');
    assert.equal(await actions.confirm(groupId, a.actionId, bob), 'final', 'a second tap changes nothing');
    await groups.leave(groupId, dee);
    const open = await actions.notAnswered(groupId, a.actionId, ann);
    assert.deepEqual([open.total, open.people.map((p) => p.name)], [1, ['Cy Member']]);
    assert.deepEqual((await actions.notAnswered(groupId, a.actionId, ann, { search: 'nobody' })).people, []);
    await assert.rejects(actions.notAnswered(groupId, a.actionId, bob), ForbiddenError, 'reports are for admins and the creator');
    const first = await actions.remind(groupId, a.actionId, ann);
    assert.deepEqual(
      first.people.map((p) => p.name),
      ['Cy Member'],
    );
    // Not marked reminded (a crash while handing them over): the same round again, to finish under the same keys.
    assert.equal((await actions.remind(groupId, a.actionId, ann)).round, first.round);
    await actions.reminded(groupId, a.actionId, first.round);
    clock = new Date(clock.getTime() + 60 * 60_000);
    await assert.rejects(actions.remind(groupId, a.actionId, ann), /less than 4 hours ago/);
    clock = new Date(clock.getTime() + 4 * 60 * 60_000);
    const later = await actions.remind(groupId, a.actionId, ann);
    assert.equal(later.people.length, 1);
    assert.notEqual(later.round, first.round);
    assert.deepEqual((await actions.results(groupId, a.actionId, ann))?.counts, [1]);
  });
});
