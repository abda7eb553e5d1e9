import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from './helpers/testApp';
import { installActivity, invokeActivity, testUser, type TestUser } from './helpers/activities';
import { Chat, buttonData, cardsIn, textOf } from './helpers/chat';
import type { SentActivity } from './helpers/fakeChannel';
import { FakeBotFramework } from './helpers/fakeBotFramework';
import { FakeEntra } from './helpers/fakeEntra';
import { FakeGraph } from './helpers/fakeGraph';

/** The display name of the issue: a phishing link, bold, a mention, a tag and a bare URL. */
const NAME = '[Verify your account](https://evil.example/login) **URGENT** <at>Boss</at> <b>x</b> https://evil.example';
/** The same for a group name (group names are at most 100 characters). */
const GROUP = '[Verify](https://evil.example/login) **URGENT** <at>Boss</at> <b>x</b> https://evil.example';
/** The same for an organization name (from Microsoft Graph). */
const ORG = '[Sign in](https://evil.example/sso) **IT Dept** <at>Admin</at> <b>y</b> https://evil.example';

/** What would be live if it reached Teams as it was typed: user-made links, emphasis, mentions, tags, URLs. */
const LIVE_FRAGMENTS = [
  '[Verify',
  '[Sign in',
  '](https',
  '**URGENT',
  '**IT',
  '**now',
  '<at',
  '</at',
  '<b>',
  '</b>',
  '://evil',
  'evil.example',
];

type Json = Record<string, unknown>;

/** Every string Teams processes as Markdown or HTML in an outgoing activity (or an invoke response's card). */
function markdownStrings(node: unknown, key?: string, parentType?: string, out: string[] = []): string[] {
  if (typeof node === 'string') {
    const processed =
      (key === 'text' && parentType !== 'TextRun' && parentType !== 'Input.Text') ||
      key === 'fallbackText' ||
      key === 'summary' ||
      key === 'title' ||
      (key === 'value' && parentType === 'Fact');
    if (processed) out.push(node);
  } else if (Array.isArray(node)) node.forEach((n) => markdownStrings(n, key, parentType, out));
  else if (node && typeof node === 'object') {
    const obj = node as Json;
    const type = typeof obj['type'] === 'string' ? (obj['type'] as string) : Array.isArray(obj['facts']) ? 'FactSet' : undefined;
    for (const [k, v] of Object.entries(obj)) {
      if (k === 'facts' && Array.isArray(v)) v.forEach((f) => markdownStrings(f, undefined, 'Fact', out));
      else markdownStrings(v, k, type, out);
    }
  }
  return out;
}

/**
 * Nothing of the hostile text is live anywhere in the payload: no Markdown field holds a link, emphasis, mention
 * or tag made from it, no string anywhere holds its URL undefanged, and no mention entity is sent. (An
 * Input.Text value hands the user's own typing back for editing, and a mailto link is the user's own email:
 * neither is shown as a message; nor is the activity's addressing.)
 */
function assertNothingLive(payload: unknown, where: string): void {
  for (const text of markdownStrings(payload)) {
    for (const fragment of LIVE_FRAGMENTS)
      assert.ok(!text.includes(fragment), `${where}: "${fragment}" in Markdown-processed text: ${text}`);
  }
  // The addressing (`recipient` is the user's own account as Teams sent it, copied back by the SDK) is not shown.
  const { recipient: _recipient, from: _from, conversation: _conversation, ...content } = payload as Json;
  const json = JSON.stringify(content, (key, value: unknown) =>
    (key === 'value' && typeof value === 'string') || (typeof value === 'string' && value.startsWith('mailto:')) ? '' : value,
  );
  for (const live of ['://evil', 'evil.example']) assert.ok(!json.includes(live), `${where}: a live "${live}": ${json.slice(0, 2000)}`);
  const entities = (payload as { entities?: Array<{ type?: string }> }).entities ?? [];
  assert.ok(!entities.some((e) => e.type === 'mention'), `${where}: a mention entity`);
}

function assertEchoedSafely(sent: SentActivity[], where: string, shows: RegExp = /Verify/): void {
  assert.ok(sent.length > 0, `${where}: nothing was sent`);
  for (const s of sent) assertNothingLive(s.activity, where);
  assert.match(textOf(sent), shows, `${where}: the reply does not show the name at all`);
}

