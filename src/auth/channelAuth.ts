import {
  CallerIdConstants,
  ConfigurationBotFrameworkAuthentication,
  ConfigurationServiceClientCredentialFactory,
  StatusCodes,
} from 'botbuilder';
import type { Activity, CloudAdapter, Request as BotRequest, Response as BotResponse, TurnContext } from 'botbuilder';
import {
  AppCredentials,
  AuthenticationConstants,
  AuthenticationError,
  ServiceClientCredentialsFactory,
} from 'botframework-connector';
import type {
  AuthenticateRequestResult,
  AuthenticationConfiguration,
  AuthenticatorResult,
  Claim,
  ClaimsIdentity,
} from 'botframework-connector';
import { ToBotFromBotOrEmulatorTokenValidationParameters } from 'botframework-connector/lib/auth/tokenValidationParameters';
import type { AppConfig } from '../config';
import { isLoopbackHost } from '../config';
import type { Logger } from '../logger';

/**
 * Bot Framework channel authentication for POST /api/messages, around the SDK's ConfigurationBotFrameworkAuthentication.
 *
 * Three layers, outermost first:
 * 1. `createChannelGate`: a pure check of the Authorization header BEFORE the SDK sees it. It refuses anything
 *    that is not `Bearer <RS-signed JWT>` from an allowed issuer. The SDK's emulator detection decodes every token
 *    unverified and pushes 4 issuer strings into a module-global list for each new `tid`; without the gate, forged
 *    tokens grow that list (and its O(n) scan) without bound.
 * 2. `createBotFrameworkAuthentication`: the SDK's full validation (signature by kid from the OpenID metadata,
 *    issuer, audience = app id, expiry with 5 min skew, endorsements, serviceUrl claim), every failure turned into
 *    a 401 AuthenticationError (the SDK answers 500 for bad signatures and algorithms).
 * 3. `processAuthenticated`: runs the adapter and sends a bare 401 (empty body) for any authentication failure, a
 *    bare 500 for anything else that escaped (the SDK echoes error messages), and trims the SDK's issuer list back.
 */

/** The issuer of every token the Bot Framework channels (Teams included) send to a bot. */
export const BOT_FRAMEWORK_CHANNEL_ISSUER = AuthenticationConstants.ToBotFromChannelTokenIssuer;

/** The configuration keys this module reads (a subset of AppConfig, so that tests can pass a literal). */
export type ChannelAuthConfig = Pick<
  AppConfig,
  | 'MicrosoftAppId'
  | 'MicrosoftAppPassword'
  | 'MicrosoftAppType'
  | 'MicrosoftAppTenantId'
  | 'ToBotFromChannelOpenIdMetadataUrl'
  | 'ToBotFromChannelTokenIssuer'
  | 'ToChannelFromBotLoginUrl'
  | 'ToChannelFromBotOAuthScope'
  | 'OAuthUrl'
>;

/** The parameterized endpoint values the SDK needs, all of them or none (BotFrameworkAuthenticationFactory). */
export interface ChannelEndpoints {
  ToChannelFromBotLoginUrl: string;
  ToChannelFromBotOAuthScope: string;
  ToBotFromChannelTokenIssuer: string;
  OAuthUrl: string;
  ToBotFromChannelOpenIdMetadataUrl: string;
  ToBotFromEmulatorOpenIdMetadataUrl: string;
  CallerId: string;
}

/** Public-cloud values, as the SDK uses them when nothing is overridden (AuthenticationConstants). */
export const PUBLIC_CLOUD_ENDPOINTS: Readonly<ChannelEndpoints> = Object.freeze({
  ToChannelFromBotLoginUrl: AuthenticationConstants.ToChannelFromBotLoginUrl,
  ToChannelFromBotOAuthScope: AuthenticationConstants.ToChannelFromBotOAuthScope,
  ToBotFromChannelTokenIssuer: AuthenticationConstants.ToBotFromChannelTokenIssuer,
  OAuthUrl: AuthenticationConstants.OAuthUrl,
  ToBotFromChannelOpenIdMetadataUrl: AuthenticationConstants.ToBotFromChannelOpenIdMetadataUrl,
  ToBotFromEmulatorOpenIdMetadataUrl: AuthenticationConstants.ToBotFromEmulatorOpenIdMetadataUrl,
  CallerId: CallerIdConstants.PublicAzureChannel,
});

