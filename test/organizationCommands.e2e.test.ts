import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from './helpers/testApp';
import { invokeActivity, messageActivity, testUser, type TestUser } from './helpers/activities';
import { Chat, buttonData, cardsIn, textOf, type CardJson } from './helpers/chat';
import { FakeBotFramework } from './helpers/fakeBotFramework';
import { FakeEntra } from './helpers/fakeEntra';
import { FakeGraph } from './helpers/fakeGraph';
import { enc } from '../src/delivery/deliveryStore';

// Not the app id of organization.e2e or userText.e2e: the SDK caches the bot's own access token per app id in the
// process, and a token from another suite's Bot Framework stand-in is refused by this one's.
const APP_ID = '5b1e7c42-9d3a-4f1e-8c2b-0a6d4e9f1c17';
const APP_PASSWORD = 'test-password-not-a-secret';
const CONNECTION = 'sso';
const CONTOSO = 'a1b2c3d4-0000-4000-8000-00000000c0de';

/** The message in a Post it card's box. */
const postTextOf = (card: CardJson): unknown => (card['body'] as CardJson[]).find((e) => e['id'] === 'postText')?.['value'];

/**
 * Issue 17: an organization admin's `export <group>` typed while she has a current group is an export, never a
 * post (the activity's tenant cannot say which groups she may export; the verified sign-in does). With SSO and
 * channel authentication on, as test/organization.e2e.test.ts sets them up.
 */
