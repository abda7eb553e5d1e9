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
import { apiRoutes, GROUP_NOT_VISIBLE } from '../../src/web/api';
import { groupExportCsv, groupExportJson } from '../../src/web/groupExport';
import { freshTables } from '../helpers/azurite';
import { FakeEntra } from '../helpers/fakeEntra';
import { RecordingDeliveryEngine } from '../helpers/recordingEngine';
import { ImportService } from '../../src/import/importService';
import { TableImportStore } from '../../src/storage/tableImportStore';
import { fixture } from '../import/exportFixtures';

const APP_ID = '00000000-1111-2222-3333-444444444444';
const TENANT = '11111111-2222-3333-4444-555555555555';

/** The tab's conversation API on a real restify server over Azurite, with tokens from a local fake Entra. */
describe("tab API: a group's posts (GET/POST /api/groups/:id/posts)", () => {
  let server: Server;
  let url: string;
  let entra: FakeEntra;
  let groups: GroupService;
  let posts: TablePostStore;
  let engine: RecordingDeliveryEngine;
  let group: Group;
  let conversation: ConversationService;
  let imports: ImportService;
  const alice: UserRef = { id: randomUUID(), name: 'Alice Admin' };
  const bob: UserRef = { id: randomUUID(), name: 'Bob Member' };
  const eve: UserRef = { id: randomUUID(), name: 'Eve Elsewhere' };

  before(async () => {
    const [{ clients }, fake] = await Promise.all([freshTables(), FakeEntra.start()]);
    entra = fake;
    server = createServer({
      logger: createLogger({ level: 'silent' }),
      healthCheck: async () => true,
      handleMessages: async (_req, res) => void res.send(404),
    });
    url = await listen(server, 0, '127.0.0.1');
    groups = new GroupService({ store: new TableGroupStore(clients), appSecret: randomBytes(24).toString('hex'), publicUrl: url });
    posts = new TablePostStore(clients);
    engine = new RecordingDeliveryEngine();
    conversation = new ConversationService({
      posts,
      current: new TableCurrentGroupStore(clients.usergroups),
      engine,
      limiter: new MemoryPostRateLimiter(),
      deleted: async (groupId, seq) => void (await posts.deletion.scrubReplies(groupId, seq)),
    });
    imports = new ImportService({
      store: new TableImportStore(clients),
      posts,
      members: async () => [],
      announce: async (post) => void (await conversation.post(post)),
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
      documents: {
        documentLinks: async () => {
          throw new Error('not here');
        },
      },
      publicUrl: url,
      logger: createLogger({ level: 'silent' }),
      conversation,
      imports,
    })(server);
    group = await groups.createGroup({ name: 'Field Sales North', creator: alice, idempotencyKey: randomUUID() });
    const invite = await groups.getInvite(group.id, alice);
    await groups.join({ ref: invite.url, user: bob });
  });
  after(async () => {
    await close(server);
    await entra.close();
  });

  const token = (user: UserRef) => entra.signToken(entra.ssoClaims({ aud: APP_ID, tid: TENANT, oid: user.id, name: user.name }));

  async function call(method: 'GET' | 'POST', path: string, user: UserRef, init: { body?: unknown; key?: string } = {}) {
    const headers: Record<string, string> = { authorization: `Bearer ${await token(user)}` };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (init.key !== undefined) headers['idempotency-key'] = init.key;
    const res = await fetch(`${url}${path}`, { method, headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('reads imported earlier messages (GET /api/groups/:id/imported), members only, marked imported with the original name', async () => {
    const imported = await groups.createGroup({ name: 'Depot West', creator: alice, idempotencyKey: randomUUID() });
    await imports.importFile(
      imported.id,
      { userId: alice.id, name: alice.name, tenantId: TENANT },
      { name: 'result.json', bytes: fixture('telegram-result.json') },
      { timeZone: 'Europe/Berlin' },
    );
    const page = await call('GET', `/api/groups/${imported.id}/imported`, alice);
    assert.equal(page.status, 200);
    const messages = page.json['messages'] as Array<Record<string, unknown>>;
    assert.equal(messages.length, 6);
    assert.deepEqual(messages[2], {
      imported: true,
      source: 'telegram',
      at: '2023-12-20T16:48:00.000Z',
      senderName: 'Ann Lee',
      kind: 'text',
      text: 'thanks *Bob*',
      replyTo: { sender: 'Bob Stone', preview: 'Gate code is 4411 see https://example.org/gate' },
    });
    assert.equal(page.json['earlier'], undefined);
    assert.equal((await call('GET', `/api/groups/${imported.id}/imported`, eve)).status, 404);
    assert.equal((await call('GET', `/api/groups/${imported.id}/imported?before=post%7C1`, alice)).status, 400);
  });

  it("posts once per Idempotency-Key (201, then 200 with the same post), with the sender's tenant from the token", async () => {
    const key = `key-${randomUUID()}`;
    const first = await call('POST', `/api/groups/${group.id}/posts`, bob, { body: { text: 'From the tab\nline two' }, key });
    assert.equal(first.status, 201);
    const again = await call('POST', `/api/groups/${group.id}/posts`, bob, { body: { text: 'From the tab\nline two' }, key });
    assert.equal(again.status, 200);
    assert.deepEqual(again.json['post'], first.json['post']);
    const seq = (first.json['post'] as { seq: number }).seq;
    const stored = (await posts.get(group.id, seq))!;
    assert.deepEqual(stored.sender, { userId: bob.id, name: 'Bob Member', tenantId: TENANT, objectId: bob.id });
    assert.equal(stored.text, 'From the tab\nline two');
    assert.deepEqual(engine.seqs('postAccepted', group.id).filter((s) => s === seq).length >= 1, true);
  });

  it('answers a repeated key with its post even past the rate limit, and refuses a new post with 429 and Retry-After', async () => {
    const carol: UserRef = { id: randomUUID(), name: 'Carol Chatty' };
    await groups.join({ ref: (await groups.getInvite(group.id, alice)).url, user: carol });
    const keys = Array.from({ length: 10 }, () => `key-${randomUUID()}`);
    for (const key of keys)
      assert.equal((await call('POST', `/api/groups/${group.id}/posts`, carol, { body: { text: key }, key })).status, 201);
    const repeated = await call('POST', `/api/groups/${group.id}/posts`, carol, { body: { text: keys[0] }, key: keys[0] });
    assert.equal(repeated.status, 200);
    const headers: Record<string, string> = {
      authorization: `Bearer ${await token(carol)}`,
      'content-type': 'application/json',
      'idempotency-key': `key-${randomUUID()}`,
    };
    const refused = await fetch(`${url}/api/groups/${group.id}/posts`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ text: 'eleventh' }),
    });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.match(((await refused.json()) as { error: string }).error, /at most 10 times a minute/);
  });

  it('refuses a post without an Idempotency-Key, or without text', async () => {
    assert.equal((await call('POST', `/api/groups/${group.id}/posts`, bob, { body: { text: 'no key' } })).status, 400);
    assert.equal((await call('POST', `/api/groups/${group.id}/posts`, bob, { body: {}, key: `key-${randomUUID()}` })).status, 400);
  });

  it('answers a stranger exactly as for a group that does not exist (404), for reading and posting', async () => {
    const read = await call('GET', `/api/groups/${group.id}/posts`, eve);
    const write = await call('POST', `/api/groups/${group.id}/posts`, eve, { body: { text: 'hi' }, key: `key-${randomUUID()}` });
    const missing = await call('GET', '/api/groups/nosuchgroup/posts', eve);
    assert.deepEqual([read.status, write.status, missing.status], [404, 404, 404]);
    assert.deepEqual([read.json, write.json], [{ error: GROUP_NOT_VISIBLE }, { error: GROUP_NOT_VISIBLE }]);
  });

  it('refuses a reply by number to a post the member may not see (404, no name, no quote), and a removed member outright', async () => {
    const g = await groups.createGroup({ name: 'Hidden History', creator: alice, idempotencyKey: randomUUID() });
    await conversation.updateSettings(g.id, alice, { historyForNewMembers: false });
    const secret = await call('POST', `/api/groups/${g.id}/posts`, alice, {
      body: { text: 'the safe code is 4711' },
      key: `key-${randomUUID()}`,
    });
    const secretSeq = (secret.json['post'] as { seq: number }).seq;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const late: UserRef = { id: randomUUID(), name: 'Lena Late' };
    await groups.join({ ref: (await groups.getInvite(g.id, alice)).url, user: late });
    const reply = await call('POST', `/api/groups/${g.id}/posts`, late, {
      body: { text: 'what code?', replyToSeq: secretSeq },
      key: `key-${randomUUID()}`,
    });
    assert.equal(reply.status, 404);
    assert.doesNotMatch(JSON.stringify(reply.json), /Alice|4711/);
    const read = await call('GET', `/api/groups/${g.id}/posts`, late);
    assert.doesNotMatch(JSON.stringify(read.json), /4711/);
    await groups.removeMember(g.id, { user: alice }, late.id);
    const removed = await call('POST', `/api/groups/${g.id}/posts`, late, { body: { text: 'still here' }, key: `key-${randomUUID()}` });
    assert.equal(removed.status, 404);
    const all = [];
    for await (const p of posts.all(g.id)) all.push(p.text);
    assert.deepEqual(all, ['the safe code is 4711']);
  });

  it('refuses a post made only of invisible characters (400)', async () => {
    const res = await call('POST', `/api/groups/${group.id}/posts`, bob, {
      body: { text: '\u200b\u2060\ufeff' },
      key: `key-${randomUUID()}`,
    });
    assert.equal(res.status, 400);
  });

  it('reads the conversation 20 a page with `before`, oldest first, marking deleted posts without their text', async () => {
    const g = await groups.createGroup({ name: 'Paged', creator: alice, idempotencyKey: randomUUID() });
    for (let i = 1; i <= 23; i++) {
      await posts.accept({
        groupId: g.id,
        sender: { userId: alice.id, name: alice.name, tenantId: TENANT },
        text: `n${i}`,
        createdAt: new Date().toISOString(),
        sourceKey: `${g.id}-${i}`,
      });
    }
    await posts.change(g.id, 23, { kind: 'delete', at: new Date(Date.now() + 1000).toISOString(), by: alice });
    const page = await call('GET', `/api/groups/${g.id}/posts`, alice);
    const items = page.json['posts'] as Array<{ seq: number; text?: string; deleted: boolean; sender: { isYou: boolean } }>;
    assert.deepEqual([items.length, items[0]!.seq, items.at(-1)!.seq, page.json['earlier']], [20, 4, 23, 4]);
    assert.deepEqual([items.at(-1)!.deleted, items.at(-1)!.text, items[0]!.sender.isYou], [true, undefined, true]);
    const earlier = await call('GET', `/api/groups/${g.id}/posts?before=4`, alice);
    assert.deepEqual(
      (earlier.json['posts'] as Array<{ text: string }>).map((p) => p.text),
      ['n1', 'n2', 'n3'],
    );
    assert.equal(earlier.json['earlier'], undefined);
    assert.equal((await call('GET', `/api/groups/${g.id}/posts?before=abc`, alice)).status, 400);
  });

  it('shows a deleted post without sender or text, and a reply to it as "a deleted post" (no name, no preview)', async () => {
    const g = await groups.createGroup({ name: 'Scrubbed', creator: alice, idempotencyKey: randomUUID() });
    const sender = { userId: alice.id, name: alice.name, tenantId: TENANT };
    await conversation.post({ groupId: g.id, sender, text: 'secret plan', sourceKey: `${g.id}-1` });
    await conversation.post({ groupId: g.id, sender, text: 'agreed', sourceKey: `${g.id}-2`, replyToSeq: 1 });
    await conversation.deletePost(g.id, 1, alice);
    const page = await call('GET', `/api/groups/${g.id}/posts`, alice);
    assert.deepEqual(page.json['posts'], [
      {
        seq: 1,
        sender: { name: '', isYou: false },
        createdAt: (page.json['posts'] as Array<{ createdAt: string }>)[0]!.createdAt,
        deleted: true,
      },
      {
        seq: 2,
        sender: { name: alice.name, isYou: true },
        text: 'agreed',
        createdAt: (page.json['posts'] as Array<{ createdAt: string }>)[1]!.createdAt,
        deleted: false,
        replyTo: { seq: 1, senderName: '', preview: '', deleted: true },
      },
    ]);
    assert.doesNotMatch(JSON.stringify(page.json), /secret plan/);
  });
});

