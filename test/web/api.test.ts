import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import JSZip from 'jszip';
import { simpleParser } from 'mailparser';
import sinon from 'sinon';
import { newSigningKey } from '../helpers/fakeEntra';
import { contentDisposition } from '../../src/web/downloads';
import { EML_CONTENT_TYPE, PPTX_CONTENT_TYPE } from '../../src/web/documentService';
import { GROUP_NOT_VISIBLE, SIGN_IN_REQUIRED } from '../../src/web/api';
import { STORAGE_UNAVAILABLE, StorageUnavailableError } from '../../src/errors';
import { startWebHarness, type TestUser, type WebHarness } from './webHarness';

interface Reply {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

/** A real 1x1 PNG (the poster reads its header). */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

describe('web API for the tab (real HTTP, Azurite, fake Entra)', function () {
  let h: WebHarness;
  let alice: TestUser;
  let bob: TestUser;
  let aliceToken: string;
  let bobToken: string;

  before(async () => {
    h = await startWebHarness();
    alice = h.newUser('Alice Admin');
    bob = h.newUser('Bob Member');
    [aliceToken, bobToken] = await Promise.all([h.tokenFor(alice), h.tokenFor(bob)]);
  });
  after(async () => {
    await h?.stop();
  });

  async function call(
    method: 'GET' | 'POST',
    path: string,
    token?: string,
    init: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${h.url}${path}`, {
      method,
      headers,
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  function assertJsonHeaders(reply: Reply): void {
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(reply.headers.get('cache-control'), 'no-store');
  }

  it('answers 503 with Retry-After, not 500, when storage does not answer', async () => {
    sinon.stub(h.groups, 'listMyGroups').rejects(new StorageUnavailableError('timeout', 'no answer within 3000 ms'));
    const reply = await call('GET', '/api/me/groups', aliceToken);
    assert.equal(reply.status, 503);
    assert.equal(reply.headers.get('retry-after'), '5');
    assert.deepEqual(reply.json, { error: STORAGE_UNAVAILABLE });
  });

  describe('authentication', () => {
    it('refuses a request without a token: 401 JSON, no reason given', async () => {
      const reply = await call('GET', '/api/me/groups');
      assert.equal(reply.status, 401);
      assert.deepEqual(reply.json, { error: SIGN_IN_REQUIRED });
      assert.equal(reply.headers.get('www-authenticate'), 'Bearer');
      assertJsonHeaders(reply);
    });

    it('refuses a token signed with another key and an expired token with the same body, and logs why', async () => {
      const otherKey = await newSigningKey(h.entra.published.kid);
      const forged = await h.entra.signToken(
        h.entra.ssoClaims({ aud: '00000000-1111-2222-3333-444444444444', tid: alice.tid, oid: alice.id }),
        { key: otherKey.privateKey },
      );
      const expired = await h.tokenFor(alice, { expiresIn: -3600 });
      const noToken = await call('GET', '/api/me/groups');
      for (const token of [forged, expired, 'not-a-jwt', `${aliceToken}x`]) {
        const reply = await call('GET', '/api/me/groups', token);
        assert.equal(reply.status, 401, token.slice(0, 12));
        assert.deepEqual(reply.json, noToken.json);
      }
      const reasons = h.logs.filter((l) => l['msg'] === 'API token refused').map((l) => l['reason']);
      assert.ok(reasons.includes('signature'), `reasons: ${reasons.join(',')}`);
      assert.ok(reasons.includes('expired'), `reasons: ${reasons.join(',')}`);
      assert.ok(!JSON.stringify(h.logs).includes(aliceToken), 'a token reached the log');
    });

    it('refuses a Basic or malformed Authorization header', async () => {
      const reply = await call('GET', '/api/me/groups', undefined, {
        headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      });
      assert.equal(reply.status, 401);
      assert.deepEqual(reply.json, { error: SIGN_IN_REQUIRED });
    });
  });

  describe('groups', () => {
    it('lists only the caller’s groups, with role and status', async () => {
      const carol = h.newUser('Carol');
      const dave = h.newUser('Dave');
      const mine1 = await h.createGroup(carol, 'Carol one');
      const mine2 = await h.createGroup(carol, 'Carol two');
      const daves = await h.createGroup(dave, 'Dave only');
      await h.joinGroup(daves, dave, bob); // someone else's membership must not leak either
      const joined = await h.createGroup(dave, 'Dave and Carol');
      await h.joinGroup(joined, dave, carol);

      const reply = await call('GET', '/api/me/groups', await h.tokenFor(carol));
      assert.equal(reply.status, 200);
      assertJsonHeaders(reply);
      const groups = reply.json['groups'] as Array<Record<string, unknown>>;
      assert.deepEqual(groups.map((g) => g['id']).sort(), [mine1.id, mine2.id, joined.id].sort());
      const byId = new Map(groups.map((g) => [g['id'], g]));
      assert.deepEqual(byId.get(mine1.id), { id: mine1.id, name: 'Carol one', memberCount: 1, status: 'private', role: 'admin' });
      assert.equal(byId.get(joined.id)?.['role'], 'member');
      assert.equal(byId.get(joined.id)?.['memberCount'], 2);
    });

    it('shows a group to a member with the invite, QR code and admins', async () => {
      const group = await h.createGroup(alice, 'Harbour crew');
      await h.joinGroup(group, alice, bob);
      const invite = await h.groups.getInvite(group.id, alice);

      const asAdmin = await call('GET', `/api/groups/${group.id}`, aliceToken);
      assert.equal(asAdmin.status, 200);
      assert.equal(asAdmin.json['viewerIsAdmin'], true);
      const shown = asAdmin.json['invite'] as Record<string, string>;
      assert.equal(shown['url'], invite.url);
      assert.equal(shown['joinCode'], invite.joinCode);
      assert.match(shown['qrDataUrl'] ?? '', /^data:image\/png;base64,/);
      assert.deepEqual(asAdmin.json['admins'], [{ name: 'Alice Admin', isYou: true }]);

      const asMember = await call('GET', `/api/groups/${group.id}`, bobToken);
      assert.equal(asMember.status, 200);
      assert.equal(asMember.json['viewerIsAdmin'], false);
      assert.deepEqual(asMember.json['admins'], [{ name: 'Alice Admin', isYou: false }]);
      assert.equal((asMember.json['group'] as Record<string, unknown>)['memberCount'], 2);
    });

    it('answers a stranger exactly as for a group that does not exist, on every group route', async () => {
      const group = await h.createGroup(alice, 'Private matters');
      const stranger = h.newUser('Eve Stranger');
      const token = await h.tokenFor(stranger);
      const missingId = randomBytes(12).toString('hex');
      const routes: Array<['GET' | 'POST', string]> = [
        ['GET', ''],
        ['POST', '/invite/reset'],
        ['POST', '/organization'],
        ['POST', '/documents'],
      ];
      for (const [method, suffix] of routes) {
        const theirs = await call(method, `/api/groups/${group.id}${suffix}`, token);
        const missing = await call(method, `/api/groups/${missingId}${suffix}`, token);
        assert.equal(theirs.status, 404, `${method} ${suffix}`);
        assert.equal(missing.status, 404, `${method} ${suffix}`);
        assert.deepEqual(theirs.json, missing.json);
        assert.deepEqual(theirs.json, { error: GROUP_NOT_VISIBLE });
      }
      // And nothing changed: the group is still private with its one member.
      const after = await h.groups.getGroup(group.id);
      assert.equal(after.status, 'private');
      assert.equal(after.memberCount, 1);
    });
  });

  describe('invite reset', () => {
    it('is refused to a member who is not an admin (403) and changes nothing', async () => {
      const group = await h.createGroup(alice, 'Night shift');
      await h.joinGroup(group, alice, bob);
      const before = await h.groups.getInvite(group.id, alice);
      const reply = await call('POST', `/api/groups/${group.id}/invite/reset`, bobToken);
      assert.equal(reply.status, 403);
      assert.equal(typeof reply.json['error'], 'string');
      assert.deepEqual(await h.groups.getInvite(group.id, alice), before);
    });

    it('gives an admin a new link and the old one stops working', async () => {
      const group = await h.createGroup(alice, 'Day shift');
      const old = await h.groups.getInvite(group.id, alice);
      const reply = await call('POST', `/api/groups/${group.id}/invite/reset`, aliceToken);
      assert.equal(reply.status, 200);
      const fresh = reply.json['invite'] as Record<string, string>;
      assert.notEqual(fresh['url'], old.url);
      assert.notEqual(fresh['joinCode'], old.joinCode);
      assert.match(fresh['qrDataUrl'] ?? '', /^data:image\/png;base64,/);
      await assert.rejects(h.groups.resolveInvite(old.url), (err: Error) => err.name === 'NotFoundError');
      assert.equal((await h.groups.resolveInvite(fresh['url']!)).id, group.id);
    });

    it('resets nothing when the page asks from a link that was already reset (a double click), and shows the current link', async () => {
      const group = await h.createGroup(alice, 'Night shift');
      const shown = (await h.groups.getInvite(group.id, alice)).url;
      const first = await call('POST', `/api/groups/${group.id}/invite/reset?from=${encodeURIComponent(shown)}`, aliceToken);
      assert.equal(first.status, 200);
      assert.equal(first.json['reset'], true);
      const shared = (first.json['invite'] as Record<string, string>)['url'];
      const second = await call('POST', `/api/groups/${group.id}/invite/reset?from=${encodeURIComponent(shown)}`, aliceToken);
      assert.equal(second.status, 200);
      assert.equal(second.json['reset'], false);
      assert.equal((second.json['invite'] as Record<string, string>)['url'], shared);
      assert.equal((await h.groups.getInvite(group.id, alice)).url, shared);
    });

    it('resets once when two requests from the same link arrive at the same moment; both answer with the link that works', async () => {
      for (let trial = 0; trial < 3; trial++) {
        const group = await h.createGroup(alice, `Race ${trial}`);
        const shown = (await h.groups.getInvite(group.id, alice)).url;
        const path = `/api/groups/${group.id}/invite/reset?from=${encodeURIComponent(shown)}`;
        const replies = await Promise.all([call('POST', path, aliceToken), call('POST', path, aliceToken)]);
        assert.deepEqual(
          replies.map((r) => r.status),
          [200, 200],
        );
        assert.deepEqual(replies.map((r) => r.json['reset']).sort(), [false, true]);
        const urls = replies.map((r) => (r.json['invite'] as Record<string, string>)['url']!);
        assert.equal(urls[0], urls[1]);
        assert.equal((await h.groups.resolveInvite(urls[0]!)).id, group.id);
        const resets = (await h.groups.auditTrail(group.id)).items.filter((e) => e.action === 'link_reset');
        assert.equal(resets.length, 1);
      }
    });
  });

  describe('add to organization', () => {
    it('maps to the tid of the verified token, whatever else the request says, once', async () => {
      const group = await h.createGroup(alice, 'Warehouse');
      const otherTenant = '99999999-8888-7777-6666-555555555555';
      const reply = await call('POST', `/api/groups/${group.id}/organization`, aliceToken, {
        body: { tenantId: otherTenant, tid: otherTenant, organizationName: 'Evil Corp' },
        headers: { 'x-ms-tenant-id': otherTenant },
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.json));
      assert.equal(reply.json['changed'], true);
      const shown = reply.json['group'] as Record<string, unknown>;
      assert.equal(shown['status'], 'organization');
      assert.equal(shown['organizationName'], 'contoso.example'); // from the token's sign-in domain
      const stored = await h.groups.getGroup(group.id);
      assert.equal(stored.tenantId, alice.tid.toLowerCase());
      assert.equal(stored.mappedBy?.id, alice.id);

      const again = await call('POST', `/api/groups/${group.id}/organization`, aliceToken);
      assert.equal(again.status, 200);
      assert.equal(again.json['changed'], false);
    });

    it('is refused to a member (403), and to an admin of another tenant once mapped', async () => {
      const group = await h.createGroup(alice, 'Loading dock');
      await h.joinGroup(group, alice, bob);
      const member = await call('POST', `/api/groups/${group.id}/organization`, bobToken);
      assert.equal(member.status, 403);
      assert.equal((await h.groups.getGroup(group.id)).status, 'private');

      await call('POST', `/api/groups/${group.id}/organization`, aliceToken);
      const elsewhere = await call(
        'POST',
        `/api/groups/${group.id}/organization`,
        await h.tokenFor(alice, { tid: '12345678-1234-1234-1234-123456789abc' }),
      );
      assert.equal(elsewhere.status, 403);
      assert.equal((await h.groups.getGroup(group.id)).tenantId, alice.tid.toLowerCase());
    });
  });

  describe('documents and downloads', () => {
    it('signs links that download a pptx with the group name and an eml with both parts', async () => {
      const group = await h.createGroup(alice, 'Harbour crew', { bytes: PNG, contentType: 'image/png' });
      const invite = await h.groups.getInvite(group.id, alice);
      const reply = await call('POST', `/api/groups/${group.id}/documents`, aliceToken);
      assert.equal(reply.status, 200);
      const links = reply.json as Record<string, unknown>;
      const expiresAt = Date.parse(String(links['expiresAt']));
      assert.ok(expiresAt > Date.now() + 50 * 60_000 && expiresAt <= Date.now() + 61 * 60_000, 'about one hour');
      const mailto = links['mailto'] as Record<string, string>;
      assert.match(mailto['subject'] ?? '', /Harbour crew/);
      assert.ok(mailto['body']?.includes(invite.url));
      assert.match(String(links['mailtoUrl']), /^mailto:\?subject=/);

      const poster = await fetch(String(links['posterUrl']));
      assert.equal(poster.status, 200);
      assert.equal(poster.headers.get('content-type'), PPTX_CONTENT_TYPE);
      assert.match(
        poster.headers.get('content-disposition') ?? '',
        /^attachment; filename="join-Harbour-crew\.pptx"; filename\*=UTF-8''join-Harbour-crew\.pptx$/,
      );
      const zip = await JSZip.loadAsync(Buffer.from(await poster.arrayBuffer()));
      const slide = await zip.file('ppt/slides/slide1.xml')?.async('string');
      assert.ok(slide?.includes('Harbour crew'), 'group name on the slide');
      assert.ok(slide?.includes(invite.joinCode), 'join code on the slide');
      assert.ok(
        Object.keys(zip.files).some((name) => name.startsWith('ppt/media/')),
        'images embedded',
      );

      const intro = await fetch(String(links['introPosterUrl']));
      assert.equal(intro.status, 200);
      assert.ok((await JSZip.loadAsync(Buffer.from(await intro.arrayBuffer()))).file('ppt/slides/slide1.xml'));

      const email = await fetch(String(links['emailFileUrl']));
      assert.equal(email.status, 200);
      assert.equal(email.headers.get('content-type'), EML_CONTENT_TYPE);
      const parsed = await simpleParser(Buffer.from(await email.arrayBuffer()));
      assert.match(parsed.subject ?? '', /Harbour crew/);
      assert.ok(parsed.text?.includes(invite.url), 'text part has the link');
      assert.ok(typeof parsed.html === 'string' && parsed.html.includes('Harbour crew'), 'html part has the name');
    });

    it('refuses a tampered link (403) and an expired one (410) with a short page', async () => {
      const group = await h.createGroup(alice, 'Tamper test');
      const links = (await call('POST', `/api/groups/${group.id}/documents`, aliceToken)).json;
      const poster = new URL(String(links['posterUrl']));

      const otherGroup = await h.createGroup(bob, 'Bob secret');
      const swapped = new URL(poster);
      swapped.searchParams.set('group', otherGroup.id);
      const badSig = new URL(poster);
      const sig = badSig.searchParams.get('sig')!;
      badSig.searchParams.set('sig', `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`);
      const otherPath = new URL(poster);
      otherPath.pathname = '/downloads/move-email.eml';
      const noSig = new URL(poster);
      noSig.searchParams.delete('sig');

      for (const url of [swapped, badSig, otherPath, noSig]) {
        const res = await fetch(url);
        assert.equal(res.status, 403, url.href);
        assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
        assert.match(await res.text(), /not valid/);
      }

      h.advanceLinkClock(2 * 60 * 60 * 1000);
      try {
        const res = await fetch(poster);
        assert.equal(res.status, 410);
        assert.match(await res.text(), /expired/);
      } finally {
        h.advanceLinkClock(-2 * 60 * 60 * 1000);
      }
    });

    it('stops a link working when its owner leaves the group', async () => {
      const group = await h.createGroup(alice, 'Leavers');
      await h.joinGroup(group, alice, bob);
      const links = (await call('POST', `/api/groups/${group.id}/documents`, bobToken)).json;
      assert.equal((await fetch(String(links['emailFileUrl']))).status, 200);
      await h.groups.leave(group.id, bob);
      const res = await fetch(String(links['emailFileUrl']));
      assert.equal(res.status, 403);
      await res.text();
    });

    it('writes a safe Content-Disposition for a hostile group name', async () => {
      const hostile = '../"x"; filename=evil.exe; R&D <Plant 2> ü 🚀 %41 \\ \'(*)';
      const group = await h.createGroup(alice, hostile);
      const links = (await call('POST', `/api/groups/${group.id}/documents`, aliceToken)).json;
      const res = await fetch(String(links['emailFileUrl']));
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      const header = res.headers.get('content-disposition') ?? '';
      const match = /^attachment; filename="([^"\\]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)$/.exec(header);
      assert.ok(match, header);
      const [, fallback, extended] = match;
      assert.match(fallback!, /^[\x20-\x7e]+\.eml$/);
      assert.ok(!fallback!.includes(';') && !fallback!.includes('/') && !fallback!.includes('%'));
      const decoded = decodeURIComponent(extended!);
      assert.ok(decoded.startsWith('join-') && decoded.endsWith('.eml'));
      assert.ok(decoded.includes('🚀') && decoded.includes('ü'));
      assert.ok(!/[\\/"]/.test(decoded), decoded);
    });

    it('contentDisposition drops control characters and keeps the header on one line', () => {
      const header = contentDisposition('a\r\nSet-Cookie: x=1\u0000.pptx');
      assert.ok(!/[\r\n\u0000]/.test(header));
      assert.match(header, /^attachment; filename="aSet-Cookie_ x_1\.pptx"; filename\*=UTF-8''aSet-Cookie%3A%20x%3D1\.pptx$/);
      assert.match(contentDisposition('日本語'), /^attachment; filename="_"; filename\*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E$/);
    });
  });

  describe('group photo', () => {
    it('serves the current version with a day of caching, and 404 for any other', async () => {
      const group = await h.createGroup(alice, 'With photo', { bytes: PNG, contentType: 'image/png' });
      const version = group.photo!.version;
      const res = await fetch(`${h.url}/groups/${group.id}/photo?v=${version}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/png');
      assert.equal(res.headers.get('cache-control'), 'public, max-age=86400, must-revalidate');
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), PNG);

      for (const path of [
        `/groups/${group.id}/photo?v=stale`,
        `/groups/${group.id}/photo`,
        `/groups/${randomBytes(12).toString('hex')}/photo?v=${version}`,
      ]) {
        const miss = await fetch(`${h.url}${path}`);
        assert.equal(miss.status, 404, path);
        assert.doesNotMatch(miss.headers.get('cache-control') ?? '', /immutable/);
        await miss.text();
      }
    });
  });

  describe('errors', () => {
    it('answers an unexpected failure with 500 and a generic message, and logs it', async () => {
      sinon.stub(h.groups, 'listMyGroups').rejects(new Error('table service on fire'));
      const reply = await call('GET', '/api/me/groups', aliceToken);
      assert.equal(reply.status, 500);
      assert.deepEqual(reply.json, { error: 'Something went wrong.' });
      assertJsonHeaders(reply);
      assert.ok(h.logs.some((l) => l['msg'] === 'API request failed'));
    });
  });
});
