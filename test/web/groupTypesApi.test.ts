import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'restify';
import { EntraTokenVerifier } from '../../src/auth/entraTokenVerifier';
import { ConversationService } from '../../src/groups/conversationService';
import { GroupService } from '../../src/groups/groupService';
import type { Group, UserRef } from '../../src/groups/model';
import { createLogger } from '../../src/logger';
import { MemoryPostRateLimiter } from '../../src/groups/postRateLimiter';
import { createServer, close, listen } from '../../src/server';
import { TableCurrentGroupStore } from '../../src/storage/tableCurrentGroupStore';
import { TableGroupStore } from '../../src/storage/tableGroupStore';
import { TablePostStore } from '../../src/storage/tablePostStore';
import { apiRoutes } from '../../src/web/api';
import { freshTables } from '../helpers/azurite';
import { FakeEntra } from '../helpers/fakeEntra';
import { RecordingDeliveryEngine } from '../helpers/recordingEngine';

const APP_ID = '00000000-1111-2222-3333-555555555555';
const TENANT = '11111111-2222-3333-4444-666666666666';

/**
 * Group types in the tab's API (issue 18), on a real restify server over Azurite with tokens from a local fake
 * Entra: hidden members' names and hub-and-spoke threads in GET posts, and the members list 50 at a time with
 * search (GET /api/groups/:id/members).
 */