describe('User text never becomes formatting, in any reply that echoes it', function () {
  this.timeout(30_000);

  describe('steps 1 and 2: names and group names', () => {
    let t: TestApp;
    let chat: Chat;
    let owner: TestUser;
    let joiner: TestUser;
    let other: TestUser;
    let groupId: string;
    let link: string;
    before(async () => {
      t = await startTestApp();
      chat = new Chat(t);
      owner = testUser(NAME);
      joiner = testUser(NAME);
      other = testUser(`${NAME} 2`);
    });
    after(async () => {
      await t.stop();
    });

    it('the welcome card, on install', async () => {
      const res = await chat.post(installActivity(t.channel.serviceUrl, owner), `a:personal-${owner.id}`);
      assert.equal(res.status, 200);
      assertEchoedSafely(res.sent, 'welcome');
    });

    it('the photo question and "your group is ready" with its group info', async () => {
      await chat.say(owner, 'new group');
      assertEchoedSafely(await chat.submit(owner, 'createGroup', { step: 'name', groupName: GROUP }), 'ask photo');
      const created = await chat.submit(owner, 'skipPhoto');
      assertEchoedSafely(created, 'group ready');
      assert.match(String(created[0]!.activity.text), /Your group/);
      groupId = String(buttonData(cardsIn(created).at(-1)!, 'showInvite').groupId);
    });

    it('the invite card (its own link stays usable) and the reset link confirmation', async () => {
      const sent = await chat.submit(owner, 'showInvite', { groupId });
      assertEchoedSafely(sent, 'invite');
      link = /https?:\/\/\S+\/join\/[A-Za-z0-9_-]{22}/.exec(textOf(sent))![0];
      assertEchoedSafely(await chat.submit(owner, 'resetLink', { groupId }), 'reset link confirmation');
    });

    it('the joiner\'s welcome text and group info, and "already a member"', async () => {
      const joined = await chat.say(joiner, `join ${link}`);
      assertEchoedSafely(joined, 'joined');
      assert.match(String(joined[0]!.activity.text), /Welcome, .*Verify your account.* You joined/);
      assertEchoedSafely(await chat.say(joiner, `join ${link}`), 'already a member');
      await chat.say(other, `join ${link}`);
    });

    it("the admin's notice that someone joined", async () => {
      const adminChat = `a:personal-${owner.id}`;
      const sent = await t.channel.waitFor((all) => all.some((s) => s.conversationId === adminChat && textOf([s]).includes('joined')));
      assertEchoedSafely(
        sent.filter((s) => s.conversationId === adminChat && textOf([s]).includes('joined')),
        'joined notice',
      );
    });

    it('group info, members and my groups', async () => {
      assertEchoedSafely(await chat.submit(owner, 'showGroupInfo', { groupId }), 'group info');
      assertEchoedSafely(await chat.submit(owner, 'showMembers', { groupId }), 'members');
      assertEchoedSafely(await chat.say(owner, 'my groups'), 'my groups');
    });

    it('"<name> is now an admin", as a message and as an Action.Execute answer', async () => {
      const sent = await chat.submit(owner, 'makeAdmin', { groupId, userId: joiner.aadObjectId });
      assertEchoedSafely(sent, 'make admin');
      assert.match(String(sent[0]!.activity.text), /Verify your account.* is now an admin/);
      const executed = await chat.execute(owner, 'showMembers', { groupId });
      assert.equal(executed.status, 200);
      assertNothingLive(executed.body, 'members (Action.Execute)');
      assert.match(JSON.stringify(executed.body), /Verify your account/);
    });

    it('remove, with the members card after it', async () => {
      assertEchoedSafely(await chat.submit(owner, 'removeMember', { groupId, userId: other.aadObjectId }), 'remove');
    });

    it('leave and delete confirmations, and the poster and email card', async () => {
      assertEchoedSafely(await chat.submit(joiner, 'leaveGroup', { groupId }), 'leave confirmation');
      assertEchoedSafely(await chat.submit(owner, 'deleteGroup', { groupId }), 'delete confirmation');
      assertEchoedSafely(await chat.submit(owner, 'poster', { groupId }), 'poster and email');
    });

    it('typed text echoed back: a group or member that is not there, and a button with a hostile verb', async () => {
      assertEchoedSafely(
        await chat.say(owner, '/group [Verify](https://evil.example/login) **URGENT** https://evil.example'),
        'no such group',
      );
      assertEchoedSafely(await chat.say(owner, `members ${groupId}`), 'members by id');
      assertEchoedSafely(await chat.say(owner, '/make admin [Verify](https://evil.example) **URGENT**'), 'no such member');
      // Without "/", with a current group: "Nobody called ..." and the message in the Post it box (issue 17).
      assertEchoedSafely(
        await chat.say(owner, 'make admin [Verify](https://evil.example) **URGENT**'),
        'post it offer',
        /Verify[\s\S]*Post it/,
      );
      assertEchoedSafely(await chat.say(owner, '/invte [Verify](https://evil.example)'), 'did you mean', /Did you mean/);
      assertEchoedSafely(await chat.submit(owner, '[Verify](https://evil.example) **URGENT**'), 'hostile verb');
    });

    it('leave, once confirmed', async () => {
      const sent = await chat.submit(joiner, 'confirmLeave', { groupId });
      for (const s of sent) assertNothingLive(s.activity, 'left');
    });
  });

  describe('step 3: organization names, with Teams SSO', () => {
    // Not the app id of organization.e2e: the SDK caches the bot's own access token per app id in the process,
    // and a token from that suite's Bot Framework stand-in is refused by this one's.
    const APP_ID = '7d1e9a52-3c4b-4f6e-9a1d-2b3c4d5e6f70';
    const APP_PASSWORD = 'test-password-not-a-secret';
    const CONNECTION = 'sso';
    const TENANT = 'a1b2c3d4-0000-4000-8000-00000000c0de';
    let bf: FakeBotFramework;
    let entra: FakeEntra;
    let graph: FakeGraph;
    let t: TestApp;
    let chat: Chat;
    let owner: TestUser;
    let groupId: string;

    before(async () => {
      bf = await FakeBotFramework.start({ appId: APP_ID, appPassword: APP_PASSWORD });
      entra = await FakeEntra.start();
      graph = await FakeGraph.start({ appId: APP_ID, appPassword: APP_PASSWORD, organizations: { [TENANT]: ORG } });
      t = await startTestApp({
        MicrosoftAppId: APP_ID,
        MicrosoftAppPassword: APP_PASSWORD,
        ...bf.endpoints,
        SSO_CONNECTION_NAME: CONNECTION,
        ENTRA_OPENID_METADATA_URL: entra.metadataUrl,
        ENTRA_AUTHORITY_HOST: graph.authorityHost,
        GRAPH_BASE_URL: graph.graphBaseUrl,
      });
      chat = new Chat(t, async () => ({
        authorization: `Bearer ${await bf.signChannelToken(bf.channelClaims({ aud: APP_ID, serviceUrl: t.channel.serviceUrl }))}`,
      }));
      owner = testUser(NAME);
    });
    after(async () => {
      await t?.stop();
      await Promise.all([bf?.close(), entra?.close(), graph?.close()]);
    });

    const ssoToken = (user: TestUser, extra: Parameters<FakeEntra['ssoClaims']>[0] = {}) =>
      entra.signToken(
        entra.ssoClaims({
          aud: APP_ID,
          tid: TENANT,
          oid: user.aadObjectId,
          name: user.name,
          preferredUsername: 'olga@contoso.example',
          ...extra,
        }),
      );

    it('the "organization mapped" card, and "already owned by" when asked again', async () => {
      await chat.say(owner, 'new group');
      await chat.submit(owner, 'createGroup', { step: 'name', groupName: GROUP });
      groupId = String(buttonData(cardsIn(await chat.submit(owner, 'skipPhoto')).at(-1)!, 'showInvite').groupId);
      await chat.submit(owner, 'addToOrganization', { groupId });
      const activity = invokeActivity(t.channel.serviceUrl, owner, 'signin/tokenExchange', {
        id: randomUUID(),
        connectionName: CONNECTION,
        token: await ssoToken(owner),
      });
      const res = await chat.post(activity, `a:personal-${owner.id}`);
      assert.equal(res.status, 200);
      assertEchoedSafely(res.sent, 'organization mapped', /Sign in/);
      assertEchoedSafely(await chat.submit(owner, 'addToOrganization', { groupId }), 'already owned', /Sign in/);
      assertEchoedSafely(await chat.submit(owner, 'showGroupInfo', { groupId }), 'group info owned by', /Sign in/);
    });

    it("an organization admin's org groups, export, and removal answers", async () => {
      const member = testUser('[Click](https://evil.example/x) **now** <b>x</b>');
      const invite = await t.app.groups.getInvite(groupId, { id: owner.aadObjectId, name: owner.name });
      await chat.say(member, `join ${invite.url}`);
      const admin = testUser('Ida IT');
      bf.userTokens.set(`${admin.id}|${CONNECTION}`, await ssoToken(admin, { extra: { roles: ['OrgAdmin'] } }));
      assertEchoedSafely(await chat.say(admin, 'org groups'), 'org groups', /Sign in/);
      const exported = await chat.say(admin, `export ${groupId}`);
      assertEchoedSafely(exported, 'export');
      assert.match(String(exported[0]!.activity.text), /\]\(http/, "the bot's own download links stay links");
      assertEchoedSafely(await chat.say(admin, 'export [Verify](https://evil.example) **URGENT**'), 'no org group called');
      assertEchoedSafely(await chat.say(admin, `remove [Verify](https://evil.example) **URGENT** from ${groupId}`), 'nobody called');
      const asked = await chat.say(admin, `remove ${member.name} from ${groupId}`);
      assertEchoedSafely(asked, 'remove confirmation for an organization admin');
      const removed = await chat.submit(admin, 'confirmRemove', buttonData(cardsIn(asked)[0]!, 'confirmRemove'));
      assertEchoedSafely(removed, 'removed by an organization admin', /Click.*was removed from/);
    });
  });
});