describe('Commands of organization admins with a current group, end to end', function () {
  this.timeout(30_000);
  let bf: FakeBotFramework;
  let entra: FakeEntra;
  let graph: FakeGraph;
  let t: TestApp;
  let chat: Chat;

  before(async () => {
    bf = await FakeBotFramework.start({ appId: APP_ID, appPassword: APP_PASSWORD });
    entra = await FakeEntra.start();
    graph = await FakeGraph.start({ appId: APP_ID, appPassword: APP_PASSWORD, organizations: { [CONTOSO]: 'Contoso Field Services' } });
    t = await startTestApp({
      MicrosoftAppId: APP_ID,
      MicrosoftAppPassword: APP_PASSWORD,
      ...bf.endpoints,
      SSO_CONNECTION_NAME: CONNECTION,
      ENTRA_OPENID_METADATA_URL: entra.metadataUrl,
      ENTRA_AUTHORITY_HOST: graph.authorityHost,
      GRAPH_BASE_URL: graph.graphBaseUrl,
      ORG_ADMIN_OBJECT_IDS: '',
    });
    chat = new Chat(t, async () => ({
      authorization: `Bearer ${await bf.signChannelToken(bf.channelClaims({ aud: APP_ID, serviceUrl: t.channel.serviceUrl }))}`,
    }));
  });
  after(async () => {
    await t.stop();
    await Promise.all([bf.close(), entra.close(), graph.close()]);
  });

  const ssoToken = (user: TestUser, extra: Parameters<FakeEntra['ssoClaims']>[0] = {}) =>
    entra.signToken(entra.ssoClaims({ aud: APP_ID, tid: CONTOSO, oid: user.aadObjectId, name: user.name, ...extra }));

  /** A group mapped to Contoso by its owner's verified sign-in. */
  async function contosoGroup(name: string): Promise<string> {
    const owner = testUser(`Owner of ${name}`);
    const groupId = await chat.createGroup(owner, name);
    await chat.submit(owner, 'addToOrganization', { groupId });
    const activity = invokeActivity(t.channel.serviceUrl, owner, 'signin/tokenExchange', {
      id: randomUUID(),
      connectionName: CONNECTION,
      token: await ssoToken(owner),
    });
    await chat.post(activity, `a:personal-${owner.id}`);
    assert.equal((await t.app.groups.getGroup(groupId)).tenantId, CONTOSO);
    return groupId;
  }

  async function posts(groupId: string): Promise<string[]> {
    const out: string[] = [];
    for await (const p of t.app.posts.all(groupId)) out.push(p.text);
    return out;
  }

  it("exports the organization's group an admin names, and posts nothing to her own current group", async () => {
    const fieldOps = await contosoGroup('Field Ops North');
    const admin = testUser('Ida IT');
    const ownGroup = await chat.createGroup(admin, "Ida's Team"); // her current group
    bf.userTokens.set(`${admin.id}|${CONNECTION}`, await ssoToken(admin, { extra: { roles: ['OrgAdmin'] } }));

    const exported = await chat.say(admin, 'export Field Ops North');
    assert.match(textOf(exported), /Export of \*\*Field Ops North\*\*/);
    assert.deepEqual(
      cardsIn(exported).filter((c) => JSON.stringify(c).includes('postIt')),
      [],
      'no Post it beside an export',
    );
    assert.deepEqual(await posts(ownGroup), []);
    assert.deepEqual(await posts(fieldOps), []);

    // A name that finds no group of the organization: said so, with Post it; still nothing posted.
    const missing = await chat.say(admin, 'export the weekly report');
    assert.match(textOf(missing), /Your organization has no group called "the weekly report"/);
    assert.equal(postTextOf(cardsIn(missing).at(-1)!), 'export the weekly report');
    assert.deepEqual(await posts(ownGroup), []);
  });

  it("asks an organization admin before removing someone, and hands the removed member's notice to the engine", async () => {
    const groupId = await contosoGroup('Depot South');
    const owner = (await t.app.groups.listAdmins(groupId))[0]!.user;
    const invite = await t.app.groups.getInvite(groupId, owner);
    const mallory = testUser('Mallory Member');
    await chat.say(mallory, `join ${invite.url}`);
    const admin = testUser('Ida IT');
    await chat.createGroup(admin, 'IT Desk'); // her current group: the command must not be posted there
    bf.userTokens.set(`${admin.id}|${CONNECTION}`, await ssoToken(admin, { extra: { roles: ['OrgAdmin'] } }));

    // Teams says the tenant of the chat, which is the admin's organization (in capitals, as some clients do).
    const typed = messageActivity(t.channel.serviceUrl, admin, { text: 'remove Mallory Member from Depot South' });
    (typed.conversation as Record<string, unknown>).tenantId = CONTOSO.toUpperCase();
    typed.channelData = { tenant: { id: CONTOSO.toUpperCase() } };
    const { sent: ask } = await chat.post(typed, `a:personal-${admin.id}`);
    assert.match(textOf(ask), /Remove Mallory Member from Depot South\?/);
    assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 2, 'nobody removed before the answer');
    const clickId = `act-${randomUUID()}`;
    const done = await chat.submit(admin, 'confirmRemove', buttonData(cardsIn(ask)[0]!, 'confirmRemove'), { id: clickId });
    assert.match(textOf(done), /Mallory Member was removed from \*\*Depot South\*\*/);
    assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 1);
    // "An admin removed you from Depot South." is handed to the delivery engine, keyed by the click (this app's
    // channel authentication keeps the engine off the loopback channel: test/commands.e2e.test.ts sees it arrive).
    const key = enc(`removed|${groupId}|${mallory.aadObjectId}|${clickId}`);
    const deadline = Date.now() + 5_000;
    while (
      !(await t.app.tables.deliveries.getEntity('oneoff', key).then(
        () => true,
        () => false,
      ))
    ) {
      assert.ok(Date.now() < deadline, 'the removed member notice reached the engine');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  it('lets an organization admin add people to any group of her organization from chat, and refuses others plainly', async () => {
    const groupId = await contosoGroup('Depot West');
    const owner = (await t.app.groups.listAdmins(groupId))[0]!.user;
    const invite = await t.app.groups.getInvite(groupId, owner);
    const admin = testUser('Ola Org Admin');
    bf.userTokens.set(`${admin.id}|${CONNECTION}`, await ssoToken(admin, { extra: { roles: ['OrgAdmin'] } }));
    const inContoso = (user: TestUser, fields: Record<string, unknown>) => {
      const activity = messageActivity(t.channel.serviceUrl, user, fields);
      (activity.conversation as Record<string, unknown>).tenantId = CONTOSO;
      activity.channelData = { tenant: { id: CONTOSO } };
      return chat.post(activity, `a:personal-${user.id}`);
    };

    // Not a member of Depot West: her organization's group all the same.
    const { sent: box } = await inContoso(admin, { text: 'add people Depot West' });
    assert.match(textOf(box), /Add people to Depot West/);
    const check = buttonData(cardsIn(box)[0]!, 'checkBulkList');
    assert.equal(check['groupId'], groupId);
    // (Her Check and Add, as an organization admin: test/bulkadd/orgAdminChat.test.ts; this suite's Graph stand-in
    // has no users.)

    // A member who is not an admin, signed in without the role: one clear line, nothing checked.
    const mallory = testUser('Mallory Member West');
    await chat.say(mallory, `join ${invite.url}`);
    bf.userTokens.set(`${mallory.id}|${CONNECTION}`, await ssoToken(mallory));
    const { sent: refused } = await inContoso(mallory, { text: 'add people Depot West' });
    assert.equal(
      textOf(refused).trim(),
      'Only admins of the group, and organization admins for their organization’s groups, can add people.',
    );
    const { sent: clicked } = await inContoso(mallory, { value: { ...check, addresses: 'not an address', addLeavers: 'false' } });
    assert.match(textOf(clicked), /Only admins of the group, and organization admins/);
    assert.doesNotMatch(textOf(clicked), /Check: Depot West/);
    // Someone outside the group without the role: as for any group that is not theirs.
    const stranger = testUser('Sam Stranger');
    bf.userTokens.set(`${stranger.id}|${CONNECTION}`, await ssoToken(stranger));
    const { sent: notTheirs } = await inContoso(stranger, { text: 'add people Depot West' });
    assert.match(textOf(notTheirs), /not in a group called "Depot West"|aren't in any group/);
  });

  it('asks someone not yet signed in to sign in (Post it beside), and never posts', async () => {
    const member = testUser('Mo Member');
    const ownGroup = await chat.createGroup(member, "Mo's Team");
    const answer = await chat.say(member, 'export Field Ops North');
    const oauth = answer.flatMap((s) => s.activity.attachments ?? []).find((a) => a.contentType === 'application/vnd.microsoft.card.oauth');
    assert.ok(oauth, 'the sign-in card');
    assert.equal(postTextOf(cardsIn(answer).at(-1)!), 'export Field Ops North');
    assert.deepEqual(await posts(ownGroup), []);
  });
});
