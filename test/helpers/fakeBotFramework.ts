import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK } from 'jose';
import type { JWTPayload } from 'jose';
import { LoopbackServer, type RecordedRequest, type JsonReply } from './loopbackServer';
import { newSigningKey, signJwt, type SignOptions, type SigningKey } from './fakeEntra';

/**
 * A stand-in for the Bot Framework services on 127.0.0.1, speaking the protocols the SDK uses:
 *
 *   GET  /v1/.well-known/openidconfiguration    channel OpenID metadata (ToBotFromChannelOpenIdMetadataUrl)
 *   GET  /v1/keys                               JWKS; keys carry `endorsements: ['msteams']`
 *   POST /botframework.com/oauth2/v2.0/token    the bot's outbound token (ToChannelFromBotLoginUrl + /oauth2/v2.0/token):
 *                                               client_credentials -> { access_token, expires_in, token_type }
 *   POST /api/usertoken/exchange?userId=&connectionName=&channelId=   body { token, uri? }, Bearer <bot token>
 *                                               (the Token Service behind UserTokenClient.exchangeToken, OAuthUrl)
 *
 * `signChannelToken` signs what Teams' channel service sends to the bot.
 */

export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';

export interface FakeBotFrameworkOptions {
  appId: string;
  appPassword: string;
  /** Endorsements on the published key. Default ['msteams']. */
  endorsements?: string[];
}

export interface ChannelClaimsInput {
  aud?: string;
  serviceUrl?: string;
  iss?: string;
  /** Seconds relative to now. */
  expiresIn?: number;
  extra?: Record<string, unknown>;
}

/** How the user token service answers an exchange; default: every token exchanges. */
export type ExchangeBehaviour = (request: {
  userId: string;
  connectionName: string;
  channelId: string;
  token: string;
}) => { ok: true } | { ok: false; status: number };

export class FakeBotFramework {
  private readonly server: LoopbackServer;
  private readonly issuedBotTokens = new Set<string>();
  /** Change to make exchanges fail (consent required) or count them. */
  exchangeBehaviour: ExchangeBehaviour = () => ({ ok: true });
  /** Delay before the user token service answers, ms (concurrency tests). */
  exchangeDelayMs = 0;
  /**
   * The user token service's store: `userId|connectionName` -> token. An exchange stores what it issued (the
   * OAuth connection's scope is this bot's own API, so the exchanged token is an access_as_user token too);
   * tests may put a token here for the "signed in before" path. `code|<magic code>` entries serve verifyState.
   */
  readonly userTokens = new Map<string, string>();

  private constructor(
    private readonly options: FakeBotFrameworkOptions,
    private signingKey: SigningKey,
  ) {
    this.server = new LoopbackServer((req) => this.route(req));
  }

  static async start(options: FakeBotFrameworkOptions): Promise<FakeBotFramework> {
    const fake = new FakeBotFramework(options, await newSigningKey());
    await fake.server.start();
    return fake;
  }

  get url(): string {
    return this.server.url;
  }

  get published(): SigningKey {
    return this.signingKey;
  }

  get requests(): RecordedRequest[] {
    return this.server.requests;
  }

  requestsTo(path: string): RecordedRequest[] {
    return this.server.requestsTo(path);
  }

  /** The configuration keys that point the SDK (and src/auth/channelAuth.ts) at this double. */
  get endpoints(): {
    ToBotFromChannelOpenIdMetadataUrl: string;
    ToBotFromChannelTokenIssuer: string;
    ToChannelFromBotLoginUrl: string;
    ToChannelFromBotOAuthScope: string;
    OAuthUrl: string;
  } {
    return {
      ToBotFromChannelOpenIdMetadataUrl: `${this.url}/v1/.well-known/openidconfiguration`,
      ToBotFromChannelTokenIssuer: BOT_FRAMEWORK_ISSUER,
      ToChannelFromBotLoginUrl: `${this.url}/botframework.com`,
      ToChannelFromBotOAuthScope: BOT_FRAMEWORK_ISSUER,
      OAuthUrl: this.url,
    };
  }

