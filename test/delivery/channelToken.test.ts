import assert from 'node:assert/strict';
import { channelTokenSource } from '../../src/auth/channelAuth';
import { FakeBotFramework } from '../helpers/fakeBotFramework';

const APP_ID = '00000000-0000-4000-8000-0000000d3117';
const APP_PASSWORD = 'test-password-not-a-secret';

describe("The delivery engine's token for its own channel calls", () => {
  let fake: FakeBotFramework;

  before(async () => {
    fake = await FakeBotFramework.start({ appId: APP_ID, appPassword: APP_PASSWORD });
  });
  after(async () => {
    await fake.close();
  });

  it("comes from the adapter's credentials (the configured login endpoint), fetched once and reused", async () => {
    const source = channelTokenSource({
      MicrosoftAppId: APP_ID,
      MicrosoftAppPassword: APP_PASSWORD,
      MicrosoftAppType: 'MultiTenant',
      MicrosoftAppTenantId: undefined,
      ...fake.endpoints,
    });
    assert.ok(source);
    const first = await source();
    assert.ok(first && first.length > 20);
    assert.equal(await source(), first);
    assert.equal(fake.requestsTo('/botframework.com/oauth2/v2.0/token').length, 1);
  });

  it('is absent without an app id (local runs talk to a loopback channel without a token)', () => {
    assert.equal(
      channelTokenSource({
        MicrosoftAppId: undefined,
        MicrosoftAppPassword: undefined,
        MicrosoftAppType: 'MultiTenant',
        MicrosoftAppTenantId: undefined,
      }),
      undefined,
    );
  });
});
