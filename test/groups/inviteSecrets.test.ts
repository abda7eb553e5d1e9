import assert from 'node:assert/strict';
import {
  deriveInviteToken,
  deriveJoinCode,
  formatJoinCode,
  hashInviteSecret,
  newLinkNonce,
  normalizeJoinCode,
  parseInviteReference,
} from '../../src/groups/inviteSecrets';

const SECRET = 'test-secret-0123456789-abcdefghijkl';
const PUBLIC_URL = 'https://bot.example.com';

describe('invite secrets', () => {
  const nonce = newLinkNonce();

  it('derives a 22-character base64url token, the same every time for the same nonce', () => {
    const token = deriveInviteToken(SECRET, 'g1', nonce);
    assert.match(token, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(deriveInviteToken(SECRET, 'g1', nonce), token);
  });

  it('derives a different token after a reset (new nonce), for another group, or with another secret', () => {
    const token = deriveInviteToken(SECRET, 'g1', nonce);
    assert.notEqual(deriveInviteToken(SECRET, 'g1', newLinkNonce()), token);
    assert.notEqual(deriveInviteToken(SECRET, 'g2', nonce), token);
    assert.notEqual(deriveInviteToken(`${SECRET}x`, 'g1', nonce), token);
  });

  it('makes nonces of 16 random bytes', () => {
    assert.equal(Buffer.from(nonce, 'base64url').length, 16);
    assert.notEqual(newLinkNonce(), nonce);
  });

  it('derives a 10-character Crockford base32 join code, shown as XXXXX-XXXXX', () => {
    const code = deriveJoinCode(SECRET, 'g1', nonce);
    assert.match(code, /^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{10}$/);
    assert.equal(deriveJoinCode(SECRET, 'g1', nonce), code);
    assert.match(formatJoinCode(code), /^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
  });

  it('derives codes independent of the token', () => {
    const codes = new Set(Array.from({ length: 200 }, () => deriveJoinCode(SECRET, 'g1', newLinkNonce())));
    assert.equal(codes.size, 200);
  });

  it('accepts a join code in any case, with or without the dash, folding O/0 and I/L/1', () => {
    assert.equal(normalizeJoinCode('abcde-fghjk'), 'ABCDEFGHJK');
    assert.equal(normalizeJoinCode(' ABCDEFGHJK '), 'ABCDEFGHJK');
    assert.equal(normalizeJoinCode('O1LI0-abcde'), '01110ABCDE');
    assert.equal(normalizeJoinCode('abcde fghjk'), 'ABCDEFGHJK');
  });

  it('refuses codes of the wrong length or with letters Crockford never uses', () => {
    assert.equal(normalizeJoinCode('ABCDE-FGHJ'), undefined);
    assert.equal(normalizeJoinCode('ABCDE-FGHJKM'), undefined);
    assert.equal(normalizeJoinCode('UUUUU-UUUUU'), undefined);
    assert.equal(normalizeJoinCode('ABCDE_FGHJK'), undefined);
  });

  it('hashes secrets as hex SHA-256, keeping tokens and codes apart', () => {
    const hash = hashInviteSecret('token', 'ABCDEFGHJK');
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.notEqual(hashInviteSecret('code', 'ABCDEFGHJK'), hash);
    assert.equal(hashInviteSecret('token', 'ABCDEFGHJK'), hash);
  });
});

describe('parseInviteReference', () => {
  const token = deriveInviteToken(SECRET, 'g1', newLinkNonce());

  it('reads a full invite link', () => {
    assert.deepEqual(parseInviteReference(`${PUBLIC_URL}/join/${token}`, PUBLIC_URL), { kind: 'token', value: token });
    assert.deepEqual(parseInviteReference(`  ${PUBLIC_URL}/join/${token}/ `, PUBLIC_URL), { kind: 'token', value: token });
  });

  it('reads a link under a public URL with a path', () => {
    const base = 'https://host.example.com/kaizala';
    assert.deepEqual(parseInviteReference(`${base}/join/${token}`, `${base}/`), { kind: 'token', value: token });
    assert.equal(parseInviteReference(`https://host.example.com/join/${token}`, base), undefined);
  });

  it('refuses links to another host', () => {
    assert.equal(parseInviteReference(`https://evil.example.net/join/${token}`, PUBLIC_URL), undefined);
  });

  it('refuses links with a malformed token or another path', () => {
    assert.equal(parseInviteReference(`${PUBLIC_URL}/join/${token.slice(1)}`, PUBLIC_URL), undefined);
    assert.equal(parseInviteReference(`${PUBLIC_URL}/other/${token}`, PUBLIC_URL), undefined);
    assert.equal(parseInviteReference('https://', PUBLIC_URL), undefined);
  });

  it('reads a bare token', () => {
    assert.deepEqual(parseInviteReference(token, PUBLIC_URL), { kind: 'token', value: token });
  });

  it('reads a join code typed loosely', () => {
    assert.deepEqual(parseInviteReference('abcde-fghjk', PUBLIC_URL), { kind: 'code', value: 'ABCDEFGHJK' });
  });

  it('returns undefined for anything else', () => {
    for (const input of ['', '   ', 'hello', 'join my group', 'x'.repeat(5000)]) {
      assert.equal(parseInviteReference(input, PUBLIC_URL), undefined, input);
    }
  });
});
