import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from './helpers/testApp';
import { invokeActivity, messageActivity, testUser, type TestUser } from './helpers/activities';
import { Chat, buttonData, cardsIn, textOf } from './helpers/chat';
import { FakeBotFramework } from './helpers/fakeBotFramework';
import { FakeEntra, newSigningKey } from './helpers/fakeEntra';
import { FakeGraph } from './helpers/fakeGraph';

const APP_ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const APP_PASSWORD = 'test-password-not-a-secret';
const CONNECTION = 'sso';
const CONTOSO = 'a1b2c3d4-0000-4000-8000-00000000c0de';
const FABRIKAM = 'f0f0f0f0-0000-4000-8000-0000000fab00';

/**
 * Step 3 end to end with channel authentication ON: every activity carries a Bot Framework token signed by keys
 * the test generated; Teams SSO tokens are signed by a loopback Entra; the Token Service and Graph are loopback
 * stand-ins that speak their real protocols.
 */
describe('Add to organization (step 3), end to end with Teams SSO', function () {
  this.timeout(30_000);
  let bf: FakeBotFramework;
  let entra: FakeEntra;
  let graph: FakeGraph;
  let t: TestApp;
  let chat: Chat;

  before(async () => {
    bf = await FakeBotFramework.start({ appId: APP_ID, appPassword: APP_PASSWORD });
    entra = await FakeEntra.start();
    graph = await FakeGraph.start({
      appId: APP_ID,
      appPassword: APP_PASSWORD,
      organizations: { [CONTOSO]: 'Contoso Field Services', [FABRIKAM]: 'Fabrikam' },
    });
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

  const ssoToken = (user: TestUser, tid: string, extra: Parameters<FakeEntra['ssoClaims']>[0] = {}) =>
    entra.signToken(
      entra.ssoClaims({
        aud: APP_ID,
        tid,
        oid: user.aadObjectId,
        name: user.name,
        preferredUsername: `${user.name.split(' ')[0]}@contoso.example`,
        ...extra,
      }),
    );

  /** Taps Add to organization; returns the sign-in card the bot sent. */
  async function askToMap(owner: TestUser, groupId: string) {
    const sent = await chat.submit(owner, 'addToOrganization', { groupId });
    const oauth = sent.flatMap((s) => s.activity.attachments ?? []).find((a) => a.contentType === 'application/vnd.microsoft.card.oauth');
    return { sent, oauth };
  }

  function exchangeInvoke(owner: TestUser, token: string, id = randomUUID(), tenantInActivity?: string) {
    const activity = invokeActivity(t.channel.serviceUrl, owner, 'signin/tokenExchange', { id, connectionName: CONNECTION, token });
    if (tenantInActivity) {
      (activity.conversation as Record<string, unknown>).tenantId = tenantInActivity;
      activity.channelData = { tenant: { id: tenantInActivity } };
    }
    return chat.post(activity, `a:personal-${owner.id}`);
  }

  it('signs the admin in with SSO and maps the group to the tenant of the verified token', async () => {
    const owner = testUser('Olga Owner');
    const groupId = await chat.createGroup(owner, 'Field Sales North');
    const { oauth } = await askToMap(owner, groupId);
    assert.ok(oauth, 'a sign-in card (OAuthCard) is sent');
    assert.equal((oauth!.content as { connectionName: string }).connectionName, CONNECTION);
    const res = await exchangeInvoke(owner, await ssoToken(owner, CONTOSO));
    assert.equal(res.status, 200);
    assert.match(textOf(res.sent), /Contoso Field Services/);
    const group = await t.app.groups.getGroup(groupId);
    assert.equal(group.tenantId, CONTOSO);
    assert.equal(group.status, 'organization');
    assert.match(textOf(await chat.submit(owner, 'showGroupInfo', { groupId })), /Owned by\s*Contoso Field Services/);
    const audit = await t.app.groups.auditTrail(groupId);
    assert.ok(audit.items.some((a) => a.action === 'mapped'));
  });

  it("maps to the token's tenant even when the activity claims another tenant", async () => {
    const owner = testUser();
    const groupId = await chat.createGroup(owner, 'Tenant Check');
    await askToMap(owner, groupId);
    const res = await exchangeInvoke(owner, await ssoToken(owner, CONTOSO), randomUUID(), FABRIKAM);
    assert.equal(res.status, 200);
    assert.equal((await t.app.groups.getGroup(groupId)).tenantId, CONTOSO);
  });

  it('maps once when Teams sends the same exchange from three clients at once', async () => {
    const owner = testUser();
    const groupId = await chat.createGroup(owner, 'Three Clients');
    await askToMap(owner, groupId);
    const token = await ssoToken(owner, CONTOSO);
    const id = randomUUID();
    const results = await Promise.all([1, 2, 3].map(() => exchangeInvoke(owner, token, id)));
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 200],
    );
    const audit = await t.app.groups.auditTrail(groupId);
    assert.equal(audit.items.filter((a) => a.action === 'mapped').length, 1);
    const confirmations = t.channel.to(`a:personal-${owner.id}`).filter((s) => textOf([s]).includes('Contoso Field Services'));
    assert.equal(confirmations.length, 1);
  });

  describe('maps nothing for a forged or unusable token, and answers 412 so Teams falls back to the card', () => {
    const forgeries: Array<[string, (owner: TestUser) => Promise<string>]> = [
      ['alg: none', (o) => entra.signToken(entra.ssoClaims({ aud: APP_ID, tid: CONTOSO, oid: o.aadObjectId }), { alg: 'none' })],
      [
        'HS256 keyed with the public key',
        async (o) =>
          entra.signToken(entra.ssoClaims({ aud: APP_ID, tid: CONTOSO, oid: o.aadObjectId }), {
            alg: 'HS256',
            key: Buffer.from(await entra.publicKeyPem()),
          }),
      ],
      [
        'a key not in the set, with the published kid',
        async (o) =>
          entra.signToken(entra.ssoClaims({ aud: APP_ID, tid: CONTOSO, oid: o.aadObjectId }), { key: (await newSigningKey()).privateKey }),
      ],
      [
        'an unknown kid',
        async (o) => {
          const k = await newSigningKey();
          return entra.signToken(entra.ssoClaims({ aud: APP_ID, tid: CONTOSO, oid: o.aadObjectId }), { key: k.privateKey, kid: k.kid });
        },
      ],
      ['the wrong audience', (o) => ssoToken(o, CONTOSO, { aud: 'api://someone-else' })],
      ['an issuer that does not match tid', (o) => ssoToken(o, CONTOSO, { iss: entra.issuerFor(FABRIKAM) })],
      ['an expiry past the 5-minute skew', (o) => ssoToken(o, CONTOSO, { expiresIn: -600 })],
      ['no access_as_user scope', (o) => ssoToken(o, CONTOSO, { scp: 'User.Read' })],
    ];
    for (const [label, forge] of forgeries) {
      it(label, async () => {
        const owner = testUser();
        const groupId = await chat.createGroup(owner, `Forgery ${label}`);
        await askToMap(owner, groupId);
        const res = await exchangeInvoke(owner, await forge(owner));
        assert.equal(res.status, 412);
        assert.match(res.body, /failureDetail/);
        const group = await t.app.groups.getGroup(groupId);
        assert.equal(group.tenantId, undefined);
        assert.equal(group.status, 'private');
      });
    }
  });

  it('answers 412 with a failure detail when the Token Service cannot exchange (consent needed)', async () => {
    const owner = testUser();
    const groupId = await chat.createGroup(owner, 'Needs Consent');
    await askToMap(owner, groupId);
    bf.exchangeBehaviour = () => ({ ok: false, status: 400 });
    try {
      const res = await exchangeInvoke(owner, await ssoToken(owner, CONTOSO));
      assert.equal(res.status, 412);
      assert.deepEqual(Object.keys(JSON.parse(res.body)).sort(), ['connectionName', 'failureDetail', 'id']);
    } finally {
      bf.exchangeBehaviour = () => ({ ok: true });
    }
    assert.equal((await t.app.groups.getGroup(groupId)).tenantId, undefined);
  });

  it('completes through the sign-in card (verifyState with a magic code) when SSO is not possible', async () => {
    const owner = testUser();
    const groupId = await chat.createGroup(owner, 'Card Sign In');
    await askToMap(owner, groupId);
    bf.userTokens.set('code|123456', await ssoToken(owner, CONTOSO));
    const res = await chat.post(
      invokeActivity(t.channel.serviceUrl, owner, 'signin/verifyState', { state: '123456' }),
      `a:personal-${owner.id}`,
    );
    assert.equal(res.status, 200);
    assert.equal((await t.app.groups.getGroup(groupId)).tenantId, CONTOSO);
  });

  it('explains a signin/failure from Teams', async () => {
    const owner = testUser();
    const res = await chat.post(
      invokeActivity(t.channel.serviceUrl, owner, 'signin/failure', { code: 'resourcematchfailed', message: 'x' }),
      `a:personal-${owner.id}`,
    );
    assert.equal(res.status, 200);
    assert.match(textOf(res.sent), /Application ID URI/);
  });

  it('does not let a member who is not an admin map the group', async () => {
    const owner = testUser();
    const groupId = await chat.createGroup(owner, 'Admins Map');
    const invite = await t.app.groups.getInvite(groupId, { id: owner.aadObjectId, name: owner.name });
    const member = testUser();
    await chat.say(member, `join ${invite.url}`);
    const { sent, oauth } = await askToMap(member, groupId);
    assert.equal(oauth, undefined);
    assert.match(textOf(sent), /Only group admins/);
  });

  it('keeps mapping one-way: a group owned by one tenant cannot be taken by another', async () => {
    const owner = testUser();
    const groupId = await chat.createGroup(owner, 'One Way');
    await askToMap(owner, groupId);
    await exchangeInvoke(owner, await ssoToken(owner, CONTOSO));
    assert.match(textOf((await askToMap(owner, groupId)).sent), /already owned by Contoso/);
    // Even a direct attempt with another tenant's verified identity is refused by the domain.
    await assert.rejects(
      t.app.groups.mapToOrganization({
        groupId,
        actor: { id: owner.aadObjectId, name: owner.name },
        verified: { tenantId: FABRIKAM, objectId: owner.aadObjectId, organizationName: 'Fabrikam' },
        idempotencyKey: 'x',
      }),
      /another organization/,
    );
    assert.equal((await t.app.groups.getGroup(groupId)).tenantId, CONTOSO);
  });

  it('refuses a token for another account than the one in the chat', async () => {
    const owner = testUser();
    const groupId = await chat.createGroup(owner, 'Whose Token');
    await askToMap(owner, groupId);
    const stranger = testUser();
    const res = await exchangeInvoke(owner, await ssoToken(stranger, CONTOSO));
    assert.equal(res.status, 200);
    assert.match(textOf(res.sent), /different account/);
    assert.equal((await t.app.groups.getGroup(groupId)).tenantId, undefined);
  });

  describe('organization admins', () => {
    it('lists every group the tenant owns and exports one as JSON and formula-escaped CSV', async () => {
      const owner = testUser('Olga Owner');
      const groupId = await chat.createGroup(owner, '=HYPERLINK("https://evil")');
      await askToMap(owner, groupId);
      await exchangeInvoke(owner, await ssoToken(owner, CONTOSO));
      await chat.say(owner, 'Our first post'); // the conversation is the organization's too

      const admin = testUser('Ida IT');
      bf.userTokens.set(`${admin.id}|${CONNECTION}`, await ssoToken(admin, CONTOSO, { extra: { roles: ['OrgAdmin'] } }));
      const list = await chat.say(admin, 'org groups');
      assert.match(textOf(list), /HYPERLINK/);
      const exported = textOf(await chat.say(admin, `export ${groupId}`));
      const csvUrl = /\((http[^)]+export\.csv[^)]+)\)/.exec(exported)?.[1];
      const jsonUrl = /\((http[^)]+export\.json[^)]+)\)/.exec(exported)?.[1];
      assert.ok(csvUrl && jsonUrl, exported);
      const csv = await (await fetch(csvUrl.replace(t.config.PUBLIC_URL, t.app.url))).text();
      assert.match(csv, /"'=HYPERLINK\(""https:\/\/evil""\)"/);
      assert.match(csv, /"member",.*"Olga Owner","admin"/);
      assert.match(csv, /"audit",.*"mapped"/);
      assert.match(csv, /"post",.*"Olga Owner","","post",.*"Our first post","1"/);
      const json = (await (await fetch(jsonUrl.replace(t.config.PUBLIC_URL, t.app.url))).json()) as {
        group: { tenantId: string };
        members: unknown[];
      };
      assert.equal(json.group.tenantId, CONTOSO);
      assert.equal(json.members.length, 1);
      assert.deepEqual(
        (json as unknown as { posts: Array<{ text: string }> }).posts.map((p) => p.text),
        ['Our first post'],
      );
      const tampered = await fetch(csvUrl.replace(t.config.PUBLIC_URL, t.app.url).replace(/group=[^&]+/, 'group=other'));
      assert.equal(tampered.status, 403);
      const exports = (await t.app.groups.auditTrail(groupId)).items.filter((a) => a.action === 'exported');
      assert.deepEqual(exports.map((e) => [e.actor.name, e.detail]).sort(), [
        ['Ida IT', 'csv'],
        ['Ida IT', 'json'],
      ]);
    });

    it("names the organization plainly in org groups: the mapping's name, or the sign-in's verified domain before any group", async () => {
      const admin = testUser('Nia Newtenant');
      const tenant = randomUUID();
      bf.userTokens.set(`${admin.id}|${CONNECTION}`, await ssoToken(admin, tenant, { extra: { roles: ['OrgAdmin'] } }));
      const card = cardsIn(await chat.say(admin, 'org groups'))[0]!;
      assert.match(textOf(card), /Groups owned by\s*contoso\.example/);
      assert.doesNotMatch(JSON.stringify(card), /contoso\[\.\]example/, 'a verified domain is not defanged');
      assert.match(textOf(card), /No group has been added/);
    });

    it('lets an organization admin remove a member from a group the organization owns', async () => {
      const owner = testUser('Olga Owner');
      const groupId = await chat.createGroup(owner, 'Org Removal');
      await askToMap(owner, groupId);
      await exchangeInvoke(owner, await ssoToken(owner, CONTOSO));
      const invite = await t.app.groups.getInvite(groupId, { id: owner.aadObjectId, name: owner.name });
      const member = testUser('Mallory Member');
      await chat.say(member, `join ${invite.url}`);

      const admin = testUser('Ida IT');
      bf.userTokens.set(`${admin.id}|${CONNECTION}`, await ssoToken(admin, CONTOSO, { extra: { roles: ['OrgAdmin'] } }));
      // Asked first (issue 17), as a group admin is.
      const ask = await chat.say(admin, 'remove Mallory Member from Org Removal');
      assert.match(textOf(ask), /Remove Mallory Member from Org Removal\?/);
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 2);
      assert.match(textOf(await chat.submit(admin, 'confirmRemove', buttonData(cardsIn(ask)[0]!, 'confirmRemove'))), /was removed/);
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 1);
      // Someone else pressing that card's button removes nobody.
      const stranger = testUser('Sam Stranger');
      assert.match(textOf(await chat.submit(stranger, 'confirmRemove', { groupId, userId: owner.aadObjectId })), /not allowed/);
      // Removed means removed: the old link no longer lets Mallory in, and the group's admin sees why.
      assert.match(
        textOf(await chat.say(member, `join ${invite.url}`)),
        /An admin removed you from Org Removal\. Ask an admin to let you back in\./,
      );
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 1);
      const members = cardsIn(await chat.submit(owner, 'showMembers', { groupId }))[0]!;
      assert.equal(buttonData(members, 'allowMember').userId, member.aadObjectId);

      const otherTenantAdmin = testUser('Fay Fabrikam');
      bf.userTokens.set(
        `${otherTenantAdmin.id}|${CONNECTION}`,
        await ssoToken(otherTenantAdmin, FABRIKAM, { extra: { roles: ['OrgAdmin'] } }),
      );
      assert.match(textOf(await chat.say(otherTenantAdmin, 'remove Olga Owner from Org Removal')), /no group called/);
    });

    it('tells everyone else plainly that they are not allowed', async () => {
      const user = testUser();
      bf.userTokens.set(`${user.id}|${CONNECTION}`, await ssoToken(user, CONTOSO));
      assert.match(textOf(await chat.say(user, 'org groups')), /not allowed/);
      assert.match(textOf(await chat.say(user, 'export Anything')), /not allowed/);
    });
  });

  describe('channel authentication on /api/messages', () => {
    const post = async (authorization?: string, serviceUrl?: string) => {
      const user = testUser();
      const headers: Record<string, string> = authorization ? { authorization } : {};
      return t.post(messageActivity(serviceUrl ?? t.channel.serviceUrl, user, { text: 'help' }), headers);
    };
    const claims = (input: Parameters<FakeBotFramework['channelClaims']>[0] = {}) =>
      bf.channelClaims({ aud: APP_ID, serviceUrl: t.channel.serviceUrl, ...input });

    it('accepts a valid channel token', async () => {
      assert.equal((await post(`Bearer ${await bf.signChannelToken(claims())}`)).status, 200);
    });

    const refusals: Array<[string, () => Promise<string | undefined>]> = [
      ['no token', async () => undefined],
      ['the wrong audience', async () => `Bearer ${await bf.signChannelToken(claims({ aud: randomUUID() }))}`],
      [
        'a serviceUrl claim that differs from the activity',
        async () => `Bearer ${await bf.signChannelToken(claims({ serviceUrl: 'https://smba.trafficmanager.net/emea/' }))}`,
      ],
      ['an expired token', async () => `Bearer ${await bf.signChannelToken(claims({ expiresIn: -900 }))}`],
      [
        'an unknown kid',
        async () => {
          const k = await newSigningKey();
          return `Bearer ${await bf.signChannelToken(claims(), { key: k.privateKey, kid: k.kid })}`;
        },
      ],
      ['a forged signature', async () => `Bearer ${await bf.signChannelToken(claims(), { key: (await newSigningKey()).privateKey })}`],
      [
        'an emulator issuer with a random tenant',
        async () => `Bearer ${await bf.signChannelToken(claims({ iss: `https://sts.windows.net/${randomUUID()}/` }))}`,
      ],
    ];
    for (const [label, header] of refusals) {
      it(`answers 401 with no error text for ${label}`, async () => {
        const res = await post(await header());
        assert.equal(res.status, 401);
        assert.equal(res.body, '');
      });
    }
  });
});