/**
 * The endpoint values to hand to the SDK: undefined when nothing is overridden (the SDK's own public-cloud
 * defaults apply), otherwise ALL of them, the unset ones filled from the public cloud. Setting only some makes
 * the SDK take the others as undefined, which breaks issuer checks and outbound login.
 */
export function resolveChannelEndpoints(config: ChannelAuthConfig): ChannelEndpoints | undefined {
  const overrides = {
    ToChannelFromBotLoginUrl: config.ToChannelFromBotLoginUrl,
    ToChannelFromBotOAuthScope: config.ToChannelFromBotOAuthScope,
    ToBotFromChannelTokenIssuer: config.ToBotFromChannelTokenIssuer,
    OAuthUrl: config.OAuthUrl,
    ToBotFromChannelOpenIdMetadataUrl: config.ToBotFromChannelOpenIdMetadataUrl,
  };
  if (Object.values(overrides).every((v) => v === undefined || v === '')) return undefined;
  const filled: ChannelEndpoints = { ...PUBLIC_CLOUD_ENDPOINTS };
  for (const [key, value] of Object.entries(overrides) as Array<[keyof typeof overrides, string | undefined]>) {
    if (value !== undefined && value !== '') filled[key] = value;
  }
  return filled;
}

export interface BotFrameworkAuthenticationOptions {
  /** Where the precise reason of a refused request goes (never the token). */
  logger?: Pick<Logger, 'warn' | 'error'>;
  /** fetch used by the loopback credentials (tests). */
  fetch?: typeof fetch;
}

/**
 * ConfigurationBotFrameworkAuthentication with the credentials from the MicrosoftApp* keys, the endpoint overrides
 * filled all-or-nothing, claims re-checked against the channel issuer, and every authentication failure turned
 * into a 401 AuthenticationError.
 */
export function createBotFrameworkAuthentication(
  config: ChannelAuthConfig,
  options: BotFrameworkAuthenticationOptions = {},
): ConfigurationBotFrameworkAuthentication {
  const endpoints = resolveChannelEndpoints(config);
  const appCredentials = {
    MicrosoftAppId: config.MicrosoftAppId,
    MicrosoftAppPassword: config.MicrosoftAppPassword,
    MicrosoftAppType: config.MicrosoftAppType,
    MicrosoftAppTenantId: config.MicrosoftAppTenantId,
  };
  const credentialsFactory = channelCredentialsFactory(config, endpoints, options.fetch);

  const channelIssuer = endpoints?.ToBotFromChannelTokenIssuer ?? BOT_FRAMEWORK_CHANNEL_ISSUER;
  const authConfiguration: AuthenticationConfiguration = {
    requiredEndorsements: [],
    // Runs on every authenticated token before the turn. This bot is reached by channels only: no emulator, no
    // skills (a custom validateClaims also replaces the SDK's "skill claims need validation" refusal).
    validateClaims: async (claims: Claim[]) => {
      const issuer = claims.find((c) => c.type === AuthenticationConstants.IssuerClaim)?.value;
      if (issuer !== channelIssuer) {
        throw new AuthenticationError('Unauthorized. Issuer not allowed.', StatusCodes.UNAUTHORIZED);
      }
    },
  };

  return new GuardedBotFrameworkAuthentication(
    { ...appCredentials, ...(endpoints ?? {}), ValidateAuthority: true },
    credentialsFactory,
    authConfiguration,
    options.logger,
  );
}

