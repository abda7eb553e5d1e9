import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from './helpers/testApp';
import { installActivity, messageActivity, testUser } from './helpers/activities';

const ADAPTIVE = 'application/vnd.microsoft.card.adaptive';

describe('Platform, end to end through /api/messages', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.stop();
  });
  beforeEach(() => t.channel.clear());

  it('answers GET /healthz with 200 while storage answers', async () => {
    const res = await fetch(`${t.app.url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('answers help with the help card', async () => {
    const user = testUser();
    const res = await t.post(messageActivity(t.channel.serviceUrl, user, { text: 'help' }));
    assert.equal(res.status, 200);
    const [reply] = await t.channel.waitFor((s) => s.length >= 1);
    assert.equal(reply!.activity.attachments?.[0]?.contentType, ADAPTIVE);
    assert.match(JSON.stringify(reply!.activity.attachments![0]!.content), /new group/i);
  });

  it('understands /help, HELP and help with surrounding spaces alike', async () => {
    const user = testUser();
    for (const text of ['/help', 'HELP', '  help  ']) {
      t.channel.clear();
      await t.post(messageActivity(t.channel.serviceUrl, user, { text }));
      const [reply] = await t.channel.waitFor((s) => s.length >= 1);
      assert.equal(reply!.activity.attachments?.[0]?.contentType, ADAPTIVE, text);
    }
  });

  it('welcomes a user who installs the app with the welcome card', async () => {
    const user = testUser();
    const res = await t.post(installActivity(t.channel.serviceUrl, user));
    assert.equal(res.status, 200);
    const [reply] = await t.channel.waitFor((s) => s.length >= 1);
    assert.equal(reply!.conversationId, `a:personal-${user.id}`);
    assert.equal(reply!.activity.attachments?.[0]?.contentType, ADAPTIVE);
    assert.match(JSON.stringify(reply!.activity.attachments![0]!.content), /organization/i);
  });

  it('welcomes a group chat once when Teams announces the install twice', async () => {
    const user = testUser();
    const conversation = { id: `19:chat-${user.id}`, conversationType: 'groupChat', tenantId: 't' };
    const install = { ...installActivity(t.channel.serviceUrl, user), conversation };
    const added = {
      ...installActivity(t.channel.serviceUrl, user),
      type: 'conversationUpdate',
      action: undefined,
      conversation,
      membersAdded: [{ id: '28:kaizala-bot' }],
    };
    await t.post(install);
    await t.post(added);
    await t.channel.waitFor((s) => s.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(t.channel.to(conversation.id).length, 1);
  });

  it('says plainly when it does not understand, and points to help', async () => {
    const user = testUser();
    await t.post(messageActivity(t.channel.serviceUrl, user, { text: 'make me a sandwich' }));
    const [reply] = await t.channel.waitFor((s) => s.length >= 1);
    assert.match(String(reply!.activity.text), /help/i);
  });

  it('ignores a redelivered activity: same id, one reply', async () => {
    const user = testUser();
    const activity = messageActivity(t.channel.serviceUrl, user, { text: 'help' });
    assert.equal((await t.post(activity)).status, 200);
    assert.equal((await t.post(activity)).status, 200);
    await t.channel.waitFor((s) => s.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(t.channel.sent.length, 1);
  });

  it('refuses a body that is not JSON with 400 and a body past the size limit with 413', async () => {
    const notJson = await fetch(`${t.app.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    assert.equal(notJson.status, 400);
    const huge = await fetch(`${t.app.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'message', text: 'x'.repeat(300 * 1024) }),
    });
    assert.equal(huge.status, 413);
    assert.doesNotMatch(await huge.text(), /at |Error:/);
  });

  it('answers a malformed activity without crashing and without a stack trace', async () => {
    const res = await t.post({ type: 'message', text: 'help' });
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
    assert.doesNotMatch(res.body, /\n\s+at /);
    const health = await fetch(`${t.app.url}/healthz`);
    assert.equal(health.status, 200);
  });

  it('apologizes without a stack when a turn fails, and logs the activity id', async () => {
    const user = testUser();
    t.channel.failWhen = { match: (a) => Array.isArray(a.attachments), status: 403 };
    const activity = messageActivity(t.channel.serviceUrl, user, { text: 'help' });
    await t.post(activity);
    const replies = await t.channel.waitFor((s) => s.length >= 1).finally(() => (t.channel.failWhen = undefined));
    assert.match(String(replies[0]!.activity.text), /sorry/i);
    assert.doesNotMatch(String(replies[0]!.activity.text), /at |Error/);
    assert.ok(t.logs.some((l) => l.msg === 'turn failed' && l.activityId === activity.id));
  });
});
