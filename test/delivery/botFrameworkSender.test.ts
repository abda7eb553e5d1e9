import assert from 'node:assert/strict';
import { BotFrameworkSender } from '../../src/delivery/botFrameworkSender';
import { ChannelError, classify, parseRetryAfter } from '../../src/delivery/channelSender';
import { ThrottlingChannel } from '../helpers/throttlingChannel';

describe('Bot Framework sender (engine sends on the Bot Connector REST API)', () => {
  let channel: ThrottlingChannel;

  beforeEach(async () => {
    channel = await new ThrottlingChannel({ tenantRps: 1, tenantBurst: 3, retryAfterSeconds: 7 }).start();
  });
  afterEach(async () => {
    await channel.stop();
  });

  it('sends, updates and deletes an activity with one request each, carrying the bot token', async () => {
    const sender = new BotFrameworkSender({ allowedServiceUrlHosts: [], allowLoopback: true, getToken: async () => 'bot-token' });
    const ref = channel.ref('u1', 'tenant-a');
    const { id } = await sender.send(ref, { type: 'message', text: 'hello' });
    await sender.update(ref, id, { type: 'message', text: 'hello again' });
    await sender.delete(ref, id);
    assert.deepEqual(
      channel.accepted.map((c) => [c.method, c.activityId]),
      [
        ['POST', id],
        ['PUT', id],
        ['DELETE', id],
      ],
    );
    assert.equal(channel.accepted[0]!.activity.text, 'hello');
    assert.deepEqual(channel.accepted[0]!.activity.recipient, { id: 'u1' });
  });

  it('does not retry a 429 by itself: it reports the status and Retry-After to the engine', async () => {
    const sender = new BotFrameworkSender({ allowedServiceUrlHosts: [], allowLoopback: true });
    const ref = channel.ref('u4', 'tenant-a');
    for (const text of ['one', 'two', 'three']) await sender.send(channel.ref(text, 'tenant-a'), { text });
    const err = await sender.send(ref, { text: 'four' }).catch((e: unknown) => e);
    assert.ok(err instanceof ChannelError);
    assert.equal(err.status, 429);
    assert.equal(err.retryAfterMs, 7_000);
    assert.equal(channel.throttled.length, 1, 'one request, no hidden retries');
    assert.equal(classify(err), 'throttled');
  });

  it('refuses service URLs outside the allow-list without calling them', async () => {
    const sender = new BotFrameworkSender({ allowedServiceUrlHosts: ['smba.trafficmanager.net'], allowLoopback: false });
    const err = await sender.send(channel.ref('u1', 'tenant-a'), { text: 'x' }).catch((e: unknown) => e);
    assert.ok(err instanceof ChannelError);
    assert.equal(err.code, 'ServiceUrlNotAllowed');
    assert.equal(classify(err), 'unreachable');
    assert.equal(channel.accepted.length + channel.throttled.length, 0);
  });

  it('classifies failures as Teams asks: 403/404 unreachable, 412/502/503/504 retried, 413 failed', () => {
    assert.equal(classify(new ChannelError(403)), 'unreachable');
    assert.equal(classify(new ChannelError(404)), 'unreachable');
    for (const status of [412, 502, 503, 504, 0]) assert.equal(classify(new ChannelError(status)), 'retry');
    assert.equal(classify(new ChannelError(413)), 'failed');
    assert.equal(parseRetryAfter('3'), 3_000);
    assert.equal(parseRetryAfter(new Date(Date.now() + 5_000).toUTCString(), Date.now()) !== undefined, true);
    assert.equal(parseRetryAfter(undefined), undefined);
  });
});