describe('organization export with posts', () => {
  it('puts every post (sender, tenant, sequence, reply-to, edits) in the CSV and the JSON; a deleted one without sender or text', async () => {
    const group: Group = {
      id: 'g1',
      name: 'Field Sales North',
      createdBy: { id: 'a', name: 'Ann' },
      createdAt: '2025-01-01T00:00:00.000Z',
      status: 'organization',
      tenantId: TENANT,
      memberCount: 1,
    };
    async function* none<T>(): AsyncIterable<T> {}
    async function* posts() {
      yield {
        groupId: 'g1',
        seq: 1,
        sender: { userId: 'a', name: 'Ann', tenantId: TENANT, objectId: 'a' },
        text: '=1+1 formula\nline',
        createdAt: '2025-01-01T00:01:00.000Z',
        version: 1,
        sourceKey: 'k1',
      };
      yield {
        groupId: 'g1',
        seq: 2,
        sender: { userId: 'b', name: 'Bob', tenantId: TENANT },
        text: 'gone',
        createdAt: '2025-01-01T00:02:00.000Z',
        version: 2,
        replyTo: { seq: 1, senderName: 'Ann', preview: '=1+1' },
        deletedAt: '2025-01-01T00:03:00.000Z',
        deletedBy: { id: 'a', name: 'Ann' },
        sourceKey: 'k2',
      };
    }
    const csv = await groupExportCsv(group, none(), none(), posts());
    assert.match(csv, /^record,.*,detail,seq,tenant_id,reply_to,edited_at,deleted_at,imported\r\n/);
    assert.match(csv, /"post","g1","","a","Ann","","post","","2025-01-01T00:01:00.000Z","'=1\+1 formula\nline","1","11111111/);
    // Even a row deleted before tombstones (its text still stored) is exported without it.
    assert.match(
      csv,
      /\r\n"post","g1","","","","","post_deleted","Ann","2025-01-01T00:02:00.000Z","","2","","","","2025-01-01T00:03:00.000Z",""\r\n/,
    );
    assert.doesNotMatch(csv, /gone|Bob/);
    const json = JSON.parse(await groupExportJson(group, none(), none(), posts())) as { posts: Array<Record<string, unknown>> };
    assert.equal(json.posts.length, 2);
    assert.equal(json.posts[0]!['text'], '=1+1 formula\nline');
    assert.equal(json.posts[0]!['sourceKey'], undefined);
    assert.deepEqual(json.posts[1], {
      seq: 2,
      createdAt: '2025-01-01T00:02:00.000Z',
      deletedAt: '2025-01-01T00:03:00.000Z',
      deletedBy: { id: 'a', name: 'Ann' },
    });
  });
});
