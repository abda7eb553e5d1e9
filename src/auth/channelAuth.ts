import {
  CallerIdConstants,
  ConfigurationBotFrameworkAuthentication,
  ConfigurationServiceClientCredentialFactory,
  StatusCodes,
} from 'botbuilder';
import type { Activity, CloudAdapter, Request as BotRequest, Response as BotResponse, TurnContext } from 'botbuilder';
import { AuthenticationConstants, AuthenticationError, ServiceClientCredentialsFactory } from 'botframework-connector';
import type {
  AuthenticateRequestResult,
  AuthenticationConfiguration,
  Claim,
  ClaimsIdentity,
  ConnectorFactory,
  UserTokenClient,
} from 'botframework-connector';
import { ToBotFromBotOrEmulatorTokenValidationParameters } from 'botframework-connector/lib/auth/tokenValidationParameters';
import type { AppConfig } from '../config';
import type { Logger } from '../logger';
import { BOT_FRAMEWORK_CHANNEL_ISSUER, type ChannelGate } from './channelGate';
import { ConnectorClientCache } from './connectorCache';
import { isLoopbackUrl, LoopbackClientCredentialsFactory } from './loopbackCredentials';

export {
  BOT_FRAMEWORK_CHANNEL_ISSUER,
  channelGateOptions,
  createChannelGate,
  type ChannelGate,
  type ChannelGateOptions,
  type ChannelGateReason,
  type ChannelGateResult,
} from './channelGate';
export { isAllowedServiceUrl, type ServiceUrlPolicy } from './serviceUrlPolicy';

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

function channelCredentialsFactory(
  config: ChannelAuthConfig,
  endpoints: ChannelEndpoints | undefined,
  fetchImpl?: typeof fetch,
): ServiceClientCredentialsFactory {
  const loginUrl = endpoints?.ToChannelFromBotLoginUrl;
  return loginUrl !== undefined && isLoopbackUrl(loginUrl)
    ? new LoopbackClientCredentialsFactory(
        config.MicrosoftAppId ?? '',
        config.MicrosoftAppPassword ?? '',
        loginUrl,
        fetchImpl ?? globalThis.fetch,
      )
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
export function channelTokenSource(
  config: ChannelAuthConfig,
  options: { fetch?: typeof fetch } = {},
): (() => Promise<string | undefined>) | undefined {
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
  private readonly connectors = new ConnectorClientCache();

  constructor(
    settings: Record<string, string | boolean | undefined>,
    credentialsFactory: ServiceClientCredentialsFactory,
    authConfiguration: AuthenticationConfiguration,
    private readonly logger: Pick<Logger, 'warn' | 'error'> | undefined,
  ) {
    super(settings, credentialsFactory, authConfiguration);
  }

  override async authenticateRequest(activity: Activity, authHeader: string): Promise<AuthenticateRequestResult> {
    let result: AuthenticateRequestResult;
    try {
      result = await super.authenticateRequest(activity, authHeader);
    } catch (err) {
      throw this.refuse(err);
    }
    const factory = result.connectorFactory;
    return factory ? { ...result, connectorFactory: this.connectors.wrap(factory, appIdOf(result.claimsIdentity)) } : result;
  }

  override createConnectorFactory(claimsIdentity: ClaimsIdentity): ConnectorFactory {
    return this.connectors.wrap(super.createConnectorFactory(claimsIdentity), appIdOf(claimsIdentity));
  }

  override createUserTokenClient(claimsIdentity: ClaimsIdentity): Promise<UserTokenClient> {
    return this.connectors.userTokenClient(appIdOf(claimsIdentity), () => super.createUserTokenClient(claimsIdentity));
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

/** The app a connector factory is made for, read as the SDK reads it (audience, else the appid claim). */
function appIdOf(identity: ClaimsIdentity): string | undefined {
  return (
    identity.getClaimValue(AuthenticationConstants.AudienceClaim) ?? identity.getClaimValue(AuthenticationConstants.AppIdClaim) ?? undefined
  );
}

/** A short reason for logs. SDK and jsonwebtoken messages name claims, never the token itself. */
function describeAuthFailure(err: unknown): string {
  if (err instanceof ChannelUnauthorizedError) return err.reason;
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/eyJ[\w-]*\.[\w-]*\.?[\w-]*/g, '[token]').slice(0, 200);
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
