import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import restify from 'restify';
import type { Server } from 'restify';
import type { AddressInfo } from 'node:net';
import sinon from 'sinon';
import { SignJWT } from 'jose';
import { ActivityTypes, CloudAdapter } from 'botbuilder';
import type { TurnContext } from 'botbuilder';
import {
  BOT_FRAMEWORK_CHANNEL_ISSUER,
  PUBLIC_CLOUD_ENDPOINTS,
  createBotFrameworkAuthentication,
  createChannelGate,
  emulatorIssuerCount,
  isAllowedServiceUrl,
  processAuthenticated,
  resolveChannelEndpoints,
} from '../../src/auth/channelAuth';
import type { ChannelAuthConfig } from '../../src/auth/channelAuth';
import { FakeBotFramework } from '../helpers/fakeBotFramework';
import { newSigningKey, signJwt } from '../helpers/fakeEntra';

const APP_ID = '00000000-0000-4000-8000-0000000c4a11';
const APP_PASSWORD = 'test-password-not-a-secret';
const SERVICE_URL = 'https://smba.trafficmanager.net/amer/';

function configFor(fake: FakeBotFramework): ChannelAuthConfig {
  return {
    MicrosoftAppId: APP_ID,
    MicrosoftAppPassword: APP_PASSWORD,
    MicrosoftAppType: 'MultiTenant',
    MicrosoftAppTenantId: undefined,
    ...fake.endpoints,
  };
}

function activity(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: ActivityTypes.Message,
    id: randomUUID(),
    channelId: 'msteams',
    serviceUrl: SERVICE_URL,
    from: { id: '29:user', aadObjectId: randomUUID() },
    recipient: { id: `28:${APP_ID}` },
    conversation: { id: 'a:conversation', conversationType: 'personal', tenantId: randomUUID() },
    text: 'hello',
    ...overrides,
  };
}

