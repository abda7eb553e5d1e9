import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from './helpers/testApp';
import { messageActivity, TENANT_ID, testUser, type TestUser } from './helpers/activities';
import { Chat, buttonData, cardsIn, textOf, actionsIn } from './helpers/chat';
import { RecordingDeliveryEngine } from './helpers/recordingEngine';
import { validateCard } from '../cards/validate';
import { postSourceKey } from '../src/teams/handlers/postsFlow';
import { TablePostStore } from '../src/storage/tablePostStore';

/**
 * Issue 10, the group's conversation, end to end: real activities into /api/messages, answers read from the fake
 * Teams channel, posts in Azurite, and a recording delivery engine in place of the real one (its calls are the
 * contract between accepting a post and delivering it).
 */
describe('Group conversation, end to end: posting, replies, settings, edits, history', () => {
  let t: TestApp;
  let chat: Chat;
  let engine: RecordingDeliveryEngine;

  before(async () => {
    engine = new RecordingDeliveryEngine();
    t = await startTestApp({ MESSAGE_RETENTION_DAYS: '30' }, { createDeliveryEngine: engine.factory });
    chat = new Chat(t);
  });
  after(async () => {
    await t.stop();
  });

  const uid = (user: TestUser) => user.aadObjectId;

  async function join(user: TestUser, groupId: string, admin: TestUser): Promise<void> {
    const invite = await t.app.groups.getInvite(groupId, { id: uid(admin), name: admin.name });
    const answer = await chat.say(user, `join ${invite.url}`);
    assert.match(textOf(answer), /Welcome, .*What you type here now goes to the group\.|already a member/);
  }

  /** A group with its owner and members, each member's current group being this one. */
  async function groupWith(name: string, memberCount: number): Promise<{ groupId: string; owner: TestUser; members: TestUser[] }> {
    const owner = testUser(`Owner of ${name}`);
    const groupId = await chat.createGroup(owner, name);
    const members = Array.from({ length: memberCount }, (_, i) => testUser(`Member ${i + 1}`));
    for (const m of members) await join(m, groupId, owner);
    return { groupId, owner, members };
  }

  async function posts(groupId: string) {
    const out = [];
    for await (const p of t.app.posts.all(groupId)) out.push(p);
    return out;
  }

  describe('the command-vs-post rule', () => {
    it('posts what a member types to their current group; the first post is confirmed once, later ones get no reply', async () => {
      const { groupId, members } = await groupWith('Field Sales North', 1);
      const ann = members[0]!;
      const first = await chat.say(ann, 'help me with the order');
      assert.equal(textOf(first), 'Sent to **Field Sales North**. Type `switch` to choose another group.');
      assert.deepEqual(await chat.say(ann, 'join us at 5'), []);
      assert.deepEqual(await chat.say(ann, 'new group is ready'), []);
      const stored = await posts(groupId);
      assert.deepEqual(
        stored.map((p) => [p.seq, p.text]),
        [
          [1, 'help me with the order'],
          [2, 'join us at 5'],
          [3, 'new group is ready'],
        ],
      );
      assert.deepEqual(engine.seqs('postAccepted', groupId), [1, 2, 3]);
      const post = stored[0]!;
      assert.deepEqual(post.sender, { userId: uid(ann), name: ann.name, tenantId: TENANT_ID, objectId: uid(ann) });
    });

    it('takes "join" with a link or a dashed code as a join even when it does not resolve, and "join the meeting" as a post', async () => {
      const { groupId, members } = await groupWith('Depot East', 1);
      const dee = members[0]!;
      assert.match(textOf(await chat.say(dee, 'join ABCDE-FGHJK')), /not valid|did not work|not work/i);
      assert.match(textOf(await chat.say(dee, 'join https://elsewhere.example/join/abc')), /not valid|does not look like|not work/i);
      await chat.say(dee, 'join the meeting');
      assert.deepEqual(
        (await posts(groupId)).map((p) => p.text),
        ['join the meeting'],
      );
    });

    it('still runs commands: an argument-less command word, a command word with what resolves, and anything with /', async () => {
      const { groupId, owner, members } = await groupWith('Night Shift', 1);
      const bob = members[0]!;
      assert.match(textOf(await chat.say(bob, 'help')), /new group/);
      assert.match(textOf(await chat.say(bob, 'members Night Shift')), /Member 1/);
      assert.match(textOf(await chat.say(bob, `group ${groupId}`)), /Night Shift/);
      assert.match(textOf(await chat.say(owner, `remove ${bob.name}`)), /Remove Member 1 from Night Shift\?/);
      const askPhoto = await chat.say(owner, '/new group Order Desk');
      assert.match(textOf(askPhoto), /A photo for/);
      await chat.say(owner, 'cancel');
      assert.deepEqual(await posts(groupId), [], 'none of these became a post');
    });

    it('keeps line breaks and shows a mention as @Name without a ping', async () => {
      const { groupId, members } = await groupWith('Line Breaks', 1);
      await chat.say(members[0]!, 'Hi <at>Olga</at>,\nthe truck\n\nis late');
      assert.equal((await posts(groupId))[0]!.text, 'Hi @Olga,\nthe truck\n\nis late');
    });

    it('leaves commands as they were for someone without a current group', async () => {
      const stranger = testUser();
      assert.match(textOf(await chat.say(stranger, 'help me with the order')), /What I can do[\s\S]*new group/);
      assert.match(textOf(await chat.say(stranger, 'hello there')), /didn't get that/);
    });
  });

  describe('accepting posts', () => {
    it('accepts a post once per activity id, even when Teams delivers it again', async () => {
      const { groupId, members } = await groupWith('Redelivered', 1);
      const ann = members[0]!;
      await chat.say(ann, 'warm up'); // the confirmation line
      const activity = messageActivity(t.channel.serviceUrl, ann, { text: 'only once', id: `act-${randomUUID()}` });
      const [a, b] = await Promise.all([t.post(activity), t.post(activity)]);
      assert.deepEqual([a.status, b.status], [200, 200]);
      await t.post(activity);
      assert.deepEqual(
        (await posts(groupId)).map((p) => p.text),
        ['warm up', 'only once'],
      );
      assert.deepEqual(engine.seqs('postAccepted', groupId), [1, 2]);
      // The key a redelivery would find: the post made by that conversation's message.
      assert.deepEqual(await t.app.posts.findBySource(postSourceKey(`a:personal-${ann.id}`, String(activity['id']))), { groupId, seq: 2 });
    });

    it('gives a burst of 20 concurrent posts from 20 members the numbers 1..20, each once', async () => {
      const { groupId, members } = await groupWith('Burst', 20);
      await Promise.all(members.map((m, i) => chat.say(m, `burst ${i}`)));
      const stored = await posts(groupId);
      assert.deepEqual(
        stored.map((p) => p.seq),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      assert.deepEqual(new Set(stored.map((p) => p.text)).size, 20);
      assert.deepEqual(
        [...engine.seqs('postAccepted', groupId)].sort((x, y) => x - y),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });

    it('refuses a post over 4,000 characters with a line, and takes one of exactly 4,000', async () => {
      const { groupId, members } = await groupWith('Long Posts', 1);
      const refused = await chat.say(members[0]!, 'x'.repeat(4001));
      assert.match(textOf(refused), /at most 4,000 characters; yours has 4,001/);
      await chat.say(members[0]!, 'y'.repeat(4000));
      assert.deepEqual(
        (await posts(groupId)).map((p) => p.text.length),
        [4000],
      );
    });

    it('refuses the 11th post within a minute with a line', async () => {
      const { groupId, members } = await groupWith('Chatty', 1);
      for (let i = 0; i < 10; i++) await chat.say(members[0]!, `post ${i}`);
      const refused = await chat.say(members[0]!, 'one too many');
      assert.match(textOf(refused), /at most 10 times a minute/);
      assert.equal((await posts(groupId)).length, 10);
    });

    it('answers files and pictures with "not supported yet" and posts nothing', async () => {
      const { groupId, members } = await groupWith('No Files', 1);
      const picture = { contentType: 'image/png', contentUrl: 'https://example.com/a.png', name: 'a.png' };
      assert.match(textOf(await chat.say(members[0]!, '', { attachments: [picture] })), /not supported yet/);
      assert.match(textOf(await chat.say(members[0]!, 'look at this', { attachments: [picture] })), /not supported yet/);
      assert.deepEqual(await posts(groupId), []);
    });

    it('does not let a non-member post (a reply from someone who is not in the group)', async () => {
      const { groupId, owner } = await groupWith('Members Only', 0);
      await chat.say(owner, 'hello');
      const stranger = testUser('Stranger');
      const answer = await chat.submit(stranger, 'replyToPost', { groupId, seq: 1, replyText: 'let me in' });
      assert.match(textOf(answer), /not a member/);
      assert.equal((await posts(groupId)).length, 1);
    });

    it('forgets the current group of someone who left, so their text is not a post any more', async () => {
      const { groupId, owner, members } = await groupWith('Leavers', 1);
      await chat.submit(members[0]!, 'confirmLeave', { groupId });
      assert.match(textOf(await chat.say(members[0]!, 'still here?')), /didn't get that/);
      assert.deepEqual(await posts(groupId), []);
      void owner;
    });
  });

  describe('replies, open and switch', () => {
    it("posts a reply to the card's group whatever the current group, says so in the sender's chat, and makes it current", async () => {
      const a = await groupWith('Alpha Team', 1);
      const bob = a.members[0]!;
      await chat.say(a.owner, 'Where is truck 4? It should have been here by now, everyone');
      const b = await groupWith('Beta Team', 0);
      await join(bob, b.groupId, b.owner); // Beta is now Bob's current group
      const answer = await chat.submit(bob, 'replyToPost', { groupId: a.groupId, seq: 1, replyText: 'On its way' });
      assert.equal(textOf(answer), 'You replied in Alpha Team to Owner of Alpha Team: On its way');
      const reply = (await posts(a.groupId))[1]!;
      assert.equal(reply.text, 'On its way');
      assert.deepEqual(reply.replyTo, {
        seq: 1,
        senderName: 'Owner of Alpha Team',
        senderId: uid(a.owner),
        preview: 'Where is truck 4? It should have been here by now, everyone',
      });
      assert.deepEqual(await posts(b.groupId), []);
      await chat.say(bob, 'and now to Alpha');
      assert.equal((await posts(a.groupId)).length, 3, 'replying made Alpha current');
    });

    it('lets a member switch groups with the card or by name; the next post there is confirmed again', async () => {
      const a = await groupWith('Gamma', 1);
      const carol = a.members[0]!;
      const b = await groupWith('Delta', 0);
      await join(carol, b.groupId, b.owner);
      await chat.say(carol, 'to delta');
      const card = cardsIn(await chat.say(carol, 'switch')).at(-1)!;
      assert.deepEqual(validateCard(card), []);
      assert.match(textOf(card), /Gamma/);
      assert.match(textOf(card), /Delta/);
      const choose = actionsIn(card).find((x) => x.data?.verb === 'switchGroup' && x.data.groupId === a.groupId)!;
      assert.match(textOf(await chat.submit(carol, 'switchGroup', choose.data!)), /now goes to \*\*Gamma\*\*/);
      assert.match(textOf(await chat.say(carol, 'to gamma')), /Sent to \*\*Gamma\*\*/);
      assert.deepEqual(await chat.say(carol, 'to gamma again'), []);
      // With a current group, "switch <name>" is not in the list of commands with a group: "/" makes it one.
      assert.match(textOf(await chat.say(carol, '/switch Delta')), /now goes to \*\*Delta\*\*/);
      assert.match(textOf(await chat.say(carol, 'to delta again')), /Sent to \*\*Delta\*\*/);
      assert.deepEqual(
        (await posts(a.groupId)).map((p) => p.text),
        ['to gamma', 'to gamma again'],
      );
      assert.deepEqual(
        (await posts(b.groupId)).map((p) => p.text),
        ['to delta', 'to delta again'],
      );
    });

    it("opens a group with the card's Open group: Group Info, and it becomes current", async () => {
      const a = await groupWith('Epsilon', 1);
      const dan = a.members[0]!;
      const b = await groupWith('Zeta', 0);
      await join(dan, b.groupId, b.owner);
      const opened = await chat.submit(dan, 'openGroup', { groupId: a.groupId });
      assert.match(textOf(opened), /Epsilon/);
      await chat.say(dan, 'hello epsilon');
      assert.equal((await posts(a.groupId)).length, 1);
    });
  });

  describe('settings and mute', () => {
    it('lets admins turn on "Only admins can post"; members\' posts are then refused with a line', async () => {
      const { groupId, owner, members } = await groupWith('Announcements', 1);
      const card = cardsIn(await chat.say(owner, 'settings')).at(-1)!;
      assert.deepEqual(validateCard(card), []);
      assert.match(textOf(card), /Only admins can post/);
      const saved = await chat.submit(owner, 'saveSettings', {
        ...buttonData(card, 'saveSettings'),
        onlyAdminsPost: 'true',
        historyForNewMembers: 'true',
      });
      assert.match(textOf(saved), /Settings saved/);
      assert.match(textOf(await chat.say(members[0]!, 'can I?')), /Only admins can post in Announcements/);
      await chat.say(owner, 'admins only news');
      assert.deepEqual(
        (await posts(groupId)).map((p) => p.text),
        ['admins only news'],
      );
      assert.match(textOf(await chat.submit(members[0]!, 'saveSettings', { groupId, onlyAdminsPost: 'false' })), /Only group admins/);
      assert.doesNotMatch(JSON.stringify(cardsIn(await chat.say(members[0]!, '/settings'))), /saveSettings/);
    });

    it('mutes and unmutes a member (the engine sees it on the member), history stays', async () => {
      const { groupId, members } = await groupWith('Quiet', 1);
      assert.match(textOf(await chat.say(members[0]!, 'mute')), /is muted/);
      assert.equal((await engine.source!.getRecipient(groupId, uid(members[0]!)))?.muted, true);
      assert.match(textOf(await chat.say(members[0]!, 'unmute Quiet')), /unmuted/);
      assert.equal((await engine.source!.getRecipient(groupId, uid(members[0]!)))?.muted, false);
    });
  });

  describe('edits and deletes', () => {
    function changeActivity(
      user: TestUser,
      type: 'messageUpdate' | 'messageDelete',
      eventType: string,
      id: string,
      timestamp: string,
      text?: string,
    ) {
      return {
        ...messageActivity(t.channel.serviceUrl, user, { id, text }),
        type,
        timestamp,
        channelData: { tenant: { id: TENANT_ID }, eventType },
      };
    }

    it("follows the sender's edit and delete once each; an undelete is a fresh post of its text; tells the engine", async () => {
      const { groupId, members } = await groupWith('Edits', 1);
      const ann = members[0]!;
      const id = `act-${randomUUID()}`;
      await t.post(messageActivity(t.channel.serviceUrl, ann, { text: 'meet at 4', id }));
      const edit = changeActivity(ann, 'messageUpdate', 'editMessage', id, '2030-01-01T00:00:01.000Z', 'meet at 5');
      assert.equal((await t.post(edit)).status, 200);
      assert.equal((await t.post(edit)).status, 200); // redelivered: nothing new
      let post = (await t.app.posts.get(groupId, 1))!;
      assert.deepEqual([post.text, post.version, post.editedAt], ['meet at 5', 2, '2030-01-01T00:00:01.000Z']);
      await t.post(changeActivity(ann, 'messageDelete', 'softDeleteMessage', id, '2030-01-01T00:00:02.000Z'));
      post = (await t.app.posts.get(groupId, 1))!;
      assert.ok(post.deletedAt);
      assert.equal(post.deletedBy?.id, uid(ann));
      assert.deepEqual([post.text, post.sender.name], ['', ''], 'a tombstone');
      const undelete = changeActivity(ann, 'messageUpdate', 'undeleteMessage', id, '2030-01-01T00:00:03.000Z', 'meet at 5');
      const { sent } = await chat.post(undelete, chat.conversationOf(ann));
      assert.match(textOf(sent), /You restored a message: it is posted to \*\*Edits\*\* again, as a new post\./);
      assert.equal((await t.app.posts.get(groupId, 1))!.text, '', 'the tombstone stays');
      post = (await t.app.posts.get(groupId, 2))!;
      assert.deepEqual([post.text, post.version, post.deletedAt, post.sender.userId], ['meet at 5', 1, undefined, uid(ann)]);
      assert.deepEqual((await chat.post(undelete, chat.conversationOf(ann))).sent, [], 'redelivered: nothing new');
      assert.deepEqual(engine.seqs('postAccepted', groupId), [1, 2]);
      assert.deepEqual(engine.seqs('postChanged', groupId), [1, 1]);
      // The message's later edits follow the new post.
      await t.post(changeActivity(ann, 'messageUpdate', 'editMessage', id, '2030-01-01T00:00:04.000Z', 'meet at 6'));
      assert.equal((await t.app.posts.get(groupId, 2))!.text, 'meet at 6');
    });

    it('restores nothing when the undelete carries no text, and tells the sender; nor for a member removed since', async () => {
      const { groupId, owner, members } = await groupWith('Undeletes', 2);
      const [ann, bob] = members as [TestUser, TestUser];
      const id = `act-${randomUUID()}`;
      await t.post(messageActivity(t.channel.serviceUrl, ann, { text: 'short lived', id }));
      await t.post(changeActivity(ann, 'messageDelete', 'softDeleteMessage', id, '2030-01-01T00:00:02.000Z'));
      const bare = changeActivity(ann, 'messageUpdate', 'undeleteMessage', id, '2030-01-01T00:00:03.000Z');
      const { sent } = await chat.post(bare, chat.conversationOf(ann));
      assert.match(textOf(sent), /Teams did not send its text, so nothing was posted to \*\*Undeletes\*\* again/);
      assert.deepEqual(
        (await posts(groupId)).map((p) => [p.seq, p.text]),
        [[1, '']],
      );
      const bobsId = `act-${randomUUID()}`;
      await t.post(messageActivity(t.channel.serviceUrl, bob, { text: 'soon removed', id: bobsId }));
      await t.post(changeActivity(bob, 'messageDelete', 'softDeleteMessage', bobsId, '2030-01-01T00:00:02.000Z'));
      await t.app.groups.removeMember(groupId, { user: { id: uid(owner), name: owner.name } }, uid(bob));
      const refused = await chat.post(
        changeActivity(bob, 'messageUpdate', 'undeleteMessage', bobsId, '2030-01-01T00:00:03.000Z', 'soon removed'),
        chat.conversationOf(bob),
      );
      assert.match(textOf(refused.sent), /it was not posted again: You are not a member of Undeletes/);
      assert.equal((await posts(groupId)).length, 2, 'nothing new');
    });

    it("lets an admin delete a member's post with the card button; other members cannot", async () => {
      const { groupId, owner, members } = await groupWith('Moderated', 2);
      await chat.say(members[0]!, 'spam spam');
      assert.match(textOf(await chat.submit(members[1]!, 'deletePost', { groupId, seq: 1 })), /Only group admins and the sender/);
      assert.match(textOf(await chat.submit(members[1]!, 'confirmDeletePost', { groupId, seq: 1 })), /Only group admins and the sender/);
      assert.match(textOf(await chat.submit(owner, 'deletePost', { groupId, seq: 1 })), /Delete this post for everyone\?/);
      assert.equal((await t.app.posts.get(groupId, 1))?.deletedAt, undefined);
      assert.match(textOf(await chat.submit(owner, 'confirmDeletePost', { groupId, seq: 1 })), /deleted for everyone/);
      const post = (await t.app.posts.get(groupId, 1))!;
      assert.ok(post.deletedAt);
      assert.equal(post.deletedBy?.id, uid(owner));
      assert.deepEqual(engine.seqs('postChanged', groupId), [1]);
    });
  });

  describe('what members receive (RenderCopy)', () => {
    it('renders a copy per recipient: the card with summary, Delete post only for admins, nothing for a deleted post', async () => {
      const { groupId, owner, members } = await groupWith('Copies', 2);
      await chat.say(members[0]!, 'Truck 4 is late\nCall me');
      const ownerCopy = await engine.renderCopy!(groupId, 1, (await engine.source!.getRecipient(groupId, uid(owner)))!);
      const memberCopy = await engine.renderCopy!(groupId, 1, (await engine.source!.getRecipient(groupId, uid(members[1]!)))!);
      assert.equal(ownerCopy?.['summary'], `${members[0]!.name} · Copies: Truck 4 is late Call me`);
      const card = (ownerCopy!['attachments'] as Array<{ content: Record<string, unknown> }>)[0]!.content;
      assert.deepEqual(validateCard(card), []);
      assert.ok(actionsIn(card).some((a) => a.data?.verb === 'deletePost'));
      const memberCard = (memberCopy!['attachments'] as Array<{ content: Record<string, unknown> }>)[0]!.content;
      assert.ok(!actionsIn(memberCard).some((a) => a.data?.verb === 'deletePost'));
      await chat.submit(owner, 'confirmDeletePost', { groupId, seq: 1 });
      assert.equal(await engine.renderCopy!(groupId, 1, (await engine.source!.getRecipient(groupId, uid(owner)))!), undefined);
    });
  });

  describe('history', () => {
    it('shows 20 posts a page, oldest first, with Earlier for the rest', async () => {
      const { groupId, owner } = await groupWith('Long Story', 0);
      const store = new TablePostStore(t.app.tables);
      for (let i = 1; i <= 25; i++) {
        await store.accept({
          groupId,
          sender: { userId: uid(owner), name: owner.name, tenantId: TENANT_ID },
          text: `story ${i}`,
          createdAt: new Date().toISOString(),
          sourceKey: `story-${groupId}-${i}`,
        });
      }
      const card = cardsIn(await chat.say(owner, 'history')).at(-1)!;
      assert.deepEqual(validateCard(card), []);
      const text = textOf(card);
      assert.ok(text.indexOf('story 6') < text.indexOf('story 25') && !/story 5\b/.test(text), text);
      const earlier = cardsIn(await chat.submit(owner, 'historyPage', buttonData(card, 'historyPage'))).at(-1)!;
      assert.match(textOf(earlier), /story 1\b[\s\S]*story 5\b/);
      assert.ok(!actionsIn(earlier).some((a) => a.data?.verb === 'historyPage'));
    });

    it('shows new members only posts from their join time when "New members see earlier posts" is off', async () => {
      const { groupId, owner } = await groupWith('Fresh Start', 0);
      await chat.say(owner, 'before you came');
      await t.app.conversation.updateSettings(groupId, { id: uid(owner), name: owner.name }, { historyForNewMembers: false });
      await new Promise((resolve) => setTimeout(resolve, 5)); // the join's time must be after the first post's
      const newcomer = testUser('Newcomer');
      await join(newcomer, groupId, owner);
      await chat.say(owner, 'after you came');
      const mine = textOf(cardsIn(await chat.say(newcomer, 'history')).at(-1)!);
      assert.match(mine, /after you came/);
      assert.doesNotMatch(mine, /before you came/);
      const owners = textOf(cardsIn(await chat.say(owner, 'history')).at(-1)!);
      assert.match(owners, /before you came/);
    });
  });

  describe('retention', () => {
    it('deletes posts older than MESSAGE_RETENTION_DAYS in the sweep and keeps newer ones', async () => {
      const { groupId, owner } = await groupWith('Retained', 0);
      const store = new TablePostStore(t.app.tables);
      const sender = { userId: uid(owner), name: owner.name, tenantId: TENANT_ID };
      await store.accept({
        groupId,
        sender,
        text: 'ancient',
        createdAt: new Date(Date.now() - 31 * 86_400_000).toISOString(),
        sourceKey: `old-${groupId}`,
      });
      await store.accept({ groupId, sender, text: 'recent', createdAt: new Date().toISOString(), sourceKey: `new-${groupId}` });
      assert.ok((await t.app.retention!.sweep()) >= 1);
      assert.deepEqual(
        (await posts(groupId)).map((p) => p.text),
        ['recent'],
      );
    });
  });
});
