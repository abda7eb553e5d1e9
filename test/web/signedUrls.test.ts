import assert from 'node:assert/strict';
import { UrlSigner, type VerifyResult } from '../../src/web/signedUrls';

const SECRET = 'a-test-secret-that-is-long-enough-32+';
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

function signer(now: () => number = () => T0, publicUrl = 'https://bot.example.com'): UrlSigner {
  return new UrlSigner({ secret: SECRET, publicUrl, now });
}

/** Verifies an absolute URL the way the download route will: its pathname and query. */
function check(s: UrlSigner, link: string): VerifyResult {
  const url = new URL(link);
  return s.verify(url.pathname, url.searchParams);
}

function withParam(link: string, key: string, value: string): string {
  const url = new URL(link);
  url.searchParams.set(key, value);
  return url.href;
}

const poster = (s: UrlSigner): string => s.sign('/downloads/poster.pptx', { group: 'g-123', variant: 'move' }, 600);

describe('UrlSigner (signed download links)', () => {
  it('makes an absolute link with the params, exp and sig, and accepts it while fresh', () => {
    const s = signer();
    const link = poster(s);
    const url = new URL(link);
    assert.equal(url.origin, 'https://bot.example.com');
    assert.equal(url.pathname, '/downloads/poster.pptx');
    assert.equal(url.searchParams.get('group'), 'g-123');
    assert.equal(url.searchParams.get('variant'), 'move');
    assert.equal(url.searchParams.get('exp'), String(T0 / 1000 + 600));
    assert.match(url.searchParams.get('sig') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(check(s, link), { ok: true, params: { group: 'g-123', variant: 'move' } });
  });

  it('does not depend on the order or spelling of the query string, and accepts a parsed query object', () => {
    const s = signer();
    const url = new URL(poster(s));
    const reordered = new URLSearchParams([...url.searchParams].reverse());
    assert.equal(s.verify(url.pathname, reordered).ok, true);
    assert.equal(s.verify(url.pathname, `?${reordered.toString()}`).ok, true);
    assert.equal(s.verify(url.pathname, Object.fromEntries(url.searchParams)).ok, true);
  });

  it('signs values with any characters', () => {
    const s = signer();
    const params = { group: 'a&b=c d+e/é🚚', note: '' };
    const link = s.sign('/downloads/email.eml', params, 60);
    assert.deepEqual(check(s, link), { ok: true, params });
  });

  it('refuses a changed, added or removed param', () => {
    const s = signer();
    const link = poster(s);
    assert.deepEqual(check(s, withParam(link, 'group', 'g-124')), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(check(s, withParam(link, 'variant', 'intro')), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(check(s, withParam(link, 'extra', '1')), { ok: false, reason: 'bad_signature' });
    const removed = new URL(link);
    removed.searchParams.delete('variant');
    assert.deepEqual(check(s, removed.href), { ok: false, reason: 'bad_signature' });
  });

  it('refuses a changed sig, even one that decodes to the same bytes', () => {
    const s = signer();
    const link = poster(s);
    const sig = new URL(link).searchParams.get('sig') ?? '';
    for (const index of [0, 20, 42]) {
      for (const replacement of ['A', 'B', 'C', 'D', '_']) {
        if (sig[index] === replacement) continue;
        const changed = sig.slice(0, index) + replacement + sig.slice(index + 1);
        assert.deepEqual(
          check(s, withParam(link, 'sig', changed)),
          { ok: false, reason: 'bad_signature' },
          `sig[${index}] = ${replacement}`,
        );
      }
    }
  });

  it('refuses a changed path', () => {
    const s = signer();
    const url = new URL(poster(s));
    assert.deepEqual(s.verify('/downloads/email.eml', url.searchParams), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(s.verify('/downloads/poster.pptx/', url.searchParams), { ok: false, reason: 'bad_signature' });
  });

  it('refuses a changed exp, even one in the future', () => {
    const s = signer();
    const link = poster(s);
    const exp = Number(new URL(link).searchParams.get('exp'));
    assert.deepEqual(check(s, withParam(link, 'exp', String(exp + 3600))), { ok: false, reason: 'bad_signature' });
  });

  it('refuses an expired link, and only an untouched one is called expired', () => {
    let now = T0;
    const s = signer(() => now);
    const link = poster(s);
    now = T0 + 599_000;
    assert.equal(check(s, link).ok, true);
    now = T0 + 600_000;
    assert.deepEqual(check(s, link), { ok: false, reason: 'expired' });
    assert.deepEqual(check(s, withParam(link, 'group', 'other')), { ok: false, reason: 'bad_signature' });
  });

  it('refuses a malformed link', () => {
    const s = signer();
    const url = new URL(poster(s));
    const without = (key: string): URLSearchParams => {
      const copy = new URLSearchParams(url.searchParams);
      copy.delete(key);
      return copy;
    };
    const malformed: VerifyResult = { ok: false, reason: 'malformed' };
    assert.deepEqual(s.verify(url.pathname, without('sig')), malformed);
    assert.deepEqual(s.verify(url.pathname, without('exp')), malformed);
    assert.deepEqual(s.verify(url.pathname, withParam(url.href, 'exp', 'soon').split('?')[1] ?? ''), malformed);
    assert.deepEqual(s.verify(url.pathname, withParam(url.href, 'sig', 'short').split('?')[1] ?? ''), malformed);
    assert.deepEqual(s.verify(url.pathname, `${url.search}&group=again`), malformed, 'a repeated param');
    assert.deepEqual(s.verify(url.pathname, { ...Object.fromEntries(url.searchParams), group: ['a', 'b'] }), malformed);
    assert.deepEqual(s.verify('downloads/poster.pptx', url.searchParams), malformed);
    assert.deepEqual(s.verify(url.pathname, ''), malformed);
  });

  it('refuses a link signed with another secret', () => {
    const other = new UrlSigner({ secret: Buffer.alloc(32, 7), publicUrl: 'https://bot.example.com', now: () => T0 });
    assert.deepEqual(check(signer(), poster(other)), { ok: false, reason: 'bad_signature' });
  });

  it('serves links under the base path of publicUrl and accepts the pathname with or without it', () => {
    const s = signer(() => T0, 'https://example.com/kaizala/');
    const url = new URL(poster(s));
    assert.equal(url.pathname, '/kaizala/downloads/poster.pptx');
    assert.equal(s.verify(url.pathname, url.searchParams).ok, true);
    assert.equal(s.verify('/downloads/poster.pptx', url.searchParams).ok, true);
  });

  it('refuses a short secret, a reserved param, a bad path and a bad lifetime', () => {
    assert.throws(() => new UrlSigner({ secret: 'short', publicUrl: 'https://bot.example.com' }), RangeError);
    assert.throws(() => new UrlSigner({ secret: SECRET, publicUrl: 'not a url' }), RangeError);
    const s = signer();
    assert.throws(() => s.sign('/downloads/poster.pptx', { exp: '1' }, 60), RangeError);
    assert.throws(() => s.sign('/downloads/poster.pptx', { sig: 'x' }, 60), RangeError);
    assert.throws(() => s.sign('https://evil.example.com/x', {}, 60), RangeError);
    assert.throws(() => s.sign('//evil.example.com/x', {}, 60), RangeError);
    assert.throws(() => s.sign('/downloads/poster.pptx', {}, 0), RangeError);
    assert.throws(() => s.sign('/downloads/poster.pptx', {}, 1.5), RangeError);
  });
});
