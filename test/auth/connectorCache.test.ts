import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CloudAdapter, type Activity, type TurnContext } from 'botbuilder';
import type { ConnectorClient, ConnectorFactory, UserTokenClient } from 'botframework-connector';
import { ConnectorClientCache } from '../../src/auth/connectorCache';
import { createBotFrameworkAuthentication } from '../../src/auth/channelAuth';
import { loadConfig } from '../../src/config';
import { messageActivity, testUser } from '../helpers/activities';

/** A factory that makes a new stand-in client per call and records what it was asked for. */
function recordingFactory() {
  const made: string[] = [];
  let failNext = false;
  const factory = {
    async create(serviceUrl: string, audience?: string) {
      made.push(`${serviceUrl} ${audience ?? ''}`);
      if (failNext) {
        failNext = false;
        throw new Error('credentials could not be built');
      }
      return { serviceUrl, audience, id: randomUUID() } as unknown as ConnectorClient;
    },
  } as ConnectorFactory;
  return { factory, made, failOnce: () => (failNext = true) };
}

describe('ConnectorClientCache: one ConnectorClient per app, service URL and audience, reused across turns', () => {
  it('gives the same client for the same app, service URL and audience, made once', async () => {
    const cache = new ConnectorClientCache();
    const { factory, made } = recordingFactory();
    const first = await cache.wrap(factory, 'app-1').create('https://smba.example/amer/', 'aud');
    // A new factory per turn, as the SDK makes one per authenticated request.
    const second = await cache.wrap(recordingFactory().factory, 'app-1').create('https://smba.example/amer/', 'aud');
    assert.equal(second, first);
    assert.deepEqual(made, ['https://smba.example/amer/ aud']);
  });

  it('keeps separate clients for another service URL, audience or app', async () => {
    const cache = new ConnectorClientCache();
    const { factory } = recordingFactory();
    const clients = await Promise.all([
      cache.wrap(factory, 'app-1').create('https://smba.example/amer/', 'aud'),
      cache.wrap(factory, 'app-1').create('https://smba.example/emea/', 'aud'),
      cache.wrap(factory, 'app-1').create('https://smba.example/amer/', 'other-aud'),
      cache.wrap(factory, 'app-2').create('https://smba.example/amer/', 'aud'),
      cache.wrap(factory, undefined).create('https://smba.example/amer/'),
    ]);
    assert.equal(new Set(clients).size, 5);
    assert.equal(cache.size, 5);
  });

  it('holds at most its capacity, dropping the least recently used', async () => {
    const cache = new ConnectorClientCache(2);
    const { factory, made } = recordingFactory();
    const create = (url: string) => cache.wrap(factory, 'app').create(url);
    await create('https://a.example/');
    await create('https://b.example/');
    await create('https://a.example/'); // a is now the most recently used
    await create('https://c.example/'); // b goes
    assert.equal(cache.size, 2);
    await create('https://a.example/');
    assert.equal(made.length, 3, 'a stayed');
    await create('https://b.example/');
    assert.equal(made.length, 4, 'b was made again');
  });

  it('does not keep a failed creation: the next turn tries again', async () => {
    const cache = new ConnectorClientCache();
    const { factory, made, failOnce } = recordingFactory();
    failOnce();
    await assert.rejects(cache.wrap(factory, 'app').create('https://a.example/'), /credentials could not be built/);
    const client = await cache.wrap(factory, 'app').create('https://a.example/');
    assert.ok(client);
    assert.equal(made.length, 2);
    assert.equal(cache.size, 1);
  });

  it("is what the bot's CloudAdapter uses: two turns from one service URL get the same client", async () => {
    const adapter = new CloudAdapter(createBotFrameworkAuthentication(loadConfig({})));
    const seen: unknown[] = [];
    const user = testUser();
    for (let turn = 0; turn < 2; turn++) {
      const activity = messageActivity('https://smba.example/amer/', user, { text: 'help', id: randomUUID() }) as unknown as Activity;
      await adapter.processActivityDirect('', activity, async (context: TurnContext) => {
        seen.push(context.turnState.get(adapter.ConnectorClientKey));
      });
    }
    assert.ok(seen[0]);
    assert.equal(seen[1], seen[0]);
  });

  it('keeps one UserTokenClient per app, apart from the connectors, and not a failed creation', async () => {
    const cache = new ConnectorClientCache();
    let made = 0;
    let failNext = false;
    const create = async () => {
      made++;
      if (failNext) {
        failNext = false;
        throw new Error('credentials could not be built');
      }
      return { id: randomUUID() } as unknown as UserTokenClient;
    };
    const first = await cache.userTokenClient('app-1', create);
    assert.equal(await cache.userTokenClient('app-1', create), first);
    assert.notEqual(await cache.userTokenClient('app-2', create), first);
    assert.notEqual(await cache.userTokenClient(undefined, create), first);
    assert.equal(made, 3);
    // A connector for the same app is another entry.
    await cache.wrap(recordingFactory().factory, 'app-1').create('https://smba.example/amer/');
    assert.equal(cache.size, 4);
    failNext = true;
    await assert.rejects(cache.userTokenClient('app-3', create), /credentials could not be built/);
    assert.ok(await cache.userTokenClient('app-3', create));
    assert.equal(made, 5);
  });

  it("is what the bot's CloudAdapter uses: two turns get the same UserTokenClient", async () => {
    const adapter = new CloudAdapter(createBotFrameworkAuthentication(loadConfig({})));
    const seen: unknown[] = [];
    for (let turn = 0; turn < 2; turn++) {
      const activity = messageActivity('https://smba.example/amer/', testUser(), { text: 'help', id: randomUUID() }) as unknown as Activity;
      await adapter.processActivityDirect('', activity, async (context: TurnContext) => {
        seen.push(context.turnState.get(adapter.UserTokenClientKey));
      });
    }
    assert.ok(seen[0]);
    assert.equal(seen[1], seen[0]);
  });
});