function channelCredentialsFactory(config: ChannelAuthConfig, endpoints: ChannelEndpoints | undefined, fetchImpl?: typeof fetch): ServiceClientCredentialsFactory {
  const loginUrl = endpoints?.ToChannelFromBotLoginUrl;
  return loginUrl !== undefined && isLoopbackUrl(loginUrl)
    ? new LoopbackClientCredentialsFactory(config.MicrosoftAppId ?? '', config.MicrosoftAppPassword ?? '', loginUrl, fetchImpl ?? globalThis.fetch)
    : new ConfigurationServiceClientCredentialFactory({
        MicrosoftAppId: config.MicrosoftAppId,
        MicrosoftAppPassword: config.MicrosoftAppPassword,
        MicrosoftAppType: config.MicrosoftAppType,
        MicrosoftAppTenantId: config.MicrosoftAppTenantId,
      });
}

/**
 * The bot's outbound token for calls it makes to the channel itself (the delivery engine's sends), from the same
 * credentials as the adapter's: password, managed identity, single or multi tenant, and the endpoint overrides.
 * Undefined without an app id (local runs talk to a loopback channel without a token).
 */
export function channelTokenSource(config: ChannelAuthConfig, options: { fetch?: typeof fetch } = {}): (() => Promise<string | undefined>) | undefined {
  if (!config.MicrosoftAppId) return undefined;
  const appId = config.MicrosoftAppId;
  const endpoints = resolveChannelEndpoints(config);
  const factory = channelCredentialsFactory(config, endpoints, options.fetch);
  let credentials: Promise<{ getToken?: () => Promise<string> }> | undefined;
  return async () => {
    credentials ??= factory.createCredentials(
      appId,
      endpoints?.ToChannelFromBotOAuthScope ?? AuthenticationConstants.ToChannelFromBotOAuthScope,
      endpoints?.ToChannelFromBotLoginUrl ?? AuthenticationConstants.ToChannelFromBotLoginUrl,
      true,
    ) as Promise<{ getToken?: () => Promise<string> }>;
    credentials.catch(() => (credentials = undefined));
    return (await credentials).getToken?.();
  };
}

/** The error every refused request becomes; its message is fixed and carries no detail. */
export class ChannelUnauthorizedError extends AuthenticationError {
  constructor(readonly reason: string) {
    super('Unauthorized', StatusCodes.UNAUTHORIZED);
    this.name = 'ChannelUnauthorizedError';
  }
}

class GuardedBotFrameworkAuthentication extends ConfigurationBotFrameworkAuthentication {
  constructor(
    settings: Record<string, string | boolean | undefined>,
    credentialsFactory: ServiceClientCredentialsFactory,
    authConfiguration: AuthenticationConfiguration,
    private readonly logger: Pick<Logger, 'warn' | 'error'> | undefined,
  ) {
    super(settings, credentialsFactory, authConfiguration);
  }

  override async authenticateRequest(activity: Activity, authHeader: string): Promise<AuthenticateRequestResult> {
    try {
      return await super.authenticateRequest(activity, authHeader);
    } catch (err) {
      throw this.refuse(err);
    }
  }

  override async authenticateStreamingRequest(authHeader: string, channelIdHeader: string): Promise<AuthenticateRequestResult> {
    try {
      return await super.authenticateStreamingRequest(authHeader, channelIdHeader);
    } catch (err) {
      throw this.refuse(err);
    }
  }

  override async authenticateChannelRequest(authHeader: string): Promise<ClaimsIdentity> {
    try {
      return await super.authenticateChannelRequest(authHeader);
    } catch (err) {
      throw this.refuse(err);
    }
  }

  private refuse(err: unknown): ChannelUnauthorizedError {
    const reason = describeAuthFailure(err);
    // A 500 AuthenticationError means the OpenID metadata or keys could not be loaded: an outage, not an attack.
    const outage = err instanceof AuthenticationError && err.statusCode === StatusCodes.INTERNAL_SERVER_ERROR;
    if (outage) this.logger?.error({ reason }, 'channel authentication unavailable');
    else this.logger?.warn({ reason }, 'channel request refused');
    return new ChannelUnauthorizedError(reason);
  }
}

