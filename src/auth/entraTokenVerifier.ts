import { createRemoteJWKSet, customFetch, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { UnauthenticatedError } from '../errors';
import { isLoopbackHost } from '../config';

/**
 * Verifies Microsoft Entra ID access tokens whose audience is this app: the Teams SSO token that arrives in a
 * `signin/tokenExchange` invoke (and the tab's SSO token). Only a token that passes every check here may decide
 * which organization (tid) a user belongs to.
 *
 * Checks, in order: RS256 only; key chosen by `kid` from the JWKS named by the OpenID metadata (jose caches the
 * keys and refetches at most once per cooldown on an unknown kid); `tid` is a GUID; `iss` equals the metadata's
 * issuer template with that tid (v2 tokens) or the v1 template (v1 tokens, `ver` 1.0); `aud` is one of ours;
 * exp/nbf with at most `clockSkewSeconds` skew; `scp` contains the required scope; `oid` is a GUID.
 */

export interface VerifiedUser {
  /** Entra tenant id (`tid`), a lower-case GUID. With objectId, the user's identity. */
  readonly tenantId: string;
  /** Entra object id (`oid`), a lower-case GUID. */
  readonly objectId: string;
  /** Display name; for display only. */
  readonly name?: string;
  /** `preferred_username` (v2) or `upn`/`unique_name` (v1); for display only, never for authorization. */
  readonly preferredUsername?: string;
  /** App roles granted to the user (`roles`). */
  readonly roles: string[];
  /** Delegated scopes (`scp`, space-separated in the token). */
  readonly scopes: string[];
}

export interface EntraTokenVerifierOptions {
  /** OpenID configuration URL, e.g. https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration */
  metadataUrl: string;
  /** Accepted audiences: the bot's app id (v2 tokens) and api://botid-<appId> (v1 tokens). */
  audiences: string[];
  /** Delegated scope the token must carry, e.g. 'access_as_user'. */
  requiredScope: string;
  /** Allowed clock skew for exp/nbf, at most 300 s. */
  clockSkewSeconds: number;
  /**
   * Issuer template for v1 tokens, `{tenantid}` standing for the token's tid.
   * Default `https://sts.windows.net/{tenantid}/`.
   */
  v1IssuerTemplate?: string;
  /** When set, `azp` (v2) / `appid` (v1) must be one of these client ids (e.g. the Teams clients). */
  authorizedParties?: string[];
  /** fetch used for the metadata and the JWKS (tests; proxies). */
  fetch?: typeof fetch;
  /** How long the OpenID metadata is kept, ms. Default 24 h. */
  metadataMaxAgeMs?: number;
  /** Clock, for tests. */
  now?: () => Date;
}

/** Why a token was refused: for logs only, never for the caller. */
export type TokenRejectionReason =
  | 'malformed'
  | 'algorithm'
  | 'unknown_kid'
  | 'signature'
  | 'tenant'
  | 'version'
  | 'issuer'
  | 'audience'
  | 'expired'
  | 'not_yet_valid'
  | 'scope'
  | 'authorized_party'
  | 'subject'
  | 'metadata_unavailable'
  | 'claims';

/** The error thrown for every refused token: a generic message, the precise reason in `reason`. */
export class TokenVerificationError extends UnauthenticatedError {
  constructor(readonly reason: TokenRejectionReason) {
    super('The sign-in could not be verified. Please sign in again.');
  }
}

/** The default v1 issuer template (Entra v1 endpoint tokens). */
export const ENTRA_V1_ISSUER_TEMPLATE = 'https://sts.windows.net/{tenantid}/';
const TENANT_PLACEHOLDER = '{tenantid}';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Entra tokens are a few KB; anything far larger is refused before it is parsed. */
const MAX_TOKEN_LENGTH = 16 * 1024;
const MAX_SKEW_SECONDS = 300;

/** The audiences a Teams SSO token for this bot may carry. */
export function ssoAudiences(appId: string, extra: readonly string[] = []): string[] {
  return [appId, `api://botid-${appId}`, ...extra];
}

interface Metadata {
  issuerTemplate: string;
  jwks: ReturnType<typeof createRemoteJWKSet>;
  fetchedAt: number;
}

export class EntraTokenVerifier {
  private readonly fetchImpl: typeof fetch;
  private readonly audiences: string[];
  private readonly skew: number;
  private readonly v1IssuerTemplate: string;
  private readonly metadataMaxAgeMs: number;
  private readonly now: () => Date;
  private metadata: Promise<Metadata> | undefined;

  constructor(private readonly options: EntraTokenVerifierOptions) {
    if (options.audiences.length === 0 || options.audiences.some((a) => a.trim() === '')) {
      throw new Error('EntraTokenVerifier: audiences must be non-empty strings');
    }
    if (!options.requiredScope) throw new Error('EntraTokenVerifier: requiredScope is required');
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.audiences = [...options.audiences];
    this.skew = Math.min(Math.max(0, options.clockSkewSeconds), MAX_SKEW_SECONDS);
    this.v1IssuerTemplate = options.v1IssuerTemplate ?? ENTRA_V1_ISSUER_TEMPLATE;
    this.metadataMaxAgeMs = options.metadataMaxAgeMs ?? 24 * 60 * 60 * 1000;
    this.now = options.now ?? (() => new Date());
  }

  /** Verifies the token; throws TokenVerificationError (an UnauthenticatedError) when anything is wrong. */
  async verify(token: string): Promise<VerifiedUser> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new TokenVerificationError('malformed');
    }
    // Unverified reads, only to choose what to expect; everything is verified below with the signature.
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new TokenVerificationError('malformed');
    }
    if (header.alg !== 'RS256') throw new TokenVerificationError('algorithm');
    if (typeof header.kid !== 'string' || header.kid.length === 0) throw new TokenVerificationError('unknown_kid');
    const tid = unverified['tid'];
    if (typeof tid !== 'string' || !GUID.test(tid)) throw new TokenVerificationError('tenant');
    const ver = unverified['ver'];
    if (ver !== '1.0' && ver !== '2.0') throw new TokenVerificationError('version');

    const metadata = await this.loadMetadata();
    const template = ver === '2.0' ? metadata.issuerTemplate : this.v1IssuerTemplate;
    const expectedIssuer = template.split(TENANT_PLACEHOLDER).join(tid);

    let payload: JWTPayload;
    try {
      const result = await jwtVerify(token, metadata.jwks, {
        algorithms: ['RS256'],
        issuer: expectedIssuer,
        audience: this.audiences,
        clockTolerance: this.skew,
        requiredClaims: ['exp', 'iss', 'aud', 'tid', 'oid'],
        currentDate: this.now(),
      });
      payload = result.payload;
    } catch (err) {
      throw new TokenVerificationError(reasonFor(err));
    }

    // The verified claims must be the ones the issuer was chosen from.
    if (payload['tid'] !== tid || payload['ver'] !== ver) throw new TokenVerificationError('claims');
    if (payload.nbf === undefined && payload.iat !== undefined && payload.iat > this.now().getTime() / 1000 + this.skew) {
      throw new TokenVerificationError('not_yet_valid');
    }
    const oid = payload['oid'];
    if (typeof oid !== 'string' || !GUID.test(oid)) throw new TokenVerificationError('subject');
    const scopes = typeof payload['scp'] === 'string' ? payload['scp'].split(' ').filter((s) => s.length > 0) : [];
    if (!scopes.includes(this.options.requiredScope)) throw new TokenVerificationError('scope');
    if (this.options.authorizedParties) {
      const party = ver === '2.0' ? payload['azp'] : payload['appid'];
      if (typeof party !== 'string' || !this.options.authorizedParties.includes(party)) {
        throw new TokenVerificationError('authorized_party');
      }
    }

    const roles = Array.isArray(payload['roles']) ? payload['roles'].filter((r): r is string => typeof r === 'string') : [];
    const name = stringClaim(payload, 'name');
    const preferredUsername =
      ver === '2.0' ? stringClaim(payload, 'preferred_username') : (stringClaim(payload, 'upn') ?? stringClaim(payload, 'unique_name'));
    return {
      tenantId: tid.toLowerCase(),
      objectId: oid.toLowerCase(),
      ...(name !== undefined ? { name } : {}),
      ...(preferredUsername !== undefined ? { preferredUsername } : {}),
      roles,
      scopes,
    };
  }

  private loadMetadata(): Promise<Metadata> {
    const cached = this.metadata;
    if (cached) {
      return cached.then((m) => {
        if (Date.now() - m.fetchedAt <= this.metadataMaxAgeMs) return m;
        if (this.metadata === cached) this.metadata = undefined;
        return this.loadMetadata();
      });
    }
    const loading = this.fetchMetadata();
    this.metadata = loading;
    // A failed fetch is not cached: the next token tries again.
    loading.catch(() => {
      if (this.metadata === loading) this.metadata = undefined;
    });
    return loading;
  }

  private async fetchMetadata(): Promise<Metadata> {
    let body: unknown;
    try {
      const res = await this.fetchImpl(this.options.metadataUrl, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) throw new Error(`status ${res.status}`);
      body = await res.json();
    } catch {
      throw new TokenVerificationError('metadata_unavailable');
    }
    const doc = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const issuer = doc['issuer'];
    const jwksUri = doc['jwks_uri'];
    if (typeof issuer !== 'string' || typeof jwksUri !== 'string' || !this.isAcceptableJwksUri(jwksUri)) {
      throw new TokenVerificationError('metadata_unavailable');
    }
    const fetchImpl = this.fetchImpl;
    const jwks = createRemoteJWKSet(new URL(jwksUri), {
      cacheMaxAge: 6 * 60 * 60 * 1000,
      cooldownDuration: 30_000,
      timeoutDuration: 5000,
      [customFetch]: (url, init) => fetchImpl(url, init),
    });
    return { issuerTemplate: issuer, jwks, fetchedAt: Date.now() };
  }

  /** Keys come over https, or over http only from a loopback test double named by a loopback metadata URL. */
  private isAcceptableJwksUri(jwksUri: string): boolean {
    let url: URL;
    try {
      url = new URL(jwksUri);
    } catch {
      return false;
    }
    if (url.protocol === 'https:') return true;
    const metadataUrl = new URL(this.options.metadataUrl);
    return url.protocol === 'http:' && isLoopbackHost(stripBrackets(url.hostname)) && isLoopbackHost(stripBrackets(metadataUrl.hostname));
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function stringClaim(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function reasonFor(err: unknown): TokenRejectionReason {
  if (err instanceof TokenVerificationError) return err.reason;
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'iss':
        return 'issuer';
      case 'aud':
        return 'audience';
      case 'nbf':
      case 'iat':
        return 'not_yet_valid';
      default:
        return 'claims';
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return 'algorithm';
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return 'unknown_kid';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'signature';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return 'metadata_unavailable';
  if (err instanceof errors.JOSEError) return 'malformed';
  // Not a JOSE error: the key set could not be fetched (network, status, timeout).
  return 'metadata_unavailable';
}

/** The verifier for Teams SSO tokens from the app configuration; undefined when no app id is configured. */
export function createSsoTokenVerifier(
  config: { MicrosoftAppId?: string | undefined; ENTRA_OPENID_METADATA_URL: string },
  options: Pick<EntraTokenVerifierOptions, 'v1IssuerTemplate' | 'authorizedParties' | 'fetch'> & { extraAudiences?: string[] } = {},
): EntraTokenVerifier | undefined {
  if (!config.MicrosoftAppId) return undefined;
  const { extraAudiences, ...rest } = options;
  return new EntraTokenVerifier({
    metadataUrl: config.ENTRA_OPENID_METADATA_URL,
    audiences: ssoAudiences(config.MicrosoftAppId, extraAudiences),
    requiredScope: 'access_as_user',
    clockSkewSeconds: 300,
    ...rest,
  });
}