  channelClaims(input: ChannelClaimsInput = {}): JWTPayload {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: input.iss ?? BOT_FRAMEWORK_ISSUER,
      aud: input.aud ?? this.options.appId,
      serviceurl: input.serviceUrl ?? 'https://smba.trafficmanager.net/amer/',
      nbf: now - 60,
      exp: now + (input.expiresIn ?? 3600),
      ...input.extra,
    };
  }

  /** Signs a channel token with the published key (or the given kid/key/alg). */
  async signChannelToken(claims: JWTPayload = this.channelClaims(), options: SignOptions = {}): Promise<string> {
    return signJwt(claims, options.key ?? this.signingKey.privateKey, {
      kid: options.kid ?? this.signingKey.kid,
      alg: options.alg ?? 'RS256',
    });
  }

  async close(): Promise<void> {
    await this.server.close();
  }

  private isBot(req: RecordedRequest): boolean {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    return bearer !== undefined && this.issuedBotTokens.has(bearer);
  }

  private async route(req: RecordedRequest): Promise<JsonReply> {
    if (req.method === 'GET' && req.path === '/v1/.well-known/openidconfiguration') {
      return {
        status: 200,
        body: {
          issuer: BOT_FRAMEWORK_ISSUER,
          authorization_endpoint: `${this.url}/v1/auth`,
          jwks_uri: `${this.url}/v1/keys`,
          id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['private_key_jwt'],
        },
      };
    }
    if (req.method === 'GET' && req.path === '/v1/keys') {
      const jwk = await exportJWK(this.signingKey.publicKey);
      return {
        status: 200,
        body: {
          keys: [
            {
              kty: 'RSA',
              use: 'sig',
              kid: this.signingKey.kid,
              n: jwk.n,
              e: jwk.e,
              endorsements: this.options.endorsements ?? ['msteams'],
            },
          ],
        },
      };
    }
    if (req.method === 'POST' && req.path === '/botframework.com/oauth2/v2.0/token') {
      const form = new URLSearchParams(req.body);
      if (form.get('grant_type') !== 'client_credentials') return { status: 400, body: { error: 'unsupported_grant_type' } };
      if (form.get('client_id') !== this.options.appId || form.get('client_secret') !== this.options.appPassword) {
        return { status: 401, body: { error: 'invalid_client' } };
      }
      if (!form.get('scope')?.endsWith('/.default')) return { status: 400, body: { error: 'invalid_scope' } };
      const accessToken = randomBytes(24).toString('base64url');
      this.issuedBotTokens.add(accessToken);
      return { status: 200, body: { token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600, access_token: accessToken } };
    }
    if (req.method === 'POST' && req.path === '/api/usertoken/exchange') {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!bearer || !this.issuedBotTokens.has(bearer))
        return { status: 401, body: { error: { code: 'Unauthorized', message: 'bad bot token' } } };
      const userId = req.query.get('userId') ?? '';
      const connectionName = req.query.get('connectionName') ?? '';
      const channelId = req.query.get('channelId') ?? '';
      const token = exchangeTokenOf(req.body);
      if (!userId || !connectionName || !channelId || !token) {
        return { status: 400, body: { error: { code: 'BadArgument', message: 'missing parameter' } } };
      }
      if (this.exchangeDelayMs > 0) await new Promise((r) => setTimeout(r, this.exchangeDelayMs));
      const outcome = this.exchangeBehaviour({ userId, connectionName, channelId, token });
      if (!outcome.ok) {
        return { status: outcome.status, body: { error: { code: 'ServiceError', message: 'consent required' } } };
      }
      this.userTokens.set(`${userId}|${connectionName}`, token);
      return {
        status: 200,
        body: { channelId, connectionName, token, expiration: new Date(Date.now() + 3600_000).toISOString() },
      };
    }
    if (req.method === 'GET' && req.path === '/api/usertoken/GetToken') {
      if (!this.isBot(req)) return { status: 401, body: { error: { code: 'Unauthorized', message: 'bad bot token' } } };
      const userId = req.query.get('userId') ?? '';
      const connectionName = req.query.get('connectionName') ?? '';
      const code = req.query.get('code') ?? '';
      const token = code ? this.userTokens.get(`code|${code}`) : this.userTokens.get(`${userId}|${connectionName}`);
      if (!token) return { status: 404, body: {} };
      if (code) this.userTokens.set(`${userId}|${connectionName}`, token);
      return {
        status: 200,
        body: { channelId: req.query.get('channelId'), connectionName, token, expiration: new Date(Date.now() + 3600_000).toISOString() },
      };
    }
    if (req.method === 'GET' && req.path === '/api/botsignin/GetSignInResource') {
      if (!this.isBot(req)) return { status: 401, body: { error: { code: 'Unauthorized', message: 'bad bot token' } } };
      return {
        status: 200,
        body: {
          signInLink: `${this.url}/signin?state=${encodeURIComponent(req.query.get('state') ?? '')}`,
          tokenExchangeResource: { id: randomUUID(), uri: `api://botid-${this.options.appId}`, providerId: 'aad' },
        },
      };
    }
    return { status: 404, body: { error: 'not_found' } };
  }
}

function exchangeTokenOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { token?: unknown };
    return typeof parsed.token === 'string' ? parsed.token : '';
  } catch {
    return '';
  }
}
