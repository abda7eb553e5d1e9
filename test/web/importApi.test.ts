import assert from 'node:assert/strict';
import http from 'node:http';
import type { Group } from '../../src/groups/model';
import { fixture } from '../import/exportFixtures';
import { startWebHarness, type TestUser, type WebHarness } from './webHarness';

/** The tab's import API over HTTP: who may, what is refused before it is read, and the whole walk. */
describe('web: the import API (POST /api/groups/:id/import ...)', function () {
  this.timeout(30_000);
  let h: WebHarness;
  let ann: TestUser;
  let bob: TestUser;
  let depot: Group;

  before(async () => {
    h = await startWebHarness();
    ann = h.newUser('Ann Lee');
    bob = h.newUser('Bob Stone');
    depot = await h.createGroup(ann, 'Depot North');
    await h.joinGroup(depot, ann, bob);
  });
  after(() => h?.stop());

  async function call(user: TestUser, method: string, path: string, body?: Uint8Array | object) {
    const headers: Record<string, string> = { authorization: `Bearer ${await h.tokenFor(user)}` };
    let payload: BodyInit | undefined;
    if (body instanceof Uint8Array) {
      headers['content-type'] = 'application/octet-stream';
      payload = new Blob([Uint8Array.from(body)]);
    } else if (body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(`${h.url}${path}`, { method, headers, body: payload });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('admins only; a stranger sees no group; a file that is not an export is one line', async () => {
    const file = fixture('whatsapp-android-us.txt');
    const member = await call(bob, 'POST', `/api/groups/${depot.id}/import?name=chat.txt`, file);
    assert.deepEqual([member.status, member.body.error], [403, 'Only admins of Depot North can import earlier messages.']);
    const stranger = await call(h.newUser('Eve'), 'POST', `/api/groups/${depot.id}/import?name=chat.txt`, file);
    assert.equal(stranger.status, 404);
    const notExport = await call(ann, 'POST', `/api/groups/${depot.id}/import?name=notes.txt`, Buffer.from('Dear team,\nhello\n'));
    assert.deepEqual([notExport.status, notExport.body.error], [400, 'This does not look like a WhatsApp or Telegram export.']);
    const json = await call(ann, 'POST', `/api/groups/${depot.id}/import?name=chat.txt`, { text: 'x' });
    assert.deepEqual([json.status, json.body.error], [400, 'Send the file as application/octet-stream.']);
    assert.deepEqual((await h.imports.history(depot.id, ann.id)).messages, []);
  });

  it('a declared length over 50 MB is refused before the body is read', async () => {
    const token = await h.tokenFor(ann);
    const url = new URL(`${h.url}/api/groups/${depot.id}/import?name=big.zip`);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/octet-stream',
          'content-length': String(60 * 1024 * 1024),
        },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.write(Buffer.alloc(1024));
    });
    assert.equal(answer.status, 413);
    assert.match(answer.body, /larger than 50 MB/);
  });

  it('upload, preview again in another zone, Import (202) with a changed match, progress to done, list, undo', async () => {
    const up = await call(ann, 'POST', `/api/groups/${depot.id}/import?name=chat.txt&timeZone=UTC`, fixture('whatsapp-android-us.txt'));
    assert.equal(up.status, 200);
    const token = String(up.body.token);
    assert.deepEqual(
      (up.body.senders as Array<{ name: string; match?: { userId: string } }>).map((s) => [s.name, s.match?.userId ?? '']),
      [
        ['Ann Lee', ann.id],
        ['Bob Stone', bob.id],
        ['Cy Park', ''],
      ],
    );
    assert.deepEqual(
      (up.body.members as Array<{ name: string }>).map((m) => m.name),
      ['Ann Lee', 'Bob Stone'],
    );
    const again = await call(ann, 'POST', `/api/groups/${depot.id}/import/${token}/preview`, { timeZone: 'America/New_York' });
    assert.deepEqual([again.body.timeZone, again.body.first], ['America/New_York', '2023-12-20T22:40:00.000Z']);
    const bobs = await call(bob, 'POST', `/api/groups/${depot.id}/import/${token}`, {});
    assert.deepEqual(
      [bobs.status, bobs.body.error],
      [400, 'That preview has expired. Choose the file again.'],
      "only the uploader's token",
    );
    const started = await call(ann, 'POST', `/api/groups/${depot.id}/import/${token}`, { senders: { 'Cy Park': bob.id } });
    assert.equal(started.status, 202);
    let state = '';
    for (let i = 0; i < 200 && state !== 'done'; i++) {
      state = String((await call(ann, 'GET', `/api/groups/${depot.id}/import/${token}`)).body.state);
      if (state !== 'done') await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(state, 'done');
    const history = await h.imports.history(depot.id, ann.id);
    assert.deepEqual(
      history.messages.map((m) => [m.at.slice(11, 16), m.sender, m.member?.userId ?? '']),
      [
        ['22:46', 'Ann Lee', ''],
        ['22:47', 'Bob Stone', ''],
        ['22:48', 'Ann Lee', ''],
        ['22:50', 'Bob Stone', ''],
        ['13:02', 'Cy Park', bob.id],
        ['13:05', 'Ann Lee', ''],
      ],
      'New York times; only the match sent with Import',
    );
    const list = await call(ann, 'GET', `/api/groups/${depot.id}/imports`);
    const [only] = list.body.imports as Array<{ importId: string; count: number; state: string }>;
    assert.deepEqual([only?.count, only?.state], [6, 'done']);
    const undone = await call(ann, 'POST', `/api/groups/${depot.id}/imports/${only!.importId}/undo`);
    assert.deepEqual(undone.body, { removed: 6 });
    assert.deepEqual((await h.imports.history(depot.id, ann.id)).messages, []);
  });
});