describe('tab API: group types (posts as each viewer may see them, members 50 at a time)', () => {
  let server: Server;
  let url: string;
  let entra: FakeEntra;
  let groups: GroupService;
  let conversation: ConversationService;
  let group: Group;
  const olga: UserRef = { id: randomUUID(), name: 'Olga Admin' };
  const ann: UserRef = { id: randomUUID(), name: 'Ann Member' };
  const bob: UserRef = { id: randomUUID(), name: 'Bob Member' };
  const workers: UserRef[] = Array.from({ length: 58 }, (_, i) => ({ id: randomUUID(), name: `Worker ${String(i + 1).padStart(2, '0')}` }));

  before(async () => {
    const [{ clients }, fake] = await Promise.all([freshTables(), FakeEntra.start()]);
    entra = fake;
    server = createServer({
      logger: createLogger({ level: 'silent' }),
      healthCheck: async () => true,
      handleMessages: async (_q, res) => void res.send(404),
    });
    url = await listen(server, 0, '127.0.0.1');
    groups = new GroupService({ store: new TableGroupStore(clients), appSecret: randomBytes(24).toString('hex'), publicUrl: url });
    const posts = new TablePostStore(clients);
    conversation = new ConversationService({
      posts,
      current: new TableCurrentGroupStore(clients.usergroups),
      engine: new RecordingDeliveryEngine(),
      limiter: new MemoryPostRateLimiter(),
    });
    const verifier = new EntraTokenVerifier({
      metadataUrl: entra.metadataUrl,
      audiences: [APP_ID],
      requiredScope: 'access_as_user',
      clockSkewSeconds: 60,
    });
    apiRoutes({
      groups,
      verifier,
      documents: { documentLinks: async () => Promise.reject(new Error('not here')) },
      publicUrl: url,
      logger: createLogger({ level: 'silent' }),
      conversation,
    })(server);
    group = await groups.createGroup({ name: 'Yard Hub', creator: olga, idempotencyKey: randomUUID() });
    const invite = await groups.getInvite(group.id, olga);
    for (const user of [ann, bob, ...workers]) await groups.join({ ref: invite.url, user });
  });
  after(async () => {
    await close(server);
    await entra.close();
  });

  async function get(path: string, user: UserRef): Promise<{ status: number; json: Record<string, unknown> }> {
    const token = await entra.signToken(entra.ssoClaims({ aud: APP_ID, tid: TENANT, oid: user.id, name: user.name }));
    const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }
  const sender = (user: UserRef) => ({ userId: user.id, name: user.name, tenantId: TENANT });
  type View = { seq: number; sender: { name: string }; text?: string; threadNote?: string };
  const postsOf = async (user: UserRef) => ((await get(`/api/groups/${group.id}/posts`, user)).json['posts'] as View[]) ?? [];

  it("hides members' names from members and shows each member only their own thread with the admins", async () => {
    await conversation.updateSettings(group.id, olga, { membersSeeEachOther: false, memberPostsTo: 'admins' });
    await conversation.post({ groupId: group.id, sender: sender(ann), text: 'Ann asks the admins', sourceKey: randomUUID() });
    await conversation.updateSettings(group.id, olga, { memberPostsTo: 'everyone' });
    await conversation.post({ groupId: group.id, sender: sender(bob), text: 'Bob tells everyone', sourceKey: randomUUID() });
    await conversation.post({ groupId: group.id, sender: sender(olga), text: 'Olga tells everyone', sourceKey: randomUUID() });

    const anns = await postsOf(ann);
    assert.deepEqual(
      anns.map((p) => [p.sender.name, p.text, p.threadNote]),
      [
        ['Ann Member', 'Ann asks the admins', 'Only you and the admins see this'],
        ['A member', 'Bob tells everyone', undefined],
        ['Olga Admin', 'Olga tells everyone', undefined],
      ],
    );
    const bobs = await postsOf(bob);
    assert.deepEqual(
      bobs.map((p) => [p.sender.name, p.text]),
      [
        ['Bob Member', 'Bob tells everyone'],
        ['Olga Admin', 'Olga tells everyone'],
      ],
    );
    assert.doesNotMatch(JSON.stringify(bobs), /Ann/);
    const olgas = await postsOf(olga);
    assert.deepEqual(
      olgas.map((p) => [p.sender.name, p.threadNote]),
      [
        ['Ann Member', 'Only you and the admins see this (with Ann Member)'],
        ['Bob Member', undefined],
        ['Olga Admin', undefined],
      ],
    );
  });

  it('lists members 50 a page with search; a member of a hidden group gets the admins and themselves', async () => {
    await conversation.updateSettings(group.id, olga, { membersSeeEachOther: true });
    const first = await get(`/api/groups/${group.id}/members`, bob);
    assert.equal(first.status, 200);
    assert.equal(first.json['memberCount'], 61);
    assert.equal((first.json['members'] as unknown[]).length, 50);
    const token = String(first.json['continuationToken']);
    const second = await get(`/api/groups/${group.id}/members?continuationToken=${encodeURIComponent(token)}`, bob);
    assert.equal((second.json['members'] as unknown[]).length, 11);
    assert.equal(second.json['continuationToken'], undefined);
    const found = await get(`/api/groups/${group.id}/members?search=worker%205`, bob);
    assert.deepEqual((found.json['members'] as Array<{ name: string }>).map((m) => m.name).sort(), [
      'Worker 50',
      'Worker 51',
      'Worker 52',
      'Worker 53',
      'Worker 54',
      'Worker 55',
      'Worker 56',
      'Worker 57',
      'Worker 58',
    ]);

    await conversation.updateSettings(group.id, olga, { membersSeeEachOther: false });
    const hidden = await get(`/api/groups/${group.id}/members`, bob);
    assert.equal(hidden.json['adminsOnly'], true);
    assert.equal(hidden.json['memberCount'], 61);
    assert.deepEqual(hidden.json['members'], [
      { name: 'Olga Admin', role: 'admin', isYou: false },
      { name: 'Bob Member', role: 'member', isYou: true },
    ]);
    assert.deepEqual((await get(`/api/groups/${group.id}/members?search=worker`, bob)).json['members'], []);
    assert.equal(((await get(`/api/groups/${group.id}/members`, olga)).json['members'] as unknown[]).length, 50, 'admins see everyone');
    assert.equal((await get(`/api/groups/${group.id}/members?search=a&search=b`, bob)).status, 400);
  });
});
