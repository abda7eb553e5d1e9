import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from './helpers/testApp';
import { testUser, type TestUser } from './helpers/activities';
import { Chat, buttonData, cardsIn, textOf, type CardJson } from './helpers/chat';
import type { SentActivity } from './helpers/fakeChannel';
import { validateCard } from '../cards/validate';
import { COMMANDS } from '../src/teams/input/commands';

/**
 * Issue 17 items 1 and 2, end to end through /api/messages with the real delivery engine: commands never leak
 * into the group (every command of the table typed alone; an admin's words that find nothing answer with Post
 * it), remove and delete post ask first, the removed member is told in their own chat, and remove admin.
 */

/** Engine timings for tests: short polls, quick lane hand-back. */
const FAST = { pollMs: 50, laneIdleMs: 1_000, sweepMs: 2_000, backoffBaseMs: 50, flushMs: 20 };

const chatOf = (user: TestUser) => `a:personal-${user.id}`;

/** The message in a Post it card's box (Teams submits it with the button's data as `postText`). */
const postTextOf = (card: CardJson): unknown => (card['body'] as CardJson[]).find((e) => e['id'] === 'postText')?.['value'];
const uid = (user: TestUser) => user.aadObjectId;

describe('Commands, end to end: never a post by mistake, and asking before harm', function () {
  this.timeout(60_000);
  let t: TestApp;
  let chat: Chat;

  before(async () => {
    t = await startTestApp({}, { deliveryTuning: FAST });
    chat = new Chat(t);
  });
  after(async () => {
    await t.stop();
  });

  /** A group with its owner and members; each member's current group is this one. */
  async function groupWith(name: string, memberNames: string[]): Promise<{ groupId: string; owner: TestUser; members: TestUser[] }> {
    const owner = testUser(`Olga of ${name}`);
    const groupId = await chat.createGroup(owner, name);
    const invite = await t.app.groups.getInvite(groupId, { id: uid(owner), name: owner.name });
    const members = memberNames.map((n) => testUser(n));
    for (const m of members) assert.match(textOf(await chat.say(m, `join ${invite.url}`)), /You joined/);
    return { groupId, owner, members };
  }

  async function posts(groupId: string): Promise<string[]> {
    const out: string[] = [];
    for await (const p of t.app.posts.all(groupId)) out.push(p.text);
    return out;
  }

  /** What reached a member's chat that was not an answer to them: post copies and notices. */
  const copiesTo = (user: TestUser): SentActivity[] => t.channel.to(chatOf(user)).filter((s) => typeof s.activity['summary'] === 'string');

  describe('every command of the handler table typed alone, with a current group', () => {
    it('is a command: nothing is posted and nothing reaches a member', async function () {
      this.timeout(120_000);
      const { groupId, owner, members } = await groupWith('Alpha Crew', ['Dave']);
      const dave = members[0]!;
      for (const command of COMMANDS) {
        for (const words of [command.phrase, ...command.aliases]) {
          for (const user of [dave, owner]) {
            const answer = await chat.say(user, words);
            assert.ok(answer.length > 0, `"${words}" (${command.name}) got an answer`);
            // "new group" asks for a name: the next message would be the answer.
            if (command.name === 'newGroup') await chat.say(user, 'cancel');
          }
        }
      }
      // As people type them: capitals, a slash, trailing punctuation.
      for (const text of ['INVITE?', '/Poster.', 'Email!', 'reset link?', 'Add to organization.', 'members?!']) await chat.say(dave, text);
      await chat.say(dave, 'unmute');
      assert.deepEqual(await posts(groupId), [], 'nothing became a post');
      assert.deepEqual(copiesTo(owner), [], 'no post copy reached the owner');
      assert.deepEqual(copiesTo(dave), [], 'no post copy reached Dave');
    });
  });

  describe("an admin's words whose rest does not resolve", () => {
    it('answers what it could not find, with Post it; nothing is posted unless it is pressed, and then once', async () => {
      const { groupId, owner, members } = await groupWith('Bravo Crew', ['Dave']);
      const dave = members[0]!;
      const cases: Array<[string, RegExp]> = [
        ['remove the boxes from the van', /You are not in a group called “the van”\./],
        ['remove Carol', /Nobody called “Carol” is a member of Bravo Crew\./],
        ['allow Dave', /Nobody called “Dave” was removed from Bravo Crew\./],
        ['make admin the new guy', /Nobody called “the new guy” is a member of Bravo Crew\./],
        ['remove admin Dave', /Nobody called “Dave” is an admin of Bravo Crew\./],
        ['reset link for the printer', /You are not in a group called “for the printer”\./],
      ];
      for (const [text, notFound] of cases) {
        const answer = await chat.say(owner, text);
        assert.match(textOf(answer), notFound, text);
        assert.match(textOf(answer), /Nothing was sent to[\s\S]*Bravo Crew/);
        const [card] = cardsIn(answer);
        assert.deepEqual(validateCard({ contentType: 'application/vnd.microsoft.card.adaptive', content: card }), []);
        assert.equal(postTextOf(card!), text);
      }
      assert.deepEqual(await posts(groupId), [], 'nothing posted without Post it');

      // Post it posts the text as typed; pressing it again (or Teams delivering the click again) posts it once.
      const offerCard = cardsIn(await chat.say(owner, 'remove Carol'))[0]!;
      const offer = { ...buttonData(offerCard, 'postIt'), postText: postTextOf(offerCard) };
      assert.match(textOf(await chat.submit(owner, 'postIt', offer)), /Posted to \*\*Bravo Crew\*\*/);
      await chat.submit(owner, 'postIt', offer);
      assert.deepEqual(await posts(groupId), ['remove Carol']);
      await t.channel.waitFor(() => copiesTo(dave).length === 1);

      // A sentence's words stay posts: "invite Bob to lunch".
      await chat.say(dave, 'invite Bob to lunch');
      assert.deepEqual(await posts(groupId), ['remove Carol', 'invite Bob to lunch']);
    });

    it('runs the command for a name two members share, which asks for the full name (not "nobody called")', async () => {
      const { groupId, owner } = await groupWith('Hotel Crew', ['Dave Smith', 'Dave Jones']);
      assert.match(textOf(await chat.say(owner, 'remove Dave')), /More than one member matches "Dave"/);
      assert.match(textOf(await chat.say(owner, 'remove Dave Jones')), /Remove Dave Jones from Hotel Crew\?/);
      assert.deepEqual(await posts(groupId), []);
    });

    it('asks for the sign-in for export (never posts it), with Post it beside', async () => {
      const { groupId, owner } = await groupWith('Charlie Crew', []);
      const answer = await chat.say(owner, 'export the report');
      assert.match(textOf(answer), /sign-in/i);
      assert.match(textOf(answer), /Was it a post for[\s\S]*Charlie Crew/);
      assert.equal(postTextOf(cardsIn(answer).at(-1)!), 'export the report');
      assert.deepEqual(await posts(groupId), []);
    });

    it('suggests the closest command for an unknown /word, and says a wrong join code is not valid', async () => {
      const { groupId, members } = await groupWith('Delta Crew', ['Dave']);
      const dave = members[0]!;
      assert.match(textOf(await chat.say(dave, '/invte')), /Did you mean `\/invite`\?/);
      assert.match(textOf(await chat.say(testUser(), '/memebrs')), /Did you mean `\/members`\?/);
      assert.match(textOf(await chat.say(dave, 'join ABCDE-FGHJK')), /This join code is not valid/);
      assert.doesNotMatch(textOf(await chat.say(dave, 'join ABCDE-FGHJK')), /invite link/);
      assert.deepEqual(await posts(groupId), []);
    });
  });

  describe('asking before harm, and telling who it touches', () => {
    it('asks before removing; the answer names the person; the removed member is told in their own chat', async () => {
      const { groupId, owner, members } = await groupWith('Echo Crew', ['Dave', 'Erin']);
      const [dave, erin] = members as [TestUser, TestUser];
      const ask = await chat.say(owner, 'remove Dave');
      assert.match(textOf(ask), /Remove Dave from Echo Crew\?/);
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 3, 'nobody is removed before the answer');
      const confirm = buttonData(cardsIn(ask)[0]!, 'confirmRemove');
      assert.deepEqual(confirm, { verb: 'confirmRemove', groupId, userId: uid(dave) });
      const done = await chat.submit(owner, 'confirmRemove', confirm, { replyToId: 'card-remove' });
      assert.match(textOf(done), /Removed Dave from Echo Crew\./);
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 2);
      // The confirmation card is retired, as Leave's and Reset link's are.
      assert.ok(t.channel.to(chatOf(owner)).some((s) => s.method === 'PUT' && s.path.endsWith('/card-remove')));

      const notice = await t.channel.waitFor(() =>
        t.channel.to(chatOf(dave)).some((s) => s.activity.text === 'An admin removed you from Echo Crew.'),
      );
      assert.ok(notice);
      assert.ok(!t.channel.to(chatOf(erin)).some((s) => /removed you/.test(String(s.activity.text ?? ''))), 'only Dave is told');

      // The members card's Remove button asks too.
      const viaCard = await chat.submit(owner, 'removeMember', { groupId, userId: uid(erin) });
      assert.match(textOf(viaCard), /Remove Erin from Echo Crew\?/);
      assert.equal((await t.app.groups.getGroup(groupId)).memberCount, 2);
    });

    it("asks before deleting a post from the post card's button, then deletes it for everyone", async () => {
      const { groupId, owner, members } = await groupWith('Foxtrot Crew', ['Dave']);
      const dave = members[0]!;
      await chat.say(dave, 'the truck is late');
      const ownerCopy = await t.channel.waitFor(() => copiesTo(owner).length === 1).then(() => copiesTo(owner)[0]!);
      const del = buttonData(cardsIn([ownerCopy])[0]!, 'deletePost');
      const ask = await chat.submit(owner, 'deletePost', del);
      assert.match(textOf(ask), /Delete this post for everyone\?[\s\S]*the truck is late/);
      const [post] = await (async () => {
        const out = [];
        for await (const p of t.app.posts.all(groupId)) out.push(p);
        return out;
      })();
      assert.equal(post?.deletedAt, undefined, 'not deleted before the answer');
      assert.match(
        textOf(await chat.submit(owner, 'confirmDeletePost', buttonData(cardsIn(ask)[0]!, 'confirmDeletePost'))),
        /deleted for everyone/,
      );
      for await (const p of t.app.posts.all(groupId)) assert.ok(p.deletedAt);
    });

    it('makes an admin a member again (typed and by the button), never the last admin', async () => {
      const { groupId, owner, members } = await groupWith('Golf Crew', ['Dave']);
      const dave = members[0]!;
      await chat.say(owner, 'make admin Dave');
      const members1 = cardsIn(await chat.submit(owner, 'showMembers', { groupId }))[0]!;
      // Tapping Dave on the members card answers his card, with Remove admin.
      const daves = cardsIn(await chat.submit(owner, 'manageMember', buttonData(members1, 'manageMember')))[0]!;
      assert.deepEqual(buttonData(daves, 'removeAdmin'), { verb: 'removeAdmin', groupId, userId: uid(dave) });
      assert.match(textOf(await chat.say(owner, 'remove admin Dave')), /Dave is a member again/);
      assert.deepEqual(
        (await t.app.groups.listAdmins(groupId)).map((a) => a.user.name),
        [owner.name],
      );
      await chat.say(owner, 'make admin Dave');
      assert.match(textOf(await chat.submit(owner, 'removeAdmin', { groupId, userId: uid(dave) })), /Dave is a member again/);
      // The last admin stays an admin, typed or clicked.
      assert.match(textOf(await chat.say(owner, `/remove admin ${owner.name}`)), /only admin/);
      assert.match(textOf(await chat.submit(owner, 'removeAdmin', { groupId, userId: uid(owner) })), /only admin/);
      assert.deepEqual(
        (await t.app.groups.listAdmins(groupId)).map((a) => a.user.name),
        [owner.name],
      );
      assert.deepEqual(await posts(groupId), []);
    });
  });
});
