import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApp, type TestApp } from './helpers/testApp';
import { testUser, type TestUser } from './helpers/activities';
import { Chat, cardsIn, textOf } from './helpers/chat';
import { RecordingDeliveryEngine } from './helpers/recordingEngine';
import { DEFAULT_POST_SETTINGS } from '../src/groups/posts';

/**
 * Issue 16, items 1, 2 and 6: every door of the conversation asks one question ("is this person a member now,
 * and from when may they see?"). Real activities into /api/messages, posts in Azurite, a recording engine.
 */
describe('The conversation doors, end to end: removed means removed, hidden history stays hidden', () => {
  let t: TestApp;
  let chat: Chat;
  let engine: RecordingDeliveryEngine;

  before(async () => {
    engine = new RecordingDeliveryEngine();
    t = await startTestApp({}, { createDeliveryEngine: engine.factory });
    chat = new Chat(t);
  });
  after(async () => {
    await t.stop();
  });

  const ref = (user: TestUser) => ({ id: user.aadObjectId, name: user.name });

  async function join(user: TestUser, groupId: string, admin: TestUser): Promise<void> {
    const invite = await t.app.groups.getInvite(groupId, ref(admin));
    assert.match(textOf(await chat.say(user, `join ${invite.url}`)), /Welcome/);
  }

  async function storedPosts(groupId: string) {
    const out = [];
    for await (const p of t.app.posts.all(groupId)) out.push(p);
    return out;
  }

  /** Everything the bot answered, cards included, as one string: what a user could read. */
  const everything = (sent: unknown) => JSON.stringify(sent);

  describe('a removed member', () => {
    let groupId: string;
    let alice: TestUser;
    let dave: TestUser;

    before(async () => {
      alice = testUser('Alice Admin');
      dave = testUser('Dave Removed');
      groupId = await chat.createGroup(alice, 'Alpha Crew');
      await join(dave, groupId, alice);
      await chat.say(alice, 'the safe code is 4711');
      await chat.say(dave, 'hello from dave'); // seq 2
      await t.app.groups.removeMember(groupId, { user: ref(alice) }, dave.aadObjectId);
      await chat.say(alice, 'posted after the removal'); // seq 3
    });

    it('cannot post through an old Reply button: nothing stored, nothing handed to the engine', async () => {
      const before = engine.seqs('postAccepted', groupId).length;
      const sent = await chat.submit(dave, 'replyToPost', { groupId, seq: 1, replyText: 'still here' });
      assert.match(textOf(sent), /not a member of Alpha Crew/);
      assert.doesNotMatch(textOf(sent), /You replied/);
      assert.deepEqual(
        (await storedPosts(groupId)).map((p) => p.text),
        ['the safe code is 4711', 'hello from dave', 'posted after the removal'],
      );
      assert.equal(engine.seqs('postAccepted', groupId).length, before);
    });

    it('cannot read through an old Earlier button, nor by Action.Execute', async () => {
      for (const sent of [
        await chat.submit(dave, 'historyPage', { groupId, before: 4 }),
        (await chat.execute(dave, 'historyPage', { groupId, before: 4 })).sent,
      ]) {
        assert.doesNotMatch(everything(sent), /posted after the removal|4711/);
      }
      const invoke = await chat.execute(dave, 'historyPage', { groupId, before: 4 });
      assert.doesNotMatch(everything(invoke), /posted after the removal|4711/);
    });

    it('cannot make the group current again (switch, open), nor see or change its settings, nor mute it', async () => {
      const answers = [
        await chat.submit(dave, 'switchGroup', { groupId }),
        await chat.submit(dave, 'openGroup', { groupId }),
        await chat.say(dave, 'settings Alpha Crew'),
        await chat.submit(dave, 'saveSettings', { groupId, onlyAdminsPost: 'true', historyForNewMembers: 'false' }),
        await chat.say(dave, 'mute Alpha Crew'),
      ];
      for (const sent of answers) assert.doesNotMatch(textOf(sent), /What you type now goes to|Settings saved|is muted/);
      assert.equal(await t.app.conversation.currentGroup(dave.aadObjectId), undefined);
      const { settings } = await t.app.conversation.settings(groupId, alice.aadObjectId);
      assert.deepEqual(settings, DEFAULT_POST_SETTINGS);
      // Typed text after all of it is no post either.
      await chat.say(dave, 'anyone there?');
      assert.equal((await storedPosts(groupId)).length, 3);
    });

    it('cannot delete their own earlier post through its old Delete button', async () => {
      const before = engine.seqs('postChanged', groupId).length;
      const sent = await chat.submit(dave, 'deletePost', { groupId, seq: 2 });
      assert.doesNotMatch(textOf(sent), /deleted for everyone/);
      assert.equal((await t.app.posts.get(groupId, 2))?.deletedAt, undefined);
      assert.equal(engine.seqs('postChanged', groupId).length, before);
    });

    it('receives no copy of later posts (the engine is never given a banned row as a recipient)', async () => {
      const recipient = await t.app.posts.getRecipient(groupId, dave.aadObjectId);
      assert.equal(recipient, undefined);
      const { recipients } = await t.app.posts.listRecipients(groupId, undefined, 100);
      assert.deepEqual(
        recipients.map((r) => r.userId),
        [alice.aadObjectId],
      );
    });
  });

  describe('a member who joined after posts they may not see', () => {
    let groupId: string;
    let alice: TestUser;
    let lena: TestUser;

    before(async () => {
      alice = testUser('Alice Owner');
      lena = testUser('Lena Late');
      groupId = await chat.createGroup(alice, 'Quiet Crew');
      await t.app.conversation.updateSettings(groupId, ref(alice), { historyForNewMembers: false });
      await chat.say(alice, 'the safe code is 4711'); // seq 1, hidden from Lena
      await chat.say(alice, 'the gate code is 0815'); // seq 2, hidden, then deleted
      await t.app.conversation.deletePost(groupId, 2, ref(alice));
      await sleep(5); // her join strictly after both posts
      await join(lena, groupId, alice);
      await chat.say(alice, 'welcome Lena'); // seq 3, visible
    });

    it('has replies by number to hidden posts refused as "not found", with no name and no quote', async () => {
      for (const seq of [1, 2, 99]) {
        const sent = await chat.submit(lena, 'replyToPost', { groupId, seq, replyText: 'what was that?' });
        assert.match(textOf(sent), /That post was not found/);
        assert.doesNotMatch(everything(sent), /Alice|4711|0815|deleted/);
      }
      assert.equal((await storedPosts(groupId)).length, 3);
    });

    it('may still reply to a post she can see', async () => {
      const sent = await chat.submit(lena, 'replyToPost', { groupId, seq: 3, replyText: 'thanks!' });
      assert.match(textOf(sent), /You replied in Quiet Crew to Alice Owner: thanks!/);
      const reply = (await storedPosts(groupId)).at(-1)!;
      assert.deepEqual(reply.replyTo, { seq: 3, senderName: 'Alice Owner', preview: 'welcome Lena', senderId: alice.aadObjectId });
    });

    it('cannot delete a hidden post by number either (an admin who joined late, too)', async () => {
      await t.app.groups.makeAdmin(groupId, { user: ref(alice) }, lena.aadObjectId);
      const sent = await chat.submit(lena, 'deletePost', { groupId, seq: 1 });
      assert.match(textOf(sent), /does not exist any more/);
      assert.equal((await t.app.posts.get(groupId, 1))?.deletedAt, undefined);
    });

    it('sees only what the rule allows in history', async () => {
      const sent = await chat.say(lena, 'history Quiet Crew');
      const json = everything(cardsIn(sent));
      assert.doesNotMatch(json, /4711|0815/);
      assert.match(json, /welcome Lena/);
    });
  });

  describe('the small ones', () => {
    it('refuses a post made only of invisible characters like an empty one', async () => {
      const owner = testUser('Zero Width');
      const groupId = await chat.createGroup(owner, 'Invisible Ink');
      for (const text of ['\u200b\u200b', '\u200d \ufeff', '\u2060\u00ad', '\u200e\u200f']) {
        assert.match(textOf(await chat.say(owner, text)), /There is nothing to post/);
      }
      await chat.say(owner, 'visible \u200b text');
      assert.deepEqual(
        (await storedPosts(groupId)).map((p) => p.text),
        ['visible \u200b text'],
      );
    });

    it('answers a damaged members page token plainly, with a warn-level line and no error', async () => {
      const owner = testUser('Page Turner');
      const groupId = await chat.createGroup(owner, 'Paged Crew');
      for (const token of ['not-a-token', Buffer.from('{"nextPartitionKey":1}').toString('base64'), '%%%']) {
        const logsBefore = t.logs.length;
        const sent = await chat.submit(owner, 'membersPage', { groupId, continuationToken: token });
        assert.match(textOf(sent), /That page is no longer available/);
        const lines = t.logs.slice(logsBefore);
        assert.ok(
          lines.some((l) => l['level'] === 40 && l['msg'] === 'request refused'),
          JSON.stringify(lines),
        );
        assert.ok(!lines.some((l) => Number(l['level']) >= 50), 'nothing at error level');
      }
    });
  });
});
