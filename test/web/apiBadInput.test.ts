import assert from 'node:assert/strict';
import { startWebHarness, type TestUser, type WebHarness } from './webHarness';

/** The tab's JSON API answers bad input with 400 and a short JSON message: never 500, never a stack. */
describe('web API: bad input is a 400, never a 500', () => {
  let h: WebHarness;
  let alice: TestUser;
  let token: string;
  let groupId: string;

  before(async () => {
    h = await startWebHarness();
    alice = h.newUser('Alice Admin');
    token = await h.tokenFor(alice);
    groupId = (await h.createGroup(alice, 'Bad input')).id;
  });
  after(async () => {
    await h?.stop();
  });

  async function call(method: 'GET' | 'POST', path: string, body?: string, contentType = 'application/json') {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = contentType;
    const res = await fetch(`${h.url}${path}`, { method, headers, body });
    const text = await res.text();
    return { status: res.status, text, json: JSON.parse(text) as Record<string, unknown> };
  }

  function assertBadInput(reply: { status: number; text: string; json: Record<string, unknown> }, what: string): void {
    assert.equal(reply.status, 400, `${what}: ${reply.status} ${reply.text}`);
    assert.equal(typeof reply.json['error'], 'string');
    assert.doesNotMatch(reply.text, /\n\s+at |Something went wrong/);
  }

  const garbageTokens: Array<[string, string]> = [
    ['not base64 JSON', 'abc'],
    ['base64 of a JSON number', Buffer.from('42').toString('base64')],
    ['base64 of JSON without the next partition key', Buffer.from('{"a":1}').toString('base64')],
    ['base64 of JSON with a number for a key', Buffer.from('{"nextPartitionKey":5}').toString('base64')],
  ];
  for (const [what, continuationToken] of garbageTokens) {
    it(`answers a continuation token that is ${what} with 400`, async () => {
      assertBadInput(await call('GET', `/api/me/groups?continuationToken=${encodeURIComponent(continuationToken)}`), what);
    });
  }

  it('answers a continuation token given twice, or as an object, with 400', async () => {
    assertBadInput(await call('GET', '/api/me/groups?continuationToken=a&continuationToken=b'), 'twice');
    assertBadInput(await call('GET', '/api/me/groups?continuationToken[a]=b'), 'object');
  });

  it('answers a reset "from" given twice or as an object with 400, and resets nothing', async () => {
    const before = await h.groups.getInvite(groupId, alice);
    assertBadInput(await call('POST', `/api/groups/${groupId}/invite/reset?from=a&from=b`), 'from twice');
    assertBadInput(await call('POST', `/api/groups/${groupId}/invite/reset?from[x]=1`), 'from object');
    assert.equal((await h.groups.getInvite(groupId, alice)).url, before.url);
  });

  for (const [what, id] of [
    ['a NUL character', '%00'],
    ['a dot', 'a.b'],
    ['spaces', 'a%20b'],
    ['a quote (OData)', "a'b"],
  ] as const) {
    it(`answers a group id with ${what} with 400 on every group route`, async () => {
      for (const [method, suffix] of [
        ['GET', ''],
        ['POST', '/invite/reset'],
        ['POST', '/organization'],
        ['POST', '/documents'],
      ] as const) {
        assertBadInput(await call(method, `/api/groups/${id}${suffix}`), `${method} ${suffix}`);
      }
    });
  }

  for (const [what, body] of [
    ['malformed JSON', '{not json'],
    ['truncated JSON', '{"a":'],
  ] as const) {
    it(`answers ${what} in a POST body with 400`, async () => {
      for (const suffix of ['/invite/reset', '/organization', '/documents']) {
        assertBadInput(await call('POST', `/api/groups/${groupId}${suffix}`, body), suffix);
      }
    });
  }

  it('logged no failure for any of it', () => {
    assert.ok(
      !h.logs.some((l) => l['msg'] === 'API request failed' || l['msg'] === 'request failed'),
      JSON.stringify(h.logs.filter((l) => Number(l['level']) >= 50)),
    );
  });
});
