import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from './helpers/testApp';
import { messageActivity, testUser, type TestUser } from './helpers/activities';
import { Chat, buttonData, cardsIn, textOf } from './helpers/chat';
import { validateCard } from '../cards/validate';

const LINK = /https?:\/\/\S+\/join\/[A-Za-z0-9_-]{22}/;
const CODE = /\b[0-9A-Z]{5}-[0-9A-Z]{5}\b/;
const REMOVED = /An admin removed you from .+\. Ask an admin to let you back in\./;

/**
 * Issue 8, items 4 and 5, through /api/messages as Teams sends them: two clicks resetting the same link at
 * once, a burst of join codes, and removed members who stay out until an admin lets them back in.
 */
describe('Races and bans, end to end', () => {
  let t: TestApp;
  let chat: Chat;
  before(async () => {
    t = await startTestApp();
    chat = new Chat(t);
  });
  after(async () => {
    await t.stop();
  });

  async function inviteOf(user: TestUser, groupId: string): Promise<{ link: string; code: string }> {
    const text = textOf(cardsIn(await chat.submit(user, 'showInvite', { groupId }))[0]!);
    return { link: LINK.exec(text)![0], code: CODE.exec(text)![0] };
  }

  /** A message in its own tenant (and, if given, conversation): each test gets its own join-code budget. */
  async function sayIn(user: TestUser, text: string, where: { tenantId: string; conversationId?: string; conversationType?: string }) {
    const conversationId = where.conversationId ?? `a:personal-${user.id}`;
    const activity = messageActivity(t.channel.serviceUrl, user, {
      text,
      conversationId,
      conversationType: where.conversationType ?? 'personal',
    });
    (activity.conversation as Record<string, unknown>).tenantId = where.tenantId;
    activity.channelData = { tenant: { id: where.tenantId } };
    const res = await chat.post(activity, conversationId);
    assert.equal(res.status, 200);
    return res.sent;
  }

  const asUser = (user: TestUser) => ({ id: user.aadObjectId, name: user.name });

  /**
   * Runs requests into one conversation at once; returns the text of each message the bot sent there meanwhile
   * (the answers of parallel requests interleave, so they are read from the channel, one message each).
   */
  async function atOnce(conversationId: string, requests: Array<() => Promise<unknown>>): Promise<string[]> {
    const before = t.channel.to(conversationId).length;
    await Promise.all(requests.map((r) => r()));
    return t.channel
      .to(conversationId)
      .slice(before)
      .filter((s) => s.method === 'POST')
      .map((s) => textOf([s]));
  }

  describe('two clicks on "Yes, reset" for the same link at the same moment', () => {
    it('reset once; both clicks show the link that won, and it works', async () => {
      for (let trial = 0; trial < 3; trial++) {
        const owner = testUser('Olga Owner');
        const groupId = await chat.createGroup(owner, `Double Reset ${trial}`);
        const old = await inviteOf(owner, groupId);
        const data = buttonData(cardsIn(await chat.submit(owner, 'resetLink', { groupId }))[0]!, 'confirmResetLink');
        const click = () => chat.submit(owner, 'confirmResetLink', data);
        const answers = await atOnce(`a:personal-${owner.id}`, [click, click]);
        assert.equal(answers.length, 2);
        assert.equal(answers.filter((a) => /no longer work/.test(a)).length, 1, answers.join('\n---\n'));
        assert.equal(answers.filter((a) => /already reset/.test(a)).length, 1, answers.join('\n---\n'));
        const shown = answers.map((a) => LINK.exec(a)![0]);
        assert.equal(shown[0], shown[1], 'both clicks show the same link');
        assert.notEqual(shown[0], old.link);
        const resets = (await t.app.groups.auditTrail(groupId, { pageSize: 100 })).items.filter((e) => e.action === 'link_reset');
        assert.equal(resets.length, 1);
        assert.match(textOf(await chat.say(testUser(), `join ${shown[0]}`)), /You joined/);
      }
    });

    it('reset once when one click comes as Action.Execute and one as Action.Submit', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Two Clients');
      const data = buttonData(cardsIn(await chat.submit(owner, 'resetLink', { groupId }))[0]!, 'confirmResetLink');
      let executedCard = '';
      // Action.Execute: the lead line is sent to the chat, the invite card comes back in the invoke response.
      const sent = await atOnce(`a:personal-${owner.id}`, [
        async () => (executedCard = textOf((await chat.execute(owner, 'confirmResetLink', data)).body.value as Record<string, unknown>)),
        () => chat.submit(owner, 'confirmResetLink', data),
      ]);
      const everything = [...sent, executedCard].join('\n');
      assert.equal(everything.match(/no longer work/g)?.length, 1, everything);
      assert.equal(everything.match(/already reset/g)?.length, 1, everything);
      const links = new Set(everything.match(new RegExp(LINK.source, 'g')));
      assert.equal(links.size, 1, 'both clicks show the same link');
      assert.equal((await t.app.groups.auditTrail(groupId, { pageSize: 100 })).items.filter((e) => e.action === 'link_reset').length, 1);
    });
  });

  describe('join codes are counted in storage before they are checked', () => {
    it('checks at most 10 of 100 parallel joins from one user; the right code at position 25 does not get in', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Code Burst');
      const { code } = await inviteOf(owner, groupId);
      const guesser = testUser('Gus Guesser');
      const tenantId = randomUUID();
      const replies = await atOnce(
        `a:personal-${guesser.id}`,
        Array.from(
          { length: 100 },
          (_, i) => () => sayIn(guesser, `join ${i === 24 ? code : `ZZZZZ-${String(10000 + i).slice(-5)}`}`, { tenantId }),
        ),
      );
      const checked = replies.filter((r) => /not valid|You joined/.test(r)).length;
      const refused = replies.filter((r) => /Too many invite links or codes/.test(r)).length;
      assert.ok(checked <= 10, `${checked} codes were checked`);
      assert.equal(checked + refused, 100);
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 1, 'the guesser did not get in');
    });

    it('still stops a new aadObjectId per try: by the conversation, and by the tenant across conversations', async () => {
      const tenantId = randomUUID();
      const groupChat = `19:${randomUUID()}@thread.v2`;
      const inChat = await atOnce(
        groupChat,
        Array.from(
          { length: 30 },
          () => () => sayIn(testUser(), 'join ZZZZZ-ZZZZZ', { tenantId, conversationId: groupChat, conversationType: 'groupChat' }),
        ),
      );
      assert.equal(inChat.length, 30);
      assert.ok(inChat.filter((r) => /not valid/.test(r)).length <= 10);

      const otherTenant = randomUUID();
      const alone = await Promise.all(
        Array.from({ length: 30 }, () => sayIn(testUser(), 'join ZZZZZ-ZZZZZ', { tenantId: otherTenant }).then(textOf)),
      );
      assert.ok(alone.filter((r) => /not valid/.test(r)).length <= 10);
      assert.ok(alone.filter((r) => /Too many/.test(r)).length >= 20);
    });

    it('lets joins by link through without counting them', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Link Rush');
      const { link } = await inviteOf(owner, groupId);
      const tenantId = randomUUID();
      const replies = await Promise.all(Array.from({ length: 15 }, () => sayIn(testUser(), `join ${link}`, { tenantId }).then(textOf)));
      assert.equal(replies.filter((r) => /You joined/.test(r)).length, 15);
    });
  });

  describe('removed means removed', () => {
    it('keeps a removed member out by link and code, also after a reset, and tells them why', async () => {
      const owner = testUser('Olga Owner');
      const groupId = await chat.createGroup(owner, 'Night Shift');
      const old = await inviteOf(owner, groupId);
      const ann = testUser('Ann Lee');
      await chat.say(ann, `join ${old.link}`);
      const ask = await chat.say(owner, 'remove Ann Lee from Night Shift');
      assert.match(textOf(ask), /Remove Ann Lee from Night Shift\?/);
      assert.match(
        textOf(await chat.submit(owner, 'confirmRemove', buttonData(cardsIn(ask)[0]!, 'confirmRemove'))),
        /Removed Ann Lee from Night Shift\./,
      );

      const tenantId = randomUUID();
      for (const ref of [old.link, old.code]) {
        assert.match(
          textOf(await sayIn(ann, `join ${ref}`, { tenantId })),
          /An admin removed you from Night Shift\. Ask an admin to let you back in\./,
        );
      }
      await chat.submit(owner, 'confirmResetLink', { groupId });
      const fresh = await inviteOf(owner, groupId);
      assert.notEqual(fresh.link, old.link);
      assert.match(textOf(await chat.say(ann, `join ${fresh.link}`)), REMOVED);
      assert.match(textOf(await chat.submit(ann, 'joinGroup', { inviteCode: fresh.code })), REMOVED);
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 1);
      const audit = (await t.app.groups.auditTrail(groupId, { pageSize: 100 })).items.map((e) => e.action);
      assert.ok(audit.includes('banned'), audit.join(','));
    });

    it('does not ban someone who leaves on their own', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Free To Go');
      const { link } = await inviteOf(owner, groupId);
      const cy = testUser('Cy Leaver');
      await chat.say(cy, `join ${link}`);
      assert.match(textOf(await chat.submit(cy, 'confirmLeave', { groupId })), /You left/);
      assert.match(textOf(await chat.say(cy, `join ${link}`)), /You joined/);
    });

    it('shows admins a "Removed" section with "Let back in"; the button lets them back', async () => {
      const owner = testUser('Olga Owner');
      const groupId = await chat.createGroup(owner, 'Second Chance');
      const { link } = await inviteOf(owner, groupId);
      const bob = testUser('Bob Ray');
      const member = testUser('Mia Member');
      await chat.say(bob, `join ${link}`);
      await chat.say(member, `join ${link}`);
      await chat.submit(owner, 'confirmRemove', { groupId, userId: bob.aadObjectId });

      const forMember = cardsIn(await chat.submit(member, 'showMembers', { groupId }))[0]!;
      assert.ok(!JSON.stringify(forMember).includes('allowMember'), 'members do not see who was removed');
      const forOwner = (await chat.submit(owner, 'showMembers', { groupId })).flatMap((s) => s.activity.attachments ?? []);
      assert.deepEqual(validateCard(forOwner[0]!), []);
      const card = cardsIn(await chat.submit(owner, 'showMembers', { groupId }))[0]!;
      assert.match(textOf(card), /Removed[\s\S]*Bob Ray/);
      assert.deepEqual(buttonData(card, 'allowMember'), { verb: 'allowMember', groupId, userId: bob.aadObjectId });

      assert.match(textOf(await chat.submit(member, 'allowMember', { groupId, userId: bob.aadObjectId })), /admin/i);
      assert.match(textOf(await chat.say(bob, `join ${link}`)), REMOVED);
      assert.match(textOf(await chat.submit(owner, 'allowMember', buttonData(card, 'allowMember'))), /Bob Ray can join again/);
      assert.match(textOf(await chat.say(bob, `join ${link}`)), /You joined/);
      const audit = (await t.app.groups.auditTrail(groupId, { pageSize: 100 })).items.map((e) => e.action);
      assert.ok(audit.includes('allowed'), audit.join(','));
    });

    it('lets an admin type "allow <member>" to let someone back in', async () => {
      const owner = testUser('Olga Owner');
      const groupId = await chat.createGroup(owner, 'Typed Allow');
      const { link } = await inviteOf(owner, groupId);
      const dan = testUser('Dan Dropped');
      await chat.say(dan, `join ${link}`);
      await chat.submit(
        owner,
        'confirmRemove',
        buttonData(cardsIn(await chat.say(owner, 'remove Dan Dropped from Typed Allow'))[0]!, 'confirmRemove'),
      );
      assert.match(textOf(await chat.say(owner, '/allow Nobody in Typed Allow')), /Nobody called "Nobody" was removed/);
      assert.match(textOf(await chat.say(owner, 'allow dan in Typed Allow')), /Dan Dropped can join again/);
      assert.match(textOf(await chat.say(dan, `join ${link}`)), /You joined/);
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 2);
      assert.deepEqual((await t.app.groups.listBans(groupId, { user: asUser(owner) })).items, []);
    });

    it('lists "allow" in help', async () => {
      const owner = testUser();
      assert.match(textOf(await chat.say(owner, 'help')), /\ballow\b/);
      assert.match(textOf(await chat.submit(owner, 'help', { details: true })), /allow <member> \[in <group>\]/);
    });
  });
});