/** A short reason for logs. SDK and jsonwebtoken messages name claims, never the token itself. */
function describeAuthFailure(err: unknown): string {
  if (err instanceof ChannelUnauthorizedError) return err.reason;
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/eyJ[\w-]*\.[\w-]*\.?[\w-]*/g, '[token]').slice(0, 200);
}

// ---------------------------------------------------------------------------------------------------------------
// Outbound credentials for a loopback token service (test doubles only)

function isLoopbackUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHost(stripBrackets(url.hostname));
  } catch {
    return false;
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * MSAL (which the SDK uses for the bot's outbound token) refuses non-https authorities and calls Microsoft's
 * instance discovery, so a loopback token service (a test double, a local playground) is reached with a plain
 * OAuth 2.0 client-credentials POST to `<ToChannelFromBotLoginUrl>/oauth2/v2.0/token`, the request MSAL sends.
 * Used only when ToChannelFromBotLoginUrl is a loopback URL.
 */
class LoopbackClientCredentialsFactory extends ServiceClientCredentialsFactory {
  constructor(
    private readonly appId: string,
    private readonly password: string,
    private readonly loginUrl: string,
    private readonly fetchImpl: typeof fetch,
  ) {
    super();
  }

  override async isValidAppId(appId: string): Promise<boolean> {
    return appId === this.appId;
  }

  override async isAuthenticationDisabled(): Promise<boolean> {
    return this.appId === '';
  }

  override async createCredentials(appId: string, audience: string | undefined): Promise<AppCredentials> {
    if (!(await this.isValidAppId(appId))) throw new Error('Invalid appId.');
    return new LoopbackClientCredentials(appId, this.password, this.loginUrl, audience, this.fetchImpl);
  }
}

class LoopbackClientCredentials extends AppCredentials {
  constructor(
    appId: string,
    private readonly password: string,
    private readonly loginUrl: string,
    audience: string | undefined,
    private readonly fetchImpl: typeof fetch,
  ) {
    super(appId, undefined, audience);
  }

  // JSON.stringify uses AppCredentials.toJSON, which leaves the password out.

  protected override async refreshToken(): Promise<AuthenticatorResult> {
    const scope = this.oAuthScope.endsWith('/.default') ? this.oAuthScope : `${this.oAuthScope}/.default`;
    const res = await this.fetchImpl(`${this.loginUrl.replace(/\/+$/, '')}${AuthenticationConstants.ToChannelFromBotTokenEndpointPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.appId,
        client_secret: this.password,
        scope,
      }).toString(),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`Token service answered ${res.status}`);
    const body = (await res.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string') throw new Error('Token service returned no access_token');
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : Number(body.expires_in ?? 3600);
    return { accessToken: body.access_token, expiresOn: new Date(Date.now() + expiresIn * 1000) };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The pre-SDK gate

export type ChannelGateResult = { ok: true } | { ok: false; reason: ChannelGateReason };
export type ChannelGateReason = 'missing' | 'scheme' | 'malformed' | 'algorithm' | 'issuer' | 'too_large';
/** A pure function of the Authorization header. */
export type ChannelGate = (authorization: string | string[] | undefined) => ChannelGateResult;

export interface ChannelGateOptions {
  /** False when channel authentication is off (no app id: loopback development only); the gate then passes all. */
  enabled: boolean;
  /** Issuers accepted before verification: the Bot Framework issuer, or the configured ToBotFromChannelTokenIssuer. */
  allowedIssuers: string[];
}

/** Channel tokens are well under 4 KB; the cap bounds the unverified decoding work. */
const MAX_CHANNEL_TOKEN_LENGTH = 8 * 1024;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** The algorithms the SDK accepts (AuthenticationConstants.AllowedSigningAlgorithms). */
const RSA_ALGORITHMS = new Set(['RS256', 'RS384', 'RS512']);

/** The gate options implied by the app configuration. */
export function channelGateOptions(config: Pick<AppConfig, 'MicrosoftAppId' | 'ToBotFromChannelTokenIssuer'>): ChannelGateOptions {
  return {
    enabled: config.MicrosoftAppId !== undefined && config.MicrosoftAppId !== '',
    allowedIssuers: [config.ToBotFromChannelTokenIssuer || BOT_FRAMEWORK_CHANNEL_ISSUER],
  };
}

/**
 * Refuses, before the SDK: a missing header, a scheme other than Bearer, a token that is not a compact JWS with
 * JSON header and payload, an algorithm other than RS256/384/512, and an unverified `iss` not in the allowed list.
 * Accepts either explicit options or the app configuration.
 */
export function createChannelGate(
  options: ChannelGateOptions | Pick<AppConfig, 'MicrosoftAppId' | 'ToBotFromChannelTokenIssuer'>,
): ChannelGate {
  const { enabled, allowedIssuers } = 'allowedIssuers' in options ? options : channelGateOptions(options);
  const issuers = new Set(allowedIssuers);
  return (authorization) => {
    if (!enabled) return { ok: true };
    if (authorization === undefined || Array.isArray(authorization) || authorization.trim() === '') {
      return { ok: false, reason: 'missing' };
    }
    if (authorization.length > MAX_CHANNEL_TOKEN_LENGTH + 16) return { ok: false, reason: 'too_large' };
    // Exactly what the SDK accepts: "Bearer" (case-sensitive), one space, the token.
    const parts = authorization.split(' ');
    if (parts.length !== 2 || parts[0] !== 'Bearer') return { ok: false, reason: 'scheme' };
    const token = parts[1]!;
    if (!JWT_SHAPE.test(token)) return { ok: false, reason: 'malformed' };
    const [headerPart, payloadPart] = token.split('.') as [string, string, string];
    const header = decodeSegment(headerPart);
    const payload = decodeSegment(payloadPart);
    if (!header || !payload) return { ok: false, reason: 'malformed' };
    if (typeof header['alg'] !== 'string' || !RSA_ALGORITHMS.has(header['alg'])) return { ok: false, reason: 'algorithm' };
    const iss = payload['iss'];
    if (typeof iss !== 'string' || !issuers.has(iss)) return { ok: false, reason: 'issuer' };
    return { ok: true };
  };
}

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The SDK's module-global emulator issuer list

const emulatorIssuers = ToBotFromBotOrEmulatorTokenValidationParameters.issuer as string[];
const EMULATOR_ISSUER_BASELINE = emulatorIssuers.length;

/**
 * Length of the SDK's module-global emulator issuer list (9 at load). For the heap/abuse bench: it must stay at
 * its baseline however many forged tokens arrive.
 */
export function emulatorIssuerCount(): number {
  return emulatorIssuers.length;
}

/**
 * Cuts the SDK's emulator issuer list back to its baseline. `EmulatorValidation.isTokenFromEmulator` appends 4
 * issuers for every new unverified `tid`, even for tokens whose `iss` is the channel issuer (it runs on every
 * token before the channel check), so the gate alone cannot bound it. The SDK copies the list synchronously when
 * it validates an emulator token, and this bot accepts no emulator tokens, so the appended entries are garbage.
 */
export function trimEmulatorIssuers(): void {
  if (emulatorIssuers.length > EMULATOR_ISSUER_BASELINE) emulatorIssuers.length = EMULATOR_ISSUER_BASELINE;
}

// ---------------------------------------------------------------------------------------------------------------
// Running the adapter

export interface ProcessAuthenticatedDependencies {
  adapter: Pick<CloudAdapter, 'process'>;
  gate: ChannelGate;
  logger?: Pick<Logger, 'warn' | 'error'>;
}

/**
 * POST /api/messages: the gate, then `adapter.process` with a buffered response. A 401 from the SDK goes out with
 * an empty body; a 5xx goes out as a bare 500 (the SDK would echo the error message); a request the SDK cannot
 * parse as an activity is a bare 400. Anything else (200, invoke responses with bodies) passes through unchanged.
 */
export async function processAuthenticated(
  deps: ProcessAuthenticatedDependencies,
  req: BotRequest,
  res: BotResponse,
  logic: (context: TurnContext) => Promise<void>,
): Promise<void> {
  const authorization = req.headers['authorization'] ?? req.headers['Authorization'];
  const verdict = deps.gate(authorization);
  if (!verdict.ok) {
    deps.logger?.warn({ reason: verdict.reason }, 'channel request refused before authentication');
    sendBare(res, StatusCodes.UNAUTHORIZED);
    return;
  }
  const buffered = new BufferedResponse(res.socket);
  try {
    await deps.adapter.process(req, buffered, logic);
  } catch (err) {
    // The SDK throws (instead of answering) when the body is not an activity at all.
    deps.logger?.warn({ reason: describeAuthFailure(err) }, 'request is not a valid activity');
    if (!buffered.ended) {
      sendBare(res, StatusCodes.BAD_REQUEST);
      return;
    }
  } finally {
    trimEmulatorIssuers();
  }
  buffered.flushTo(res);
}

function sendBare(res: BotResponse, status: number): void {
  res.status(status);
  res.end();
}

/** Collects what the SDK writes, so that error bodies can be dropped before anything reaches the socket. */
class BufferedResponse implements BotResponse {
  private statusCode = StatusCodes.OK as number;
  private readonly headers: Array<[string, unknown]> = [];
  private body: unknown[] | undefined;
  ended = false;

  constructor(readonly socket: unknown) {}

  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  header(name: string, value: unknown): this {
    this.headers.push([name, value]);
    return this;
  }

  send(...args: unknown[]): this {
    this.body = args;
    return this;
  }

  end(): this {
    this.ended = true;
    return this;
  }

  flushTo(res: BotResponse): void {
    if (this.statusCode === StatusCodes.UNAUTHORIZED) return sendBare(res, StatusCodes.UNAUTHORIZED);
    if (this.statusCode >= 500) return sendBare(res, StatusCodes.INTERNAL_SERVER_ERROR);
    for (const [name, value] of this.headers) res.header(name, value);
    res.status(this.statusCode);
    if (this.body !== undefined) res.send(...this.body);
    res.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Proactive messages

export interface ServiceUrlPolicy {
  /** Allow http(s) to 127.0.0.0/8, ::1 and localhost (tests, local playground). */
  allowLoopback?: boolean;
}

/**
 * Whether the bot may send to this serviceUrl (and so hand it its token): https on the default port to a host in
 * the allowlist (`*.example.com` matches subdomains only), no credentials in the URL; or, when allowed, loopback.
 * The SDK trusts every serviceUrl (AppCredentials.isTrustedServiceUrl is always true).
 */
export function isAllowedServiceUrl(
  serviceUrl: string,
  allowedHosts: readonly string[],
  policy: ServiceUrlPolicy = {},
): boolean {
  let url: URL;
  try {
    url = new URL(serviceUrl);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '') return false;
  const host = stripBrackets(url.hostname.toLowerCase());
  if (policy.allowLoopback && isLoopbackHost(host) && (url.protocol === 'http:' || url.protocol === 'https:')) {
    return true;
  }
  if (url.protocol !== 'https:' || url.port !== '') return false;
  return allowedHosts.some((pattern) => {
    const p = pattern.trim().toLowerCase();
    if (p.startsWith('*.')) {
      const suffix = p.slice(1); // ".example.com"
      return host.endsWith(suffix) && host.length > suffix.length;
    }
    return host === p;
  });
}
