import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { MemoryStorage, TestAdapter, UserState, type Activity, type Attachment, type Middleware, type TurnContext } from 'botbuilder';
import { DialogContextError, DialogTurnStatus } from 'botbuilder-dialogs';
import { DialogTestClient } from 'botbuilder-testing';
import { ClaimsIdentity, type UserTokenClient } from 'botframework-connector';
import { createBotFrameworkAuthentication, type ChannelAuthConfig } from '../../src/auth/channelAuth';
import { EntraTokenVerifier, ssoAudiences, type VerifiedUser } from '../../src/auth/entraTokenVerifier';
import { DomainOrganizationDirectory } from '../../src/auth/organizationDirectory';
import { ForbiddenError } from '../../src/errors';
import { GroupService } from '../../src/groups/groupService';
import { createLogger } from '../../src/logger';
import { MemoryGroupStore } from '../../src/storage/memoryGroupStore';
import { AddToOrganizationDialog, PENDING_TTL_MS, type OrgAdminRequest, type SignInRequest } from '../../dialogs/addToOrganizationDialog';
import { OrganizationSignInFlow } from '../../dialogs/organizationFlow';
import { deliverSignIn } from '../../dialogs/signInPrompt';
import { userFromActivity } from '../../src/teams/input/identity';
import type { Reply } from '../../src/teams/replies';
import { assertValidCard, literalTexts, markdownTexts } from '../cards/cardTestKit';
import { FakeBotFramework } from '../helpers/fakeBotFramework';
import { FakeEntra, newSigningKey } from '../helpers/fakeEntra';

const APP_ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3d1a';
const APP_PASSWORD = 'test-password-not-a-secret';
const CONNECTION = 'sso';
const CONTOSO = 'a1b2c3d4-0000-4000-8000-00000000c0de';
const FABRIKAM = 'f0f0f0f0-0000-4000-8000-0000000fab00';
const OAUTH_CARD = 'application/vnd.microsoft.card.oauth';

interface Person {
  id: string;
  name: string;
  aadObjectId: string;
}

const person = (name: string): Person => ({ id: `29:${randomUUID()}`, name, aadObjectId: randomUUID() });

function textsOf(activities: Array<Partial<Activity>>): string {
  return activities
    .flatMap((a) => [
      a.text ?? '',
      ...(a.attachments ?? [])
        .filter((c) => c.contentType !== OAUTH_CARD)
        .flatMap((c: Attachment) => [...markdownTexts(c), ...literalTexts(c)]),
    ])
    .join('\n');
}

function replyTexts(reply: Reply): string {
  return textsOf([{ text: reply.text, attachments: reply.cards }]);
}

const oauthCardsIn = (activities: Array<Partial<Activity>>) =>
  activities.flatMap((a) => a.attachments ?? []).filter((c) => c.contentType === OAUTH_CARD);

/**
 * Step 3's dialog: the sign-in (a token from the Token Service, verified by a real EntraTokenVerifier against a
 * loopback Entra with keys this test generated), then the mapping by the domain over the in-memory group store.
 * The Token Service is the loopback Bot Framework stand-in, reached by the SDK's own UserTokenClient.
 */
