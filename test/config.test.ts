import assert from 'node:assert/strict';
import { ConfigError, loadConfig, loadPackagingConfig } from '../src/config';

const APP_ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

describe('Configuration', () => {
  it('needs nothing for a local run: loopback, port 3978, embedded storage, public URL from the port', () => {
    const config = loadConfig({});
    assert.equal(config.PORT, 3978);
    assert.equal(config.HOST, '127.0.0.1');
    assert.equal(config.STORAGE_CONNECTION_STRING, undefined);
    assert.equal(config.DATA_DIR, '.data');
    assert.equal(config.PUBLIC_URL, 'http://localhost:3978');
    assert.equal(config.channelAuthEnabled, false);
    assert.ok(Object.isFrozen(config));
  });

  it('treats empty values as unset and trims a trailing slash off PUBLIC_URL', () => {
    const config = loadConfig({ PORT: '', PUBLIC_URL: 'https://groups.contoso.example/', MicrosoftAppId: '  ' });
    assert.equal(config.PORT, 3978);
    assert.equal(config.PUBLIC_URL, 'https://groups.contoso.example');
    assert.equal(config.channelAuthEnabled, false);
  });

  const refusals: Array<[string, Record<string, string>, RegExp]> = [
    ['a port that is not a number', { PORT: 'eighty' }, /^Invalid configuration: PORT /],
    ['a port out of range', { PORT: '70000' }, /^Invalid configuration: PORT /],
    ['a public URL that is not a URL', { PUBLIC_URL: 'groups' }, /^Invalid configuration: PUBLIC_URL must be an absolute URL/],
    ['an unknown log level', { LOG_LEVEL: 'loud' }, /^Invalid configuration: LOG_LEVEL /],
    [
      'an app id that is not a GUID',
      { MicrosoftAppId: 'my-bot' },
      /^Invalid configuration: MicrosoftAppId must be the bot app registration id/,
    ],
    ['an app id without its password', { MicrosoftAppId: APP_ID }, /^Invalid configuration: MicrosoftAppPassword is required/],
    [
      'a single-tenant bot without its tenant',
      { MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'x', MicrosoftAppType: 'SingleTenant' },
      /MicrosoftAppTenantId is required/,
    ],
    ['an app secret shorter than 32 characters', { APP_SECRET: 'short' }, /^Invalid configuration: APP_SECRET must be at least 32/],
    [
      'a non-loopback address without an app id (the SDK would accept anyone)',
      { HOST: '0.0.0.0' },
      /^Invalid configuration: HOST must be a loopback address .* while MicrosoftAppId is empty/,
    ],
  ];
  for (const [label, env, message] of refusals) {
    it(`refuses ${label} with one line naming the key`, () => {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => err instanceof ConfigError && message.test(err.message) && !err.message.includes('\n'),
      );
    });
  }

  it('listens on any interface once channel authentication is on', () => {
    const config = loadConfig({ HOST: '0.0.0.0', MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'x' });
    assert.equal(config.channelAuthEnabled, true);
  });

  it('reads comma-separated lists', () => {
    const config = loadConfig({ ALLOWED_TENANT_IDS: ' a , b,,c ', ORG_ADMIN_OBJECT_IDS: '' });
    assert.deepEqual(config.ALLOWED_TENANT_IDS, ['a', 'b', 'c']);
    assert.deepEqual(config.ORG_ADMIN_OBJECT_IDS, []);
  });

  it('bounds storage calls at 3 s and holds a redelivered activity 60 s unless told otherwise, and refuses nonsense', () => {
    const defaults = loadConfig({});
    assert.equal(defaults.STORAGE_TIMEOUT_MS, 3_000);
    assert.equal(defaults.REDELIVERY_LEASE_MS, 60_000);
    const set = loadConfig({ STORAGE_TIMEOUT_MS: '1000', REDELIVERY_LEASE_MS: '2000' });
    assert.equal(set.STORAGE_TIMEOUT_MS, 1_000);
    assert.equal(set.REDELIVERY_LEASE_MS, 2_000);
    assert.throws(() => loadConfig({ STORAGE_TIMEOUT_MS: 'soon' }), /^ConfigError: Invalid configuration: STORAGE_TIMEOUT_MS /);
    assert.throws(() => loadConfig({ REDELIVERY_LEASE_MS: '0' }), /^ConfigError: Invalid configuration: REDELIVERY_LEASE_MS /);
  });
});

describe('Configuration: the Teams app package settings', () => {
  it('reads the developer links and name, and refuses a name over 32 characters', () => {
    const config = loadConfig({ WEBSITE_URL: 'https://contoso.example/', DEVELOPER_NAME: 'Contoso IT' });
    assert.equal(config.WEBSITE_URL, 'https://contoso.example/');
    assert.equal(config.DEVELOPER_NAME, 'Contoso IT');
    assert.equal(config.PRIVACY_URL, undefined);
    assert.throws(() => loadConfig({ DEVELOPER_NAME: 'x'.repeat(33) }), /DEVELOPER_NAME must be at most 32 characters/);
    assert.throws(() => loadConfig({ TERMS_URL: 'terms' }), /TERMS_URL/);
  });

  it('packaging needs the ids and the public URL only: no password', () => {
    const config = loadPackagingConfig({
      MicrosoftAppId: '11111111-2222-4333-8444-555555555555',
      PUBLIC_URL: 'https://groups.contoso.example/',
    });
    assert.equal(config.MicrosoftAppId, '11111111-2222-4333-8444-555555555555');
    assert.equal(config.PUBLIC_URL, 'https://groups.contoso.example');
    assert.throws(() => loadConfig({ MicrosoftAppId: '11111111-2222-4333-8444-555555555555' }), /MicrosoftAppPassword/);
  });
});
