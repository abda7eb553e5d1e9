import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Group } from '../../src/groups/model';
import { startWebHarness, type TestUser, type WebHarness } from './webHarness';

/** Issue 19 from the tab: create an announcement or a poll, watch the results, download the report. */
describe('tab API: announcements and polls (GET/POST /api/groups/:id/actions)', function () {
  this.timeout(30_000);
  let h: WebHarness;
  let alice: TestUser;
  let bob: TestUser;
  let eve: TestUser;
  let group: Group;

  before(async () => {
    h = await startWebHarness();
    alice = h.newUser('Alice Admin');
    bob = h.newUser('=Bob Member');
    eve = h.newUser('Eve Elsewhere');
    group = await h.createGroup(alice, 'Yard Crew');
    await h.joinGroup(group, alice, bob);
  });
  after(async () => {
    await h.stop();
  });

  async function call(user: TestUser, method: 'GET' | 'POST', path: string, body?: unknown, key = randomUUID()) {
    const res = await fetch(`${h.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await h.tokenFor(user)}`,
        ...(body !== undefined ? { 'content-type': 'application/json', 'idempotency-key': key } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('creates a poll from the tab as a post of the group (once per key), shows results and the report to the creator', async () => {
    const key = randomUUID();
    const poll = { kind: 'poll', question: 'Overtime on Saturday?', options: ['Yes', 'No'], anonymous: false };
    const created = await call(alice, 'POST', `/api/groups/${group.id}/actions`, poll, key);
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const again = await call(alice, 'POST', `/api/groups/${group.id}/actions`, poll, key);
    assert.equal(again.status, 200, 'the same request key makes nothing new');
    const action = created.json.action as { id: string; reportUrl?: string; memberCount?: number };
    assert.equal(action.memberCount, 2);
    const stored = [];
    for await (const p of h.posts.all(group.id)) stored.push(p);
    assert.deepEqual(
      stored.map((p) => [p.action?.kind, p.text]),
      [['poll', 'Poll: Overtime on Saturday?\n- Yes\n- No']],
    );
    await h.actions.vote(group.id, action.id, bob, [1]);
    const listed = await call(alice, 'GET', `/api/groups/${group.id}/actions`);
    const seen = (listed.json.actions as Array<{ id: string; results?: { counts: number[]; answered: number } }>)[0]!;
    assert.deepEqual(seen.results, { counts: [0, 1], answered: 1 });
    // A member sees no report link and, before voting, no results; a stranger sees nothing.
    const asBob = (await call(bob, 'GET', `/api/groups/${group.id}/actions`)).json.actions as Array<Record<string, unknown>>;
    assert.equal(asBob[0]!.reportUrl, undefined);
    assert.equal((await call(eve, 'GET', `/api/groups/${group.id}/actions`)).status, 404);
    const report = await fetch(action.reportUrl!);
    assert.equal(report.status, 200);
    assert.match(report.headers.get('content-type') ?? '', /text\/csv/);
    const text = await report.text();
    assert.match(text, /"'=Bob Member","[^"]+","yes","[^"]+","No"/, 'formula-safe, with the named choice');
    assert.match(text, /"Alice Admin","[^"]+","no","",""/);
    // A forged report link is refused.
    const forged = new URL(action.reportUrl!);
    forged.searchParams.set('by', bob.id);
    assert.equal((await fetch(forged)).status, 403);
  });

  it('creates an announcement, refuses a bad kind and a missing key with a line', async () => {
    const created = await call(alice, 'POST', `/api/groups/${group.id}/actions`, {
      kind: 'announcement',
      title: 'Gate code',
      text: 'Changes Monday.',
    });
    assert.equal(created.status, 201);
    assert.equal((created.json.action as { kind: string }).kind, 'announcement');
    const bad = await call(alice, 'POST', `/api/groups/${group.id}/actions`, { kind: 'survey' });
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.error), /announcement" or "poll/);
    const noKey = await fetch(`${h.url}/api/groups/${group.id}/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await h.tokenFor(alice)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'announcement', title: 'x', text: 'y' }),
    });
    assert.equal(noKey.status, 400);
  });
});
