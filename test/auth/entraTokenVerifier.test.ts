import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { EntraTokenVerifier, TokenVerificationError, ssoAudiences } from '../../src/auth/entraTokenVerifier';
import type { TokenRejectionReason } from '../../src/auth/entraTokenVerifier';
import { UnauthenticatedError } from '../../src/errors';
import { FakeEntra, newSigningKey } from '../helpers/fakeEntra';

const APP_ID = '00000000-0000-4000-8000-00000000b07a';

describe('EntraTokenVerifier (Teams SSO tokens against a loopback Entra)', () => {
  let entra: FakeEntra;
  let verifier: EntraTokenVerifier;

  before(async () => {
    entra = await FakeEntra.start();
  });
  after(async () => {
    await entra.close();
  });
  beforeEach(() => {
    verifier = new EntraTokenVerifier({
      metadataUrl: entra.metadataUrl,
      audiences: ssoAudiences(APP_ID),
      requiredScope: 'access_as_user',
      clockSkewSeconds: 300,
      v1IssuerTemplate: entra.v1IssuerTemplate,
    });
  });

  async function refused(token: string, reason: TokenRejectionReason): Promise<void> {
    await assert.rejects(verifier.verify(token), (err: unknown) => {
      assert.ok(err instanceof TokenVerificationError);
      assert.ok(err instanceof UnauthenticatedError);
      assert.equal(err.reason, reason);
      assert.doesNotMatch(err.message, /eyJ/);
      assert.equal(err.httpStatus, 401);
      return true;
    });
  }

  it('accepts a valid v2 token and identifies the user by tid + oid', async () => {
    const tid = randomUUID();
    const oid = randomUUID();
    const token = await entra.signToken(entra.ssoClaims({ aud: APP_ID, tid, oid, name: 'Ada', preferredUsername: 'ada@contoso.example' }));
    const user = await verifier.verify(token);
    assert.deepEqual(user, {
      tenantId: tid,
      objectId: oid,
      name: 'Ada',
      preferredUsername: 'ada@contoso.example',
      roles: [],
      scopes: ['access_as_user'],
    });
  });

  it('accepts a valid v1 token (issuer from the v1 template, audience api://botid-<appId>)', async () => {
    const tid = randomUUID();
    const token = await entra.signToken(
      entra.ssoClaims({
        ver: '1.0',
        aud: `api://botid-${APP_ID}`,
        tid,
        preferredUsername: 'bo@fabrikam.example',
        extra: { roles: ['OrgAdmin'] },
      }),
    );
    const user = await verifier.verify(token);
    assert.equal(user.tenantId, tid);
    assert.equal(user.preferredUsername, 'bo@fabrikam.example');
    assert.deepEqual(user.roles, ['OrgAdmin']);
  });

  it('fetches the metadata and the keys once for many tokens', async () => {
    const before = { metadata: entra.metadataFetches, jwks: entra.jwksFetches };
    for (let i = 0; i < 5; i++) await verifier.verify(await entra.signToken(entra.ssoClaims({ aud: APP_ID })));
    assert.equal(entra.metadataFetches - before.metadata, 1);
    assert.equal(entra.jwksFetches - before.jwks, 1);
  });

  it('refuses an unsigned token (alg none)', async () => {
    await refused(await entra.signToken(entra.ssoClaims({ aud: APP_ID }), { alg: 'none' }), 'algorithm');
  });

  it('refuses HS256 keyed with the published public key (key confusion)', async () => {
    const pem = new TextEncoder().encode(await entra.publicKeyPem());
    const token = await new SignJWT(entra.ssoClaims({ aud: APP_ID }))
      .setProtectedHeader({ alg: 'HS256', kid: entra.published.kid })
      .sign(pem);
    await refused(token, 'algorithm');
  });

  it('refuses a token signed by a key that is not in the key set, under a published kid', async () => {
    const other = await newSigningKey();
    await refused(await entra.signToken(entra.ssoClaims({ aud: APP_ID }), { key: other.privateKey }), 'signature');
  });

  it('refuses an unknown kid (after at most one rate-limited refetch)', async () => {
    const other = await newSigningKey();
    await refused(await entra.signToken(entra.ssoClaims({ aud: APP_ID }), { key: other.privateKey, kid: other.kid }), 'unknown_kid');
    const fetches = entra.jwksFetches;
    await refused(await entra.signToken(entra.ssoClaims({ aud: APP_ID }), { key: other.privateKey, kid: other.kid }), 'unknown_kid');
    assert.ok(entra.jwksFetches - fetches <= 1, 'an unknown kid does not refetch the keys on every request');
  });

  it('refuses a token for another audience', async () => {
    await refused(await entra.signToken(entra.ssoClaims({ aud: randomUUID() })), 'audience');
  });

  it('refuses an issuer that does not match the token tid', async () => {
    const claims = entra.ssoClaims({ aud: APP_ID, iss: entra.issuerFor(randomUUID()) });
    await refused(await entra.signToken(claims), 'issuer');
  });

  it('refuses a v2 token carrying the v1 issuer', async () => {
    const tid = randomUUID();
    await refused(await entra.signToken(entra.ssoClaims({ aud: APP_ID, tid, iss: entra.issuerFor(tid, '1.0') })), 'issuer');
  });

  it('refuses a token expired 10 minutes ago and accepts one expired 4 minutes ago (300 s skew)', async () => {
    await refused(await entra.signToken(entra.ssoClaims({ aud: APP_ID, expiresIn: -600 })), 'expired');
    const user = await verifier.verify(await entra.signToken(entra.ssoClaims({ aud: APP_ID, expiresIn: -240 })));
    assert.ok(user.objectId);
  });

  it('refuses a token whose nbf is beyond the skew in the future', async () => {
    await refused(await entra.signToken(entra.ssoClaims({ aud: APP_ID, notBeforeIn: 900 })), 'not_yet_valid');
  });

  it('refuses a token without the access_as_user scope', async () => {
    await refused(await entra.signToken(entra.ssoClaims({ aud: APP_ID, scp: 'User.Read openid' })), 'scope');
  });

  it('refuses a tid that is not a GUID', async () => {
    const claims = entra.ssoClaims({ aud: APP_ID });
    claims['tid'] = 'common';
    claims.iss = entra.issuerFor('common');
    await refused(await entra.signToken(claims), 'tenant');
  });

  it('refuses an app-only token (no scp) and a token without oid', async () => {
    const appOnly = entra.ssoClaims({ aud: APP_ID });
    delete appOnly['scp'];
    await refused(await entra.signToken(appOnly), 'scope');
    const noOid = entra.ssoClaims({ aud: APP_ID });
    delete noOid['oid'];
    await refused(await entra.signToken(noOid), 'claims');
  });

  it('refuses garbage without fetching anything', async () => {
    const fetches = entra.metadataFetches;
    await refused('not-a-jwt', 'malformed');
    await refused('', 'malformed');
    assert.equal(entra.metadataFetches, fetches);
  });

  it('checks the authorized party when configured', async () => {
    const strict = new EntraTokenVerifier({
      metadataUrl: entra.metadataUrl,
      audiences: ssoAudiences(APP_ID),
      requiredScope: 'access_as_user',
      clockSkewSeconds: 300,
      authorizedParties: ['5e3ce6c0-2b1f-4285-8d4b-75ee78787346'],
    });
    await assert.rejects(strict.verify(await entra.signToken(entra.ssoClaims({ aud: APP_ID }))), (err: unknown) => {
      assert.ok(err instanceof TokenVerificationError);
      assert.equal(err.reason, 'authorized_party');
      return true;
    });
  });

  it('reports an unreachable metadata endpoint as metadata_unavailable and retries on the next token', async () => {
    const down = new EntraTokenVerifier({
      metadataUrl: 'http://127.0.0.1:9/none',
      audiences: [APP_ID],
      requiredScope: 'access_as_user',
      clockSkewSeconds: 300,
    });
    const token = await entra.signToken(entra.ssoClaims({ aud: APP_ID }));
    for (let i = 0; i < 2; i++) {
      await assert.rejects(
        down.verify(token),
        (err: unknown) => err instanceof TokenVerificationError && err.reason === 'metadata_unavailable',
      );
    }
  });
});
