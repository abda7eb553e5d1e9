import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from './helpers/testApp';
import { testUser, type TestUser } from './helpers/activities';
import { Chat, buttonData, cardsIn, textOf, actionsIn } from './helpers/chat';
import { validateCard } from '../cards/validate';
import { shown } from '../cards/text';

/**
 * Steps 1 and 2 end to end: real activities into /api/messages, replies read from the fake Teams channel,
 * state in Azurite.
 */
describe('Groups, end to end: create, invite, join, manage', () => {
  let t: TestApp;
  let chat: Chat;
  before(async () => {
    t = await startTestApp();
    chat = new Chat(t);
  });
  after(async () => {
    await t.stop();
  });

  async function inviteOf(user: TestUser, groupId: string): Promise<{ link: string; code: string; card: Record<string, unknown> }> {
    const card = cardsIn(await chat.submit(user, 'showInvite', { groupId }))[0]!;
    const text = textOf(card);
    const link = /https?:\/\/\S+\/join\/[A-Za-z0-9_-]{22}/.exec(text)?.[0];
    const code = /\b[0-9A-Z]{5}-[0-9A-Z]{5}\b/.exec(text)?.[0];
    assert.ok(link && code, `invite card lacks link or code: ${text}`);
    return { link, code, card };
  }

  describe('step 1: create a group', () => {
    it('asks for the name, then a photo, and creates the group with its creator as admin', async () => {
      const owner = testUser('Olga Owner');
      const askName = await chat.say(owner, 'new group');
      assert.match(textOf(askName), /What is the group called/);
      const askPhoto = await chat.submit(owner, 'createGroup', { step: 'name', groupName: '  Field Sales North  ' });
      assert.match(textOf(askPhoto), /A photo for/);
      const created = await chat.submit(owner, 'skipPhoto');
      const info = cardsIn(created).at(-1)!;
      assert.deepEqual(validateCard(info), []);
      const text = textOf(info);
      assert.match(text, /Field Sales North/);
      assert.match(text, /1 member/);
      assert.match(text, /Private/);
      assert.match(text, /Olga Owner/);
      assert.ok(
        actionsIn(info).some((a) => a.data?.verb === 'resetLink'),
        'the creator sees admin buttons',
      );
    });

    it('skips the name question for "new group <name>", and a typed answer works like the card', async () => {
      const owner = testUser();
      const askPhoto = await chat.say(owner, '/New Group   Night Shift');
      assert.match(textOf(askPhoto), /A photo for/);
      assert.match(textOf(askPhoto), /Night Shift/);
      const created = await chat.say(owner, 'skip');
      assert.match(textOf(created), /Night Shift/);
    });

    it('takes a typed name that looks like a command as the answer ("Invite Team")', async () => {
      const owner = testUser();
      await chat.say(owner, 'new group');
      const askPhoto = await chat.say(owner, 'Invite Team');
      assert.match(textOf(askPhoto), /A photo for/);
      assert.match(textOf(askPhoto), /Invite Team/);
      await chat.say(owner, 'cancel');
    });

    for (const [label, name, problem] of [
      ['an empty name', '   ', /name/i],
      ['a name longer than 100 characters', 'x'.repeat(101), /100/],
      ['a name with control characters', 'Sales\u0007Team', /character/i],
    ] as const) {
      it(`refuses ${label} with a clear message and creates nothing`, async () => {
        const owner = testUser();
        await chat.say(owner, 'new group');
        const answer = await chat.submit(owner, 'createGroup', { step: 'name', groupName: name });
        assert.match(textOf(answer), problem);
        assert.doesNotMatch(textOf(answer), /A photo for/);
        await chat.say(owner, 'cancel');
        const mine = await t.app.groups.listMyGroups(owner.aadObjectId);
        assert.equal(mine.items.length, 0);
      });
    }

    it('leaves nothing behind when cancelled at the photo step', async () => {
      const owner = testUser();
      await chat.say(owner, 'new group Almost');
      const cancelled = await chat.submit(owner, 'cancel');
      assert.match(textOf(cancelled), /Cancelled/);
      assert.equal((await t.app.groups.listMyGroups(owner.aadObjectId)).items.length, 0);
      // The dialog is over: the next message is a fresh command.
      assert.match(textOf(await chat.say(owner, 'my groups')), /New group/);
    });

    it('shows markdown, HTML and mentions in a name literally, in a card that validates', async () => {
      const owner = testUser();
      const hostile = '[x](https://evil)**<at>a</at>** <img src=x onerror=alert(1)>';
      // Typed into the card's name field: a literal value, unlike message text where Teams marks up mentions.
      await chat.say(owner, 'new group');
      await chat.submit(owner, 'createGroup', { step: 'name', groupName: hostile });
      const groupId = String(buttonData(cardsIn(await chat.submit(owner, 'skipPhoto')).at(-1)!, 'showInvite').groupId);
      const info = cardsIn(await chat.submit(owner, 'showGroupInfo', { groupId }))[0]!;
      assert.deepEqual(validateCard(info), []);
      const runs = JSON.stringify(info);
      assert.ok(runs.includes(JSON.stringify(shown(hostile)).slice(1, -1)), 'the name appears as typed, its URL defanged');
      assert.ok(!runs.includes('https://evil'), 'no live URL from the name');
      assert.doesNotMatch(runs, /"type":"TextBlock","text":"[^"]*\[x\]\(https:\/\/evil\)/);
    });

    it('refuses a photo link that is not https and keeps asking', async () => {
      const owner = testUser();
      await chat.say(owner, 'new group Photo Test');
      const answer = await chat.submit(owner, 'createGroup', { step: 'photo', photoUrl: 'http://example.com/a.png' });
      assert.match(textOf(answer), /https/i);
      assert.equal((await t.app.groups.listMyGroups(owner.aadObjectId)).items.length, 0);
      await chat.say(owner, 'cancel');
    });

    it('creates one group when Teams redelivers the last answer', async () => {
      const owner = testUser();
      await chat.say(owner, 'new group Redelivered');
      const id = `act-redeliver-${owner.id}`;
      await chat.submit(owner, 'skipPhoto', {}, { id });
      await chat.submit(owner, 'skipPhoto', {}, { id });
      const mine = await t.app.groups.listMyGroups(owner.aadObjectId);
      assert.equal(mine.items.length, 1);
    });
  });

  describe('step 2: invite with a link anyone can use', () => {
    it('shows the link, a join code, a QR code and share buttons for five apps', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Share Me');
      const { link, card } = await inviteOf(owner, groupId);
      assert.deepEqual(validateCard(card), []);
      assert.ok(link.startsWith(`${t.config.PUBLIC_URL}/join/`));
      assert.match(JSON.stringify(card), /data:image\/png;base64,/);
      const urls = actionsIn(card)
        .map((a) => a.url ?? '')
        .join(' ');
      for (const target of [/wa\.me/, /t\.me\/share/, /sms:/, /mailto:/, /teams\.microsoft\.com/]) assert.match(urls, target);
    });

    it('lets a second user join by link; they get the group, admins get told, the count is 2', async () => {
      const owner = testUser('Olga Owner');
      const groupId = await chat.createGroup(owner, 'Field Sales North');
      const { link } = await inviteOf(owner, groupId);
      const joiner = testUser('Jo Joiner');
      const joined = await chat.say(joiner, `join ${link}`);
      assert.match(textOf(joined), /Field Sales North/);
      await t.channel.waitFor(() => textOf(t.channel.to(`a:personal-${owner.id}`)).includes('Jo Joiner'));
      const info = textOf(cardsIn(await chat.submit(owner, 'showGroupInfo', { groupId }))[0]!);
      assert.match(info, /2 members/);
    });

    it('lets a user join by the join code, typed in lower case without the dash', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Code Group');
      const { code } = await inviteOf(owner, groupId);
      const joiner = testUser();
      const joined = await chat.say(joiner, `join ${code.replace('-', '').toLowerCase()}`);
      assert.match(textOf(joined), /Code Group/);
    });

    it('says "already a member" when someone joins twice, and counts them once', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Twice');
      const { link } = await inviteOf(owner, groupId);
      const joiner = testUser();
      await chat.say(joiner, `join ${link}`);
      assert.match(textOf(await chat.say(joiner, `join ${link}`)), /already a member/i);
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 2);
    });

    it('says plainly that an unknown link is not valid', async () => {
      const joiner = testUser();
      const reply = await chat.say(joiner, `join ${t.config.PUBLIC_URL}/join/AAAAAAAAAAAAAAAAAAAAAA`);
      assert.match(textOf(reply), /not valid/i);
      assert.match(textOf(await chat.say(joiner, 'join')), /invite link or the join code/i);
      assert.match(textOf(await chat.say(joiner, 'join !!!')), /does not look like an invite link/i);
    });

    it('resets the link: the old link and code stop working at once, the new link works', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Reset Me');
      const old = await inviteOf(owner, groupId);
      assert.match(textOf(await chat.submit(owner, 'resetLink', { groupId })), /Reset the invite link/);
      const fresh = await chat.submit(owner, 'confirmResetLink', { groupId });
      assert.match(textOf(fresh), /no longer work/);
      const newLink = /https?:\/\/\S+\/join\/[A-Za-z0-9_-]{22}/.exec(textOf(fresh))![0];
      assert.notEqual(newLink, old.link);
      const late = testUser();
      assert.match(textOf(await chat.say(late, `join ${old.link}`)), /not valid/i);
      assert.match(textOf(await chat.say(late, `join ${old.code}`)), /not valid/i);
      assert.match(textOf(await chat.say(late, `join ${newLink}`)), /Reset Me/);
    });

    it('does not reset twice when an old confirmation card is clicked again, and retires the card', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Double Click');
      const confirm = cardsIn(await chat.submit(owner, 'resetLink', { groupId }))[0]!;
      const data = buttonData(confirm, 'confirmResetLink');
      const first = await chat.submit(owner, 'confirmResetLink', data, { replyToId: 'card-1' });
      assert.ok(
        first.some((s) => s.method === 'PUT' && s.path.endsWith('/activities/card-1')),
        'the clicked card is updated in place',
      );
      const shared = (await inviteOf(owner, groupId)).link;
      assert.match(textOf(await chat.submit(owner, 'confirmResetLink', data)), /already reset/);
      assert.equal((await inviteOf(owner, groupId)).link, shared);
    });

    it('does not let a member who is not an admin reset the link', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Admins Only');
      const { link } = await inviteOf(owner, groupId);
      const member = testUser();
      await chat.say(member, `join ${link}`);
      assert.match(textOf(await chat.submit(member, 'confirmResetLink', { groupId })), /admin/i);
      assert.equal((await inviteOf(owner, groupId)).link, link);
    });

    it('joins once and tells the admins once when Teams redelivers the join', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Once Only');
      const { link } = await inviteOf(owner, groupId);
      const joiner = testUser('Rita Redelivered');
      const id = `act-join-${joiner.id}`;
      await chat.say(joiner, `join ${link}`, { id });
      await chat.say(joiner, `join ${link}`, { id });
      await t.channel.waitFor(() => textOf(t.channel.to(`a:personal-${owner.id}`)).includes('Rita Redelivered'));
      await new Promise((r) => setTimeout(r, 300));
      const notices = t.channel.to(`a:personal-${owner.id}`).filter((s) => textOf([s]).includes('Rita Redelivered'));
      assert.equal(notices.length, 1);
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 2);
    });

    it('counts 30 people joining at the same moment exactly, each once', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Rush Hour');
      const { link } = await inviteOf(owner, groupId);
      const joiners = Array.from({ length: 30 }, () => testUser());
      await Promise.all(joiners.map((j) => chat.say(j, `join ${link}`)));
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 31);
      const ids = new Set<string>();
      let token: string | undefined;
      do {
        const page = await t.app.groups.listMembers(
          groupId,
          { user: { id: owner.aadObjectId, name: owner.name } },
          { pageSize: 100, continuationToken: token },
        );
        page.items.forEach((m) => ids.add(m.user.id));
        token = page.continuationToken;
      } while (token);
      assert.equal(ids.size, 31);
    });

    it('limits repeated wrong codes per user', async () => {
      const guesser = testUser();
      for (let i = 0; i < 10; i++) await chat.say(guesser, `join ZZZZZ-ZZZZ${i}`);
      assert.match(textOf(await chat.say(guesser, 'join ZZZZZ-ZZZZZ')), /Too many/);
    });
  });

  describe('the landing page of a link', () => {
    it('shows the group, tells how to join, has preview tags and noindex, and changes nothing', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Landing <b>&</b> "Quotes"');
      const { link } = await inviteOf(owner, groupId);
      const res = await fetch(link.replace(t.config.PUBLIC_URL, t.app.url));
      assert.equal(res.status, 200);
      const html = await res.text();
      assert.match(html, /Landing &lt;b&gt;&amp;&lt;\/b&gt; &quot;Quotes&quot;/);
      assert.doesNotMatch(html, /<b>&<\/b>/);
      assert.match(html, /<meta property="og:title" content="Join Landing/);
      assert.match(html, /noindex/);
      assert.equal(res.headers.get('x-robots-tag'), 'noindex, nofollow');
      assert.ok(html.includes(`join ${link}`));
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 1);
    });

    it('answers 404 with a plain explanation for an unknown or malformed link', async () => {
      for (const path of ['/join/AAAAAAAAAAAAAAAAAAAAAA', '/join/%3Cscript%3E']) {
        const res = await fetch(`${t.app.url}${path}`);
        assert.equal(res.status, 404);
        assert.match(await res.text(), /not valid/);
      }
    });
  });

  describe('managing a group', () => {
    it('pages "my groups" past 20', async () => {
      const owner = testUser();
      for (let i = 0; i < 21; i++)
        await t.app.groups.createGroup({
          name: `Bulk ${i}`,
          creator: { id: owner.aadObjectId, name: owner.name },
          idempotencyKey: `bulk-${owner.id}-${i}`,
        });
      const first = cardsIn(await chat.say(owner, 'my groups'))[0]!;
      const next = buttonData(first, 'myGroupsPage');
      const second = cardsIn(await chat.submit(owner, 'myGroupsPage', next))[0]!;
      const names = (textOf(first) + textOf(second)).match(/Bulk \d+/g) ?? [];
      assert.equal(new Set(names).size, 21);
    });

    it('pages the members list, and only members can see it', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Many Members');
      const { link } = await inviteOf(owner, groupId);
      const people = Array.from({ length: 21 }, (_, i) => testUser(`Member ${String(i).padStart(2, '0')}`));
      await Promise.all(people.map((p) => chat.say(p, `join ${link}`)));
      const first = cardsIn(await chat.say(owner, 'members Many Members'))[0]!;
      const second = cardsIn(await chat.submit(owner, 'membersPage', buttonData(first, 'membersPage')))[0]!;
      const names = (textOf(first) + textOf(second)).match(/Member \d\d/g) ?? [];
      assert.equal(new Set(names).size, 21);
      assert.match(textOf(await chat.submit(testUser(), 'showMembers', { groupId })), /not a member/i);
    });

    it('lets an admin remove a member and make another admin; members cannot', async () => {
      const owner = testUser('Olga Owner');
      const groupId = await chat.createGroup(owner, 'Team Roles');
      const { link } = await inviteOf(owner, groupId);
      const ann = testUser('Ann Lee');
      const bob = testUser('Bob Ray');
      await chat.say(ann, `join ${link}`);
      await chat.say(bob, `join ${link}`);
      assert.match(textOf(await chat.say(bob, 'remove Ann Lee from Team Roles')), /admin/i);
      assert.match(textOf(await chat.say(owner, 'make admin Ann in Team Roles')), /Ann Lee is now an admin/);
      const ask = await chat.say(owner, 'remove Bob Ray from Team Roles');
      assert.match(textOf(ask), /Remove Bob Ray from Team Roles\?/);
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 3, 'nothing happens before the confirmation');
      assert.match(
        textOf(await chat.submit(owner, 'confirmRemove', buttonData(cardsIn(ask)[0]!, 'confirmRemove'))),
        /Removed Bob Ray from Team Roles\./,
      );
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 2);
      // With a current group, "remove" + someone who is not a member would be a post (issue 10): "/" makes it a command.
      assert.match(textOf(await chat.say(owner, '/remove Nobody Here from Team Roles')), /Nobody called/);
    });

    it('does not let the last admin leave until someone else is admin', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Last Admin');
      const { link } = await inviteOf(owner, groupId);
      const ann = testUser('Ann Next');
      await chat.say(ann, `join ${link}`);
      assert.match(textOf(await chat.submit(owner, 'confirmLeave', { groupId })), /last admin/i);
      await chat.submit(owner, 'makeAdmin', { groupId, userId: ann.aadObjectId });
      assert.match(textOf(await chat.submit(owner, 'confirmLeave', { groupId })), /You left/);
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 1);
    });

    it('lets a member leave after confirming', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Leavers');
      const { link } = await inviteOf(owner, groupId);
      const member = testUser();
      await chat.say(member, `join ${link}`);
      assert.match(textOf(await chat.say(member, 'leave Leavers')), /Leave/);
      assert.match(textOf(await chat.submit(member, 'confirmLeave', { groupId })), /You left/);
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 1);
    });

    it('lets an admin delete the group; its link stops working', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Short Lived');
      const { link } = await inviteOf(owner, groupId);
      assert.match(textOf(await chat.submit(owner, 'deleteGroup', { groupId })), /Delete/);
      assert.match(textOf(await chat.submit(owner, 'confirmDelete', { groupId })), /deleted/);
      assert.match(textOf(await chat.say(testUser(), `join ${link}`)), /not valid/i);
    });
  });

  describe('commands and card actions', () => {
    it('strips the bot mention in a group chat', async () => {
      const user = testUser();
      const conversationId = `19:groupchat-${user.id}`;
      const reply = await chat.say(user, '<at>Kaizala Groups</at> help', { conversationId, conversationType: 'groupChat' });
      assert.match(textOf(reply), /What I can do/);
    });

    it('answers an Action.Execute click with the refreshed card in the invoke response', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Execute Me');
      const res = await chat.execute(owner, 'showInvite', { groupId });
      assert.equal(res.status, 200);
      assert.equal(res.body.statusCode, 200);
      assert.equal(res.body.type, 'application/vnd.microsoft.card.adaptive');
      assert.match(JSON.stringify(res.body.value), /\/join\//);
    });

    it('runs the create dialog through Action.Execute clicks too', async () => {
      const owner = testUser();
      await chat.say(owner, 'new group');
      const named = await chat.execute(owner, 'createGroup', { step: 'name', groupName: 'Executed Group' });
      assert.equal(named.status, 200);
      assert.match(textOf(named.sent), /A photo for/);
      const done = await chat.execute(owner, 'skipPhoto');
      assert.match(textOf(done.sent), /Executed Group/);
      assert.equal((await t.app.groups.listMyGroups(owner.aadObjectId)).items.length, 1);
    });

    it('answers a refused Action.Execute click with the error card in place, not "Done."', async () => {
      const owner = testUser();
      const groupId = await chat.createGroup(owner, 'Refusals');
      const stranger = testUser();
      const res = await chat.execute(stranger, 'confirmDelete', { groupId });
      assert.equal(res.body.type, 'application/vnd.microsoft.card.adaptive');
      assert.match(JSON.stringify(res.body.value), /Only group admins|not a member/);
      assert.equal((await t.app.groups.getGroup(groupId)).name, 'Refusals');
    });

    it('keeps join notices out of shared chats: a group created in a group chat notifies no one there', async () => {
      const owner = testUser('Chat Creator');
      const conversationId = `19:created-in-chat-${owner.id}`;
      await chat.say(owner, 'new group Chat Born', { conversationId, conversationType: 'groupChat' });
      const created = await chat.submit(owner, 'skipPhoto', {}, { conversationId, conversationType: 'groupChat' });
      const groupId = String(buttonData(cardsIn(created).at(-1)!, 'showInvite').groupId);
      const invite = await t.app.groups.getInvite(groupId, { id: owner.aadObjectId, name: owner.name });
      await chat.say(testUser('Quiet Joiner'), `join ${invite.url}`);
      await new Promise((r) => setTimeout(r, 2_500));
      assert.doesNotMatch(textOf(t.channel.to(conversationId)), /Quiet Joiner/);
    });

    it('answers an unknown verb with a clear 400 error response, and a clear message for Action.Submit', async () => {
      const user = testUser();
      const res = await chat.execute(user, 'teleport', {});
      // The SDK answers with the invoke response's own status code.
      assert.equal(res.status, 400);
      assert.equal(res.body.statusCode, 400);
      assert.equal(res.body.type, 'application/vnd.microsoft.error');
      assert.match(textOf(await chat.submit(user, 'teleport')), /did not work/);
    });

    it('says what went wrong, without a stack, when a button names a group that is gone', async () => {
      const user = testUser();
      const reply = textOf(await chat.submit(user, 'showGroupInfo', { groupId: 'no-such-group' }));
      assert.match(reply, /does not exist|not a member/i);
      assert.doesNotMatch(reply, /Error:|\n\s+at /);
    });
  });
});