describe('AddToOrganizationDialog (add to organization, with its sign-in step)', function () {
  this.timeout(20_000);
  let bf: FakeBotFramework;
  let entra: FakeEntra;
  let verifier: EntraTokenVerifier;
  let tokenClient: UserTokenClient;
  let groups: GroupService;
  let clock: number;
  let orgAdminRequests: Array<{ request: OrgAdminRequest; user: VerifiedUser }>;
  const logger = createLogger({ level: 'silent' });

  before(async () => {
    [bf, entra] = await Promise.all([FakeBotFramework.start({ appId: APP_ID, appPassword: APP_PASSWORD }), FakeEntra.start()]);
    verifier = new EntraTokenVerifier({
      metadataUrl: entra.metadataUrl,
      audiences: ssoAudiences(APP_ID),
      requiredScope: 'access_as_user',
      clockSkewSeconds: 300,
      v1IssuerTemplate: entra.v1IssuerTemplate,
    });
    const config = {
      MicrosoftAppId: APP_ID,
      MicrosoftAppPassword: APP_PASSWORD,
      MicrosoftAppType: 'MultiTenant',
      ...bf.endpoints,
    } as ChannelAuthConfig;
    tokenClient = await createBotFrameworkAuthentication(config).createUserTokenClient(
      new ClaimsIdentity([{ type: 'aud', value: APP_ID }], true),
    );
  });
  after(async () => {
    await Promise.all([bf.close(), entra.close()]);
  });
  beforeEach(() => {
    groups = new GroupService({
      store: new MemoryGroupStore(),
      appSecret: randomBytes(24).toString('hex'),
      publicUrl: 'https://bot.example',
    });
    clock = Date.now();
    orgAdminRequests = [];
  });

  const sso = () => ({ connectionName: CONNECTION, verifier, directory: new DomainOrganizationDirectory() });
  const dialog = () =>
    new AddToOrganizationDialog({
      groups,
      sso: sso(),
      logger,
      now: () => clock,
      orgAdmin: async (_context, request, user) => {
        orgAdminRequests.push({ request, user });
        return { text: `${request.kind} for ${user.tenantId}`, cards: [] };
      },
    });

  const ssoToken = (who: Person, tid: string, extra: Parameters<FakeEntra['ssoClaims']>[0] = {}) =>
    entra.signToken(
      entra.ssoClaims({
        aud: APP_ID,
        tid,
        oid: who.aadObjectId,
        name: who.name,
        preferredUsername: `${who.name.split(' ')[0]}@contoso.example`,
        ...extra,
      }),
    );
  /** The user signed in before: the Token Service has their token. */
  const signedInBefore = async (who: Person, token: string) => void bf.userTokens.set(`${who.id}|${CONNECTION}`, token);
  /** The code the sign-in card's page gives the user; verifyState brings it back. */
  const magicCode = async (token: string) => {
    const code = String(100000 + Math.floor(Math.random() * 900000));
    bf.userTokens.set(`code|${code}`, token);
    return code;
  };

  async function groupOwnedBy(owner: Person, name = 'Field Sales North'): Promise<string> {
    const group = await groups.createGroup({ name, creator: { id: owner.aadObjectId, name: owner.name }, idempotencyKey: randomUUID() });
    return group.id;
  }

  /** What CloudAdapter does for each turn: the Token Service client for the bot's app id, under the adapter's key. */
  const tokenService: Middleware = {
    async onTurn(context, next) {
      const adapter = context.adapter as TestAdapter & { UserTokenClientKey?: symbol };
      adapter.UserTokenClientKey ??= Symbol('UserTokenClient');
      context.turnState.set(adapter.UserTokenClientKey, tokenClient);
      await next();
    },
  };

  /** What the bot's signin/verifyState handler does before the dialog continues: the code's token, verified. */
  const verifyState: Middleware = {
    async onTurn(context, next) {
      const { activity } = context;
      if (activity.type === 'invoke' && activity.name === 'signin/verifyState') {
        const code = String((activity.value as { state?: string }).state);
        const response = await tokenClient.getUserToken(activity.from.id, CONNECTION, activity.channelId, code).catch(() => undefined);
        const user = response?.token ? await verifier.verify(response.token).catch(() => undefined) : undefined;
        if (user && response?.token) deliverSignIn(context, { user, token: response.token, idempotencyKey: `verify:${activity.id}` });
      }
      await next();
    },
  };

  const client = (request: SignInRequest) => new DialogTestClient('msteams', dialog(), request, [tokenService, verifyState]);
  const mapRequest = (groupId: string): SignInRequest => ({ kind: 'map', groupId, requestedAt: new Date(clock).toISOString() });
  const ask = (who: Person): Partial<Activity> => ({ type: 'message', text: 'add to organization', from: who });
  const verify = (who: Person, code: string): Partial<Activity> => ({
    type: 'invoke',
    name: 'signin/verifyState',
    value: { state: code },
    from: who,
  });

  async function turn(c: DialogTestClient, activity: Partial<Activity>): Promise<Array<Partial<Activity>>> {
    const sent: Array<Partial<Activity>> = [];
    for (let next = await c.sendActivity(activity); next; next = c.getNextReply()) sent.push(next);
    return sent;
  }

  /** The dialog's answer when it completed in this turn. */
  function answerOf(c: DialogTestClient): Reply {
    assert.equal(c.dialogTurnResult.status, DialogTurnStatus.complete);
    return c.dialogTurnResult.result as Reply;
  }

  it('maps the group at once to the tenant of the verified token when the user signed in before', async () => {
    const owner = person('Olga Owner');
    const groupId = await groupOwnedBy(owner);
    await signedInBefore(owner, await ssoToken(owner, CONTOSO));
    const c = client(mapRequest(groupId));
    assert.deepEqual(oauthCardsIn(await turn(c, ask(owner))), [], 'no sign-in card');
    const reply = answerOf(c);
    assert.equal(reply.cards.length, 1);
    assertValidCard(reply.cards[0]!);
    // The verified domain as it is: the text rule's defanging is for what people type, not for what they proved.
    assert.match(replyTexts(reply), /is now owned by \ncontoso\.example$/);
    assert.doesNotMatch(replyTexts(reply), /\[\.\]/);
    assert.match(replyTexts(reply), /Field Sales North/);
    const group = await groups.getGroup(groupId);
    assert.equal(group.tenantId, CONTOSO);
    assert.equal(group.status, 'organization');
  });

  it('sends the sign-in card and waits, mapping nothing, when the Token Service has no token for the user', async () => {
    const owner = person('Olga Owner');
    const groupId = await groupOwnedBy(owner);
    const c = client(mapRequest(groupId));
    const [card] = oauthCardsIn(await turn(c, ask(owner)));
    assert.equal((card?.content as { connectionName?: string } | undefined)?.connectionName, CONNECTION);
    assert.equal(c.dialogTurnResult.status, DialogTurnStatus.waiting);
    assert.equal((await groups.getGroup(groupId)).tenantId, undefined);
  });

  describe('treats a token the verifier refuses as no sign-in: the card, and nothing mapped', () => {
    const refused: Array<[string, (who: Person) => Promise<string>]> = [
      [
        'signed with a key Entra does not publish',
        async (who) =>
          entra.signToken(entra.ssoClaims({ aud: APP_ID, tid: CONTOSO, oid: who.aadObjectId }), {
            key: (await newSigningKey()).privateKey,
          }),
      ],
      ['expired', (who) => ssoToken(who, CONTOSO, { expiresIn: -600 })],
      ['for another app', (who) => ssoToken(who, CONTOSO, { aud: 'api://someone-else' })],
    ];
    for (const [label, token] of refused) {
      it(label, async () => {
        const owner = person('Olga Owner');
        const groupId = await groupOwnedBy(owner);
        await signedInBefore(owner, await token(owner));
        const c = client(mapRequest(groupId));
        assert.equal(oauthCardsIn(await turn(c, ask(owner))).length, 1);
        assert.equal(c.dialogTurnResult.status, DialogTurnStatus.waiting);
        assert.equal((await groups.getGroup(groupId)).tenantId, undefined);
      });
    }
  });

  it('completes the waiting request once the user signs in with the card, and maps to the verified tenant', async () => {
    const owner = person('Olga Owner');
    const groupId = await groupOwnedBy(owner);
    const c = client(mapRequest(groupId));
    await turn(c, ask(owner));
    await turn(c, verify(owner, await magicCode(await ssoToken(owner, CONTOSO))));
    assert.match(replyTexts(answerOf(c)), /is now owned by \ncontoso\.example$/);
    assert.equal((await groups.getGroup(groupId)).tenantId, CONTOSO);
    const audit = await groups.auditTrail(groupId);
    assert.equal(audit.items.filter((a) => a.action === 'mapped').length, 1);
  });

  it('keeps waiting when a sign-in does not verify', async () => {
    const owner = person('Olga Owner');
    const groupId = await groupOwnedBy(owner);
    const c = client(mapRequest(groupId));
    await turn(c, ask(owner));
    await turn(c, verify(owner, await magicCode(await ssoToken(owner, CONTOSO, { scp: 'User.Read' }))));
    assert.equal(c.dialogTurnResult.status, DialogTurnStatus.waiting);
    assert.equal((await groups.getGroup(groupId)).tenantId, undefined);
    await turn(c, verify(owner, await magicCode(await ssoToken(owner, CONTOSO))));
    assert.equal((await groups.getGroup(groupId)).tenantId, CONTOSO);
  });

  it('refuses a token for another account than the one in the chat', async () => {
    const owner = person('Olga Owner');
    const groupId = await groupOwnedBy(owner);
    const c = client(mapRequest(groupId));
    await turn(c, ask(owner));
    await turn(c, verify(owner, await magicCode(await ssoToken(person('Someone Else'), CONTOSO))));
    assert.match(answerOf(c).text ?? '', /signed in with a different account/);
    assert.equal((await groups.getGroup(groupId)).tenantId, undefined);
  });

  it('lets the domain refuse a member who is not an admin of the group', async () => {
    const owner = person('Olga Owner');
    const member = person('Mallory Member');
    const groupId = await groupOwnedBy(owner);
    const invite = await groups.getInvite(groupId, { id: owner.aadObjectId, name: owner.name });
    await groups.join({ ref: invite.url, user: { id: member.aadObjectId, name: member.name } });
    await signedInBefore(member, await ssoToken(member, CONTOSO));
    await assert.rejects(turn(client(mapRequest(groupId)), ask(member)), (err: unknown) => {
      // botbuilder wraps what a dialog throws; OrganizationSignIn unwraps it for the refusal card.
      assert.ok(err instanceof DialogContextError && err.error instanceof ForbiddenError);
      return true;
    });
    assert.equal((await groups.getGroup(groupId)).tenantId, undefined);
  });

  it('says to ask again, mapping nothing, when the sign-in comes more than 15 minutes after the request', async () => {
    const owner = person('Olga Owner');
    const groupId = await groupOwnedBy(owner);
    const c = client(mapRequest(groupId));
    await turn(c, ask(owner));
    clock += PENDING_TTL_MS + 1000;
    await turn(c, verify(owner, await magicCode(await ssoToken(owner, CONTOSO))));
    assert.match(answerOf(c).text ?? '', /choose \*\*Add to organization\*\* again/);
    assert.equal((await groups.getGroup(groupId)).tenantId, undefined);
  });

  it("hands an organization admin's request back once they are signed in, with the verified user", async () => {
    const admin = person('Ida IT');
    const c = client({ kind: 'export', groupName: 'Field Sales North', requestedAt: new Date(clock).toISOString() });
    assert.equal(oauthCardsIn(await turn(c, { type: 'message', text: 'export Field Sales North', from: admin })).length, 1);
    assert.equal(orgAdminRequests.length, 0);
    await turn(c, verify(admin, await magicCode(await ssoToken(admin, FABRIKAM, { extra: { roles: ['OrgAdmin'] } }))));
    assert.equal(answerOf(c).text, `export for ${FABRIKAM}`);
    assert.deepEqual(
      orgAdminRequests.map(({ request, user }) => [request.kind, user.objectId, user.roles]),
      [['export', admin.aadObjectId, ['OrgAdmin']]],
    );
  });

  /**
   * The bot runs the dialog in the user's own state through OrganizationSignInFlow: the start, the verifyState
   * handler (dedup, the code's token, verification) and the answers it sends.
   */
  describe("in the user's own state, through the organization flow", () => {
    let userState: UserState;
    let flow: OrganizationSignInFlow;
    let adapter: TestAdapter;
    const claimed = new Set<string>();

    beforeEach(() => {
      userState = new UserState(new MemoryStorage());
      flow = new OrganizationSignInFlow({
        groups,
        userState,
        logger,
        orgAdminObjectIds: [],
        exportLinks: () => ({ jsonUrl: 'https://bot.example/x.json', csvUrl: 'https://bot.example/x.csv', expiresAt: new Date() }),
        sso: { ...sso(), dedup: { tryClaim: async (key) => !claimed.has(key) && Boolean(claimed.add(key)) } },
      });
      adapter = new TestAdapter(async (context: TurnContext) => {
        const { activity } = context;
        if (activity.type === 'invoke') await flow.onVerifyState(context);
        else {
          const user = userFromActivity(activity);
          const reply = await flow.start(
            context,
            { user, activityId: activity.id ?? '' },
            String((activity.value as { groupId: string }).groupId),
          );
          await context.sendActivity({ text: reply.text, attachments: reply.cards });
        }
        await userState.saveChanges(context);
      }).use(tokenService);
    });

    async function send(activity: Partial<Activity>): Promise<Array<Partial<Activity>>> {
      await adapter.receiveActivity(activity);
      return adapter.activityBuffer.splice(0);
    }
    const tap = (who: Person, groupId: string) => send({ type: 'message', value: { verb: 'addToOrganization', groupId }, from: who });

    it('lets a second request replace the one waiting for sign-in', async () => {
      const owner = person('Olga Owner');
      const first = await groupOwnedBy(owner, 'First');
      const second = await groupOwnedBy(owner, 'Second');
      assert.equal(oauthCardsIn(await tap(owner, first)).length, 1);
      assert.equal(oauthCardsIn(await tap(owner, second)).length, 1);
      const sent = await send(verify(owner, await magicCode(await ssoToken(owner, CONTOSO))));
      assert.match(textsOf(sent), /Second/);
      assert.equal((await groups.getGroup(second)).tenantId, CONTOSO);
      assert.equal((await groups.getGroup(first)).tenantId, undefined);
    });

    it('says to ask again when a sign-in arrives with nothing waiting', async () => {
      const owner = person('Olga Owner');
      const sent = await send(verify(owner, await magicCode(await ssoToken(owner, CONTOSO))));
      assert.match(textsOf(sent), /You are signed in\. Open Group Info and choose \*\*Add to organization\*\* again/);
    });

    it('shows a refusal after sign-in as its card and leaves nothing waiting', async () => {
      const owner = person('Olga Owner');
      const groupId = await groupOwnedBy(owner);
      await tap(owner, groupId);
      // Meanwhile another organization took the group: mapping is one-way.
      await groups.mapToOrganization({
        groupId,
        actor: { id: owner.aadObjectId, name: owner.name },
        verified: { tenantId: FABRIKAM, objectId: owner.aadObjectId, organizationName: 'Fabrikam' },
        idempotencyKey: 'x',
      });
      const refused = await send(verify(owner, await magicCode(await ssoToken(owner, CONTOSO))));
      assert.match(textsOf(refused), /another organization/);
      const again = await send(verify(owner, await magicCode(await ssoToken(owner, CONTOSO))));
      assert.match(textsOf(again), /choose \*\*Add to organization\*\* again/);
      assert.equal((await groups.getGroup(groupId)).tenantId, FABRIKAM);
    });

    it('completes a redelivered verifyState once', async () => {
      const owner = person('Olga Owner');
      const groupId = await groupOwnedBy(owner);
      await tap(owner, groupId);
      const code = await magicCode(await ssoToken(owner, CONTOSO));
      const redelivery: Partial<Activity> = { ...verify(owner, code), id: 'same-verify' };
      assert.match(textsOf(await send({ ...redelivery })), /is now owned by \ncontoso\.example$/);
      assert.deepEqual(await send({ ...redelivery }), []);
      assert.equal((await groups.auditTrail(groupId)).items.filter((a) => a.action === 'mapped').length, 1);
    });
  });
});