describe('Bot Framework channel authentication (real restify + CloudAdapter against a loopback Bot Framework)', () => {
  let fake: FakeBotFramework;
  let server: Server;
  let base: string;
  let turns: TurnContext[];
  let processCalls: number;

  before(async () => {
    fake = await FakeBotFramework.start({ appId: APP_ID, appPassword: APP_PASSWORD });
    const config = configFor(fake);
    const adapter = new CloudAdapter(createBotFrameworkAuthentication(config));
    adapter.onTurnError = async () => {
      /* the tests' turns do not fail */
    };
    const counted = {
      process: (...args: Parameters<CloudAdapter['process']>) => {
        processCalls++;
        return adapter.process(...args);
      },
    } as Pick<CloudAdapter, 'process'>;
    const gate = createChannelGate(config);
    server = restify.createServer({ handleUncaughtExceptions: false });
    server.use(restify.plugins.bodyParser({ mapParams: false }));
    server.post('/api/messages', async (req: restify.Request, res: restify.Response) => {
      await processAuthenticated({ adapter: counted, gate }, req, res, async (context) => {
        turns.push(context);
        if (context.activity.type === ActivityTypes.Invoke) {
          await context.sendActivity({
            type: ActivityTypes.InvokeResponse,
            value: { status: 200, body: { echoed: context.activity.name } },
          });
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await fake.close();
  });

  beforeEach(() => {
    turns = [];
    processCalls = 0;
    // CloudAdapter prints every refused request with console.error; keep the test output readable.
    sinon.stub(console, 'error');
  });

  async function post(body: Record<string, unknown>, authorization?: string): Promise<{ status: number; text: string }> {
    const res = await fetch(`${base}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization !== undefined ? { authorization } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  }

  async function expectRefused(body: Record<string, unknown>, authorization?: string): Promise<void> {
    const { status, text } = await post(body, authorization);
    assert.equal(status, 401);
    assert.equal(text, '', 'a refusal has an empty body');
    assert.equal(turns.length, 0, 'the bot never ran');
  }

  it('runs the turn for a valid channel token (200)', async () => {
    const token = await fake.signChannelToken(fake.channelClaims({ serviceUrl: SERVICE_URL }));
    const { status } = await post(activity(), `Bearer ${token}`);
    assert.equal(status, 200);
    assert.equal(turns.length, 1);
  });

  it('passes an invoke response body through unchanged', async () => {
    const token = await fake.signChannelToken(fake.channelClaims({ serviceUrl: SERVICE_URL }));
    const { status, text } = await post(
      activity({ type: ActivityTypes.Invoke, name: 'adaptiveCard/action', value: {} }),
      `Bearer ${token}`,
    );
    assert.equal(status, 200);
    assert.deepEqual(JSON.parse(text), { echoed: 'adaptiveCard/action' });
  });

  it('accepts a token expired 4 minutes ago (inside the 5 min skew)', async () => {
    const token = await fake.signChannelToken(fake.channelClaims({ serviceUrl: SERVICE_URL, expiresIn: -240 }));
    assert.equal((await post(activity(), `Bearer ${token}`)).status, 200);
  });

  it('refuses a request without a token: 401, empty body, adapter not called', async () => {
    await expectRefused(activity());
    assert.equal(processCalls, 0);
  });

  it('refuses the Basic scheme before the SDK', async () => {
    await expectRefused(activity(), `Basic ${Buffer.from(`${APP_ID}:${APP_PASSWORD}`).toString('base64')}`);
    assert.equal(processCalls, 0);
  });

  it('refuses a token for another bot (wrong audience)', async () => {
    const token = await fake.signChannelToken(fake.channelClaims({ serviceUrl: SERVICE_URL, aud: randomUUID() }));
    await expectRefused(activity(), `Bearer ${token}`);
  });

  it('refuses a token whose serviceurl claim differs from the activity serviceUrl', async () => {
    const token = await fake.signChannelToken(fake.channelClaims({ serviceUrl: 'https://smba.trafficmanager.net/emea/' }));
    await expectRefused(activity(), `Bearer ${token}`);
  });

  it('refuses a token expired 10 minutes ago', async () => {
    const token = await fake.signChannelToken(fake.channelClaims({ serviceUrl: SERVICE_URL, expiresIn: -600 }));
    await expectRefused(activity(), `Bearer ${token}`);
  });

  it('refuses a token signed with a key id the channel never published', async () => {
    const other = await newSigningKey();
    const token = await fake.signChannelToken(fake.channelClaims({ serviceUrl: SERVICE_URL }), { key: other.privateKey, kid: other.kid });
    await expectRefused(activity(), `Bearer ${token}`);
  });

  it('refuses a forged signature under the published kid with 401, not the SDK 500', async () => {
    const other = await newSigningKey();
    const token = await fake.signChannelToken(fake.channelClaims({ serviceUrl: SERVICE_URL }), { key: other.privateKey });
    await expectRefused(activity(), `Bearer ${token}`);
    assert.equal(processCalls, 1, 'the gate let it through; the SDK refused it');
  });

  it('refuses alg none and HS256 key confusion before the SDK', async () => {
    const none = await fake.signChannelToken(fake.channelClaims({ serviceUrl: SERVICE_URL }), { alg: 'none' });
    await expectRefused(activity(), `Bearer ${none}`);
    const hs = await new SignJWT(fake.channelClaims({ serviceUrl: SERVICE_URL }))
      .setProtectedHeader({ alg: 'HS256', kid: fake.published.kid })
      .sign(new TextEncoder().encode('public key bytes'));
    await expectRefused(activity(), `Bearer ${hs}`);
    assert.equal(processCalls, 0);
  });

  it('refuses a channel the signing key does not endorse', async () => {
    const token = await fake.signChannelToken(fake.channelClaims({ serviceUrl: SERVICE_URL }));
    await expectRefused(activity({ channelId: 'webchat' }), `Bearer ${token}`);
  });

  it('gate: refuses a token from a foreign issuer (emulator-style, random tid) without calling the adapter', async () => {
    const key = await newSigningKey();
    const before = emulatorIssuerCount();
    for (let i = 0; i < 20; i++) {
      const tid = randomUUID();
      const token = await signJwt(
        {
          iss: `https://login.microsoftonline.com/${tid}/v2.0`,
          tid,
          aud: APP_ID,
          azp: APP_ID,
          ver: '2.0',
          exp: Math.floor(Date.now() / 1000) + 600,
        },
        key.privateKey,
        { kid: key.kid },
      );
      await expectRefused(activity(), `Bearer ${token}`);
    }
    assert.equal(processCalls, 0);
    assert.equal(emulatorIssuerCount(), before, 'the SDK issuer list did not grow');
  });

  it('keeps the SDK issuer list bounded even for channel-issuer tokens carrying forged tids', async () => {
    const before = emulatorIssuerCount();
    const other = await newSigningKey();
    for (let i = 0; i < 20; i++) {
      const token = await fake.signChannelToken(fake.channelClaims({ serviceUrl: SERVICE_URL, extra: { tid: randomUUID() } }), {
        key: other.privateKey,
      });
      await expectRefused(activity(), `Bearer ${token}`);
    }
    assert.equal(processCalls, 20, 'these reach the SDK (the issuer is the channel one)');
    assert.equal(emulatorIssuerCount(), before);
  });

  it('answers a body that is not an activity with a bare 400', async () => {
    const token = await fake.signChannelToken(fake.channelClaims({ serviceUrl: SERVICE_URL }));
    const { status, text } = await post({ type: 42 }, `Bearer ${token}`);
    assert.equal(status, 400);
    assert.equal(text, '');
    assert.equal(turns.length, 0);
  });

  it('gets the bot token from the login URL and exchanges a user token at the user token service', async () => {
    const auth = createBotFrameworkAuthentication(configFor(fake));
    const token = await fake.signChannelToken(fake.channelClaims({ serviceUrl: SERVICE_URL }));
    const result = await auth.authenticateRequest(activity() as never, `Bearer ${token}`);
    const client = await auth.createUserTokenClient(result.claimsIdentity);
    const exchanged = await client.exchangeToken('29:user', 'sso', 'msteams', { token: 'sso-token-from-teams' });
    assert.equal(exchanged.token, 'sso-token-from-teams');
    const [tokenRequest] = fake.requestsTo('/botframework.com/oauth2/v2.0/token');
    assert.ok(tokenRequest);
    const form = new URLSearchParams(tokenRequest.body);
    assert.equal(form.get('client_id'), APP_ID);
    assert.equal(form.get('scope'), `${BOT_FRAMEWORK_CHANNEL_ISSUER}/.default`);
    const [exchange] = fake.requestsTo('/api/usertoken/exchange');
    assert.ok(exchange);
    assert.equal(exchange.query.get('userId'), '29:user');
    assert.equal(exchange.query.get('connectionName'), 'sso');
    assert.equal(exchange.query.get('channelId'), 'msteams');
    assert.deepEqual(JSON.parse(exchange.body), { token: 'sso-token-from-teams' });
  });
});

describe('channel endpoint configuration (all-or-nothing)', () => {
  const base: ChannelAuthConfig = {
    MicrosoftAppId: APP_ID,
    MicrosoftAppPassword: APP_PASSWORD,
    MicrosoftAppType: 'MultiTenant',
    MicrosoftAppTenantId: undefined,
    ToBotFromChannelOpenIdMetadataUrl: undefined,
    ToBotFromChannelTokenIssuer: undefined,
    ToChannelFromBotLoginUrl: undefined,
    ToChannelFromBotOAuthScope: undefined,
    OAuthUrl: undefined,
  };

  it('leaves the SDK defaults alone when nothing is overridden', () => {
    assert.equal(resolveChannelEndpoints(base), undefined);
  });

  it('fills every other value from the public cloud when one is overridden', () => {
    const resolved = resolveChannelEndpoints({
      ...base,
      ToBotFromChannelOpenIdMetadataUrl: 'http://127.0.0.1:1/v1/.well-known/openidconfiguration',
    });
    assert.deepEqual(resolved, {
      ...PUBLIC_CLOUD_ENDPOINTS,
      ToBotFromChannelOpenIdMetadataUrl: 'http://127.0.0.1:1/v1/.well-known/openidconfiguration',
    });
    assert.equal(PUBLIC_CLOUD_ENDPOINTS.ToBotFromChannelTokenIssuer, 'https://api.botframework.com');
    assert.equal(PUBLIC_CLOUD_ENDPOINTS.ToChannelFromBotLoginUrl, 'https://login.microsoftonline.com/botframework.com');
    assert.equal(PUBLIC_CLOUD_ENDPOINTS.CallerId, 'urn:botframework:azure');
  });

  it('gate: passes everything when channel authentication is off (no app id, loopback only)', () => {
    const gate = createChannelGate({ MicrosoftAppId: undefined, ToBotFromChannelTokenIssuer: undefined });
    assert.deepEqual(gate(undefined), { ok: true });
  });

  it('gate: accepts the configured issuer only', () => {
    const gate = createChannelGate({ enabled: true, allowedIssuers: ['https://issuer.test'] });
    const jwt = (payload: object) =>
      `Bearer ${Buffer.from(JSON.stringify({ alg: 'RS256' })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`;
    assert.deepEqual(gate(jwt({ iss: 'https://issuer.test' })), { ok: true });
    assert.deepEqual(gate(jwt({ iss: BOT_FRAMEWORK_CHANNEL_ISSUER })), { ok: false, reason: 'issuer' });
    assert.deepEqual(gate('Bearer a.b'), { ok: false, reason: 'malformed' });
    assert.deepEqual(gate('bearer x.y.z'), { ok: false, reason: 'scheme' });
    assert.deepEqual(gate(['Bearer x', 'Bearer y']), { ok: false, reason: 'missing' });
  });
});

describe('isAllowedServiceUrl (proactive messages)', () => {
  const hosts = ['smba.trafficmanager.net', '*.botframework.com'];

  it('allows https to listed hosts and subdomains of wildcard entries', () => {
    assert.equal(isAllowedServiceUrl('https://smba.trafficmanager.net/amer/', hosts), true);
    assert.equal(isAllowedServiceUrl('https://europe.webchat.botframework.com/', hosts), true);
  });

  it('refuses other hosts, http, ports, credentials and look-alikes', () => {
    assert.equal(isAllowedServiceUrl('https://evil.example/', hosts), false);
    assert.equal(isAllowedServiceUrl('http://smba.trafficmanager.net/amer/', hosts), false);
    assert.equal(isAllowedServiceUrl('https://smba.trafficmanager.net:8443/', hosts), false);
    assert.equal(isAllowedServiceUrl('https://user:pw@smba.trafficmanager.net/', hosts), false);
    assert.equal(isAllowedServiceUrl('https://botframework.com/', hosts), false);
    assert.equal(isAllowedServiceUrl('https://evilbotframework.com/', hosts), false);
    assert.equal(isAllowedServiceUrl('https://smba.trafficmanager.net.evil.example/', hosts), false);
    assert.equal(isAllowedServiceUrl('not a url', hosts), false);
  });

  it('allows loopback only when asked', () => {
    assert.equal(isAllowedServiceUrl('http://127.0.0.1:4000/', hosts), false);
    assert.equal(isAllowedServiceUrl('http://127.0.0.1:4000/', hosts, { allowLoopback: true }), true);
    assert.equal(isAllowedServiceUrl('http://[::1]:4000/', hosts, { allowLoopback: true }), true);
  });
});
