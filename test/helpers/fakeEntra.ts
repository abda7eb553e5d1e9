import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import type { CryptoKey, JWTPayload } from 'jose';
import { LoopbackServer } from './loopbackServer';

/**
 * A stand-in for Microsoft Entra ID on 127.0.0.1: OpenID metadata (v2, issuer template with `{tenantid}`) and a
 * JWKS of locally generated RSA keys, plus helpers that sign Teams SSO access tokens the way Entra does.
 *
 *   GET /common/v2.0/.well-known/openid-configuration -> { issuer: <base>/{tenantid}/v2.0, jwks_uri, ... }
 *   GET /common/discovery/v2.0/keys                   -> { keys: [{ kty, use, kid, n, e, alg }] }
 *
 * v1 tokens use the issuer template `<base>/sts/{tenantid}/` (pass `v1IssuerTemplate` to the verifier).
 */

export const TEAMS_DESKTOP_CLIENT_ID = '1fec8e78-bce4-4aaf-ab1b-5451cc387264';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export interface SignOptions {
  /** Header kid; default the published key's kid. */
  kid?: string;
  /** Signing key; default the published key. For HS256 pass raw bytes. */
  key?: CryptoKey | Uint8Array;
  /** Default RS256. 'none' produces an unsigned token. */
  alg?: string;
}

export async function newSigningKey(kid: string = randomUUID()): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, publicKey };
}

/** Signs arbitrary claims as a compact JWT; `alg: 'none'` yields an unsigned token (for refusal tests). */
export async function signJwt(
  claims: JWTPayload,
  key: CryptoKey | Uint8Array,
  options: { kid?: string; alg?: string } = {},
): Promise<string> {
  const alg = options.alg ?? 'RS256';
  if (alg === 'none') {
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    return `${enc({ alg: 'none', typ: 'JWT', ...(options.kid ? { kid: options.kid } : {}) })}.${enc(claims)}.`;
  }
  return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT', ...(options.kid !== undefined ? { kid: options.kid } : {}) }).sign(key);
}

export interface SsoClaimsInput {
  tid?: string;
  oid?: string;
  aud?: string;
  ver?: '1.0' | '2.0';
  scp?: string;
  name?: string;
  preferredUsername?: string;
  /** Seconds relative to now. */
  expiresIn?: number;
  notBeforeIn?: number;
  iss?: string;
  extra?: Record<string, unknown>;
}

export class FakeEntra {
  private signingKey: SigningKey;
  private readonly server: LoopbackServer;

  private constructor(key: SigningKey) {
    this.signingKey = key;
    this.server = new LoopbackServer((req) => {
      if (req.method === 'GET' && req.path === '/common/v2.0/.well-known/openid-configuration') {
        return {
          status: 200,
          body: {
            issuer: `${this.url}/{tenantid}/v2.0`,
            jwks_uri: `${this.url}/common/discovery/v2.0/keys`,
            token_endpoint: `${this.url}/common/oauth2/v2.0/token`,
            id_token_signing_alg_values_supported: ['RS256'],
            response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
          },
        };
      }
      if (req.method === 'GET' && req.path === '/common/discovery/v2.0/keys') {
        return this.jwks().then((body) => ({ status: 200, body }));
      }
      return { status: 404, body: { error: 'not_found' } };
    });
  }

  static async start(): Promise<FakeEntra> {
    const entra = new FakeEntra(await newSigningKey());
    await entra.server.start();
    return entra;
  }

  get url(): string {
    return this.server.url;
  }

  get metadataUrl(): string {
    return `${this.url}/common/v2.0/.well-known/openid-configuration`;
  }

  get v1IssuerTemplate(): string {
    return `${this.url}/sts/{tenantid}/`;
  }

  get published(): SigningKey {
    return this.signingKey;
  }

  /** How many times the JWKS was fetched. */
  get jwksFetches(): number {
    return this.server.requestsTo('/common/discovery/v2.0/keys').length;
  }

  get metadataFetches(): number {
    return this.server.requestsTo('/common/v2.0/.well-known/openid-configuration').length;
  }

  issuerFor(tid: string, ver: '1.0' | '2.0' = '2.0'): string {
    return ver === '2.0' ? `${this.url}/${tid}/v2.0` : `${this.url}/sts/${tid}/`;
  }

  /** Publishes a new key (rotation); tokens signed with the old one stop verifying once the JWKS is refetched. */
  async rotate(): Promise<SigningKey> {
    this.signingKey = await newSigningKey();
    return this.signingKey;
  }

  private async jwks(): Promise<{ keys: Array<Record<string, unknown>> }> {
    const key = this.published;
    const jwk = await exportJWK(key.publicKey);
    return { keys: [{ kty: jwk.kty, use: 'sig', kid: key.kid, n: jwk.n, e: jwk.e, alg: 'RS256' }] };
  }

  /** The SPKI PEM of the published key (for HS256 key-confusion tests). */
  async publicKeyPem(): Promise<string> {
    return exportSPKI(this.published.publicKey);
  }

  /** Claims of a Teams SSO access token for `aud`, valid now. */
  ssoClaims(input: SsoClaimsInput = {}): JWTPayload {
    const now = Math.floor(Date.now() / 1000);
    const ver = input.ver ?? '2.0';
    const tid = input.tid ?? randomUUID();
    const claims: JWTPayload = {
      aud: input.aud ?? 'missing-audience',
      iss: input.iss ?? this.issuerFor(tid, ver),
      iat: now - 60,
      nbf: input.notBeforeIn !== undefined ? now + input.notBeforeIn : now - 60,
      exp: now + (input.expiresIn ?? 3600),
      tid,
      oid: input.oid ?? randomUUID(),
      ver,
      scp: input.scp ?? 'access_as_user',
      name: input.name ?? 'Ada Field',
      ...(ver === '2.0'
        ? { azp: TEAMS_DESKTOP_CLIENT_ID, preferred_username: input.preferredUsername ?? 'ada@contoso.example' }
        : { appid: TEAMS_DESKTOP_CLIENT_ID, upn: input.preferredUsername ?? 'ada@contoso.example' }),
      ...input.extra,
    };
    return claims;
  }

  /** Signs claims with the published key (or the given key/kid/alg). */
  async signToken(claims: JWTPayload, options: SignOptions = {}): Promise<string> {
    const key = options.key ?? this.published.privateKey;
    return signJwt(claims, key, { kid: options.kid ?? this.published.kid, alg: options.alg ?? 'RS256' });
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}
