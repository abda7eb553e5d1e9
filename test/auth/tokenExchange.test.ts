import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { UserTokenClient } from 'botframework-connector';
import { createBotFrameworkAuthentication } from '../../src/auth/channelAuth';
import { EntraTokenVerifier, ssoAudiences } from '../../src/auth/entraTokenVerifier';
import { EXCHANGE_FAILURE_DETAIL, TeamsSsoExchange, tokenExchangeKey } from '../../src/auth/tokenExchange';
import type { ExchangeDedup, TokenExchangeInvoke, TokenExchangeResult } from '../../src/auth/tokenExchange';
import { DedupStore } from '../../src/storage/dedupStore';
import { FakeBotFramework } from '../helpers/fakeBotFramework';
import { FakeEntra } from '../helpers/fakeEntra';
import { freshTables } from '../helpers/azurite';

const APP_ID = '00000000-0000-4000-8000-00000055e0ee';
const APP_PASSWORD = 'test-password-not-a-secret';
const CONNECTION = 'TeamsSso';

class MemoryDedup implements ExchangeDedup {
  readonly keys = new Set<string>();
  async tryClaim(key: string): Promise<boolean> {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    return true;
  }
}

describe('Teams SSO token exchange (signin/tokenExchange)', () => {
  let entra: FakeEntra;
  let botFramework: FakeBotFramework;
  let userTokenClient: UserTokenClient;
  let verifier: EntraTokenVerifier;

  before(async () => {
    entra = await FakeEntra.start();
    botFramework = await FakeBotFramework.start({ appId: APP_ID, appPassword: APP_PASSWORD });
    // The real SDK UserTokenClient, as CloudAdapter builds it for a turn, against the loopback Token Service.
    const auth = createBotFrameworkAuthentication({
      MicrosoftAppId: APP_ID,
      MicrosoftAppPassword: APP_PASSWORD,
      MicrosoftAppType: 'MultiTenant',
      MicrosoftAppTenantId: undefined,
      ...botFramework.endpoints,
    });
    const channelToken = await botFramework.signChannelToken(
      botFramework.channelClaims({ serviceUrl: 'https://smba.trafficmanager.net/amer/' }),
    );
    const { claimsIdentity } = await auth.authenticateRequest(
      { channelId: 'msteams', serviceUrl: 'https://smba.trafficmanager.net/amer/' } as never,
      `Bearer ${channelToken}`,
    );
    userTokenClient = await auth.createUserTokenClient(claimsIdentity);
    verifier = new EntraTokenVerifier({
      metadataUrl: entra.metadataUrl,
      audiences: ssoAudiences(APP_ID),
      requiredScope: 'access_as_user',
      clockSkewSeconds: 300,
    });
  });

  after(async () => {
    await entra.close();
    await botFramework.close();
  });

  beforeEach(() => {
    botFramework.exchangeBehaviour = () => ({ ok: true });
    botFramework.exchangeDelayMs = 0;
  });

  function exchanger(dedup: ExchangeDedup): TeamsSsoExchange {
    return new TeamsSsoExchange({
      dedup,
      verifier,
      connectionName: CONNECTION,
      exchange: (userId, connectionName, token, channelId) => userTokenClient.exchangeToken(userId, connectionName, channelId, { token }),
    });
  }

  async function invoke(
    input: { tid?: string; oid?: string; id?: string; aud?: string; activityTenantId?: string } = {},
  ): Promise<TokenExchangeInvoke> {
    const token = await entra.signToken(entra.ssoClaims({ aud: input.aud ?? APP_ID, tid: input.tid, oid: input.oid }));
    return {
      channelId: 'msteams',
      conversationId: 'a:personal-chat',
      userId: '29:user',
      value: { id: input.id ?? randomUUID(), connectionName: CONNECTION, token },
      ...(input.activityTenantId ? { activityTenantId: input.activityTenantId } : {}),
    };
  }

  it('lets exactly one of 3 identical concurrent exchanges proceed; the others get 200 duplicate (Azure Table dedup)', async () => {
    const { clients } = await freshTables();
    const store = new DedupStore(clients.dedup);
    const sso = exchanger({ tryClaim: (key) => store.claim('sso-exchange', key) });
    botFramework.exchangeDelayMs = 30;
    const tid = randomUUID();
    const oid = randomUUID();
    const id = randomUUID();
    const copies = await Promise.all([invoke({ tid, oid, id }), invoke({ tid, oid, id }), invoke({ tid, oid, id })]);
    const exchangesBefore = botFramework.requestsTo('/api/usertoken/exchange').length;

    const results = await Promise.all(copies.map((c) => sso.handle(c)));

    const proceeded = results.filter((r): r is Extract<TokenExchangeResult, { user: unknown }> => 'user' in r);
    const duplicates = results.filter((r) => 'duplicate' in r && r.duplicate === true);
    assert.equal(proceeded.length, 1);
    assert.equal(duplicates.length, 2);
    assert.ok(results.every((r) => r.status === 200));
    assert.equal(proceeded[0]!.user.tenantId, tid);
    assert.equal(proceeded[0]!.user.objectId, oid);
    assert.equal(botFramework.requestsTo('/api/usertoken/exchange').length - exchangesBefore, 3, 'every copy exchanged');
  });

  it('answers 412 with failureDetail to every caller when the exchange fails (consent required), and claims nothing', async () => {
    const dedup = new MemoryDedup();
    const sso = exchanger(dedup);
    botFramework.exchangeBehaviour = () => ({ ok: false, status: 400 });
    const id = randomUUID();
    const copies = await Promise.all([invoke({ id }), invoke({ id }), invoke({ id })]);

    const results = await Promise.all(copies.map((c) => sso.handle(c)));

    for (const result of results) {
      assert.equal(result.status, 412);
      assert.ok(result.status === 412 && 'body' in result);
      assert.deepEqual(result.body, { id, connectionName: CONNECTION, failureDetail: EXCHANGE_FAILURE_DETAIL });
      assert.doesNotMatch(JSON.stringify(result), /eyJ/, 'no token in what goes back');
    }
    assert.equal(dedup.keys.size, 0);

    // After consent, Teams sends the exchange again with the same id: it proceeds.
    botFramework.exchangeBehaviour = () => ({ ok: true });
    const retry = await sso.handle(copies[0]!);
    assert.ok('user' in retry);
  });

  it('maps to the tenant of the verified SSO token, not the tenant the activity names', async () => {
    const tokenTenant = randomUUID();
    const activityTenant = randomUUID();
    const result = await exchanger(new MemoryDedup()).handle(await invoke({ tid: tokenTenant, activityTenantId: activityTenant }));
    assert.ok('user' in result);
    assert.equal(result.user.tenantId, tokenTenant);
  });

  it('refuses an SSO token that is not for this bot with 412, without calling the token service', async () => {
    const before = botFramework.requestsTo('/api/usertoken/exchange').length;
    const result = await exchanger(new MemoryDedup()).handle(await invoke({ aud: randomUUID() }));
    assert.equal(result.status, 412);
    assert.ok('reason' in result && /audience/.test(result.reason));
    assert.equal(botFramework.requestsTo('/api/usertoken/exchange').length, before);
  });

  it('answers 400 to an exchange invoke without an id', async () => {
    const copy = await invoke();
    const result = await exchanger(new MemoryDedup()).handle({ ...copy, value: { ...copy.value, id: undefined } });
    assert.equal(result.status, 400);
  });

  it('builds the dedup key like the SDK middleware', () => {
    assert.equal(tokenExchangeKey('msteams', 'a:conv', 'x1'), 'msteams/a:conv/x1');
  });
});
