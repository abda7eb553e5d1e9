import assert from 'node:assert/strict';
import { odata } from '@azure/data-tables';
import { startTestApp, type TestApp } from './helpers/testApp';
import { messageActivity, testUser, type TestUser } from './helpers/activities';
import { Chat, actionsIn, buttonData, cardsIn, textOf, type CardJson } from './helpers/chat';
import type { SentActivity } from './helpers/fakeChannel';
import { validateCard } from '../cards/validate';
import { enc } from '../src/delivery/deliveryStore';

/**
 * Issue 18, group types, end to end: the real app and the real delivery engine on the shared Azurite, driven
 * through /api/messages; what each member's chat received is read from the fake Teams channel. Hidden members,
 * hub-and-spoke threads, the broadcast group and join notices, in chat, copies and history.
 */

const FAST = { pollMs: 50, laneIdleMs: 1_000, sweepMs: 2_000, backoffBaseMs: 50, flushMs: 20 };
const DEADLINE_MS = 20_000;
const ONLY = 'Only you and the admins see this';

describe('Group types, end to end: hidden members, hub-and-spoke, broadcast, join notices', function () {
  this.timeout(90_000);
  let t: TestApp;
  let chat: Chat;

  before(async () => {
    t = await startTestApp({}, { deliveryTuning: FAST });
    chat = new Chat(t);
  });
  after(async () => {
    await t.stop();
  });

  const uid = (user: TestUser) => user.aadObjectId;
  const chatOf = (user: TestUser) => `a:personal-${user.id}`;

  async function waitFor(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
    const deadline = Date.now() + DEADLINE_MS;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`not within ${DEADLINE_MS} ms: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async function join(user: TestUser, groupId: string, admin: TestUser): Promise<void> {
    const invite = await t.app.groups.getInvite(groupId, { id: uid(admin), name: admin.name });
    const res = await t.post(messageActivity(t.channel.serviceUrl, user, { text: `join ${invite.url}` }));
    assert.equal(res.status, 200);
  }

  async function group(name: string, names: string[]): Promise<{ groupId: string; owner: TestUser; members: TestUser[] }> {
    const owner = testUser(`Owner of ${name}`);
    const groupId = await chat.createGroup(owner, name);
    const members = names.map((n) => testUser(n));
    for (const m of members) await join(m, groupId, owner);
    return { groupId, owner, members };
  }

  /** Post copies a chat received (the engine's sends carry a notification summary). */
  const copies = (user: TestUser): SentActivity[] =>
    t.channel.to(chatOf(user)).filter((s) => s.method === 'POST' && typeof s.activity['summary'] === 'string');
  const copyTexts = (user: TestUser) => copies(user).map((c) => textOf([c]));

  async function fannedOut(groupId: string): Promise<void> {
    await waitFor(`fan-out of ${groupId}`, async () => {
      const filter = odata`PartitionKey eq ${enc(groupId)}`;
      for await (const row of t.app.tables.outbox.listEntities({ queryOptions: { filter } })) return row === undefined;
      return true;
    });
  }

  async function saveSettings(admin: TestUser, groupId: string, values: Record<string, string>): Promise<CardJson> {
    const sent = await chat.submit(admin, 'saveSettings', { groupId, ...values });
    assert.match(textOf(sent), /Settings saved\./);
    const card = cardsIn(sent)[0]!;
    assert.deepEqual(validateCard(card), []);
    return card;
  }

  function validCard(sent: SentActivity[]): CardJson {
    const card = cardsIn(sent)[0]!;
    assert.ok(card, `a card in ${textOf(sent)}`);
    assert.deepEqual(validateCard(card), []);
    return card;
  }

  describe('hub-and-spoke with hidden members', () => {
    let groupId: string;
    let owner: TestUser;
    let ann: TestUser;
    let bob: TestUser;
    let cleo: TestUser;

    before(async () => {
      const made = await group('Field Hub', ['Ann Field', 'Bob Field', 'Cleo Field']);
      ({ groupId, owner } = made);
      [ann, bob, cleo] = made.members as [TestUser, TestUser, TestUser];
      await chat.submit(owner, 'makeAdmin', { groupId, userId: uid(cleo) });
    });

    it('shows the settings card with the group types and saves them (admins only)', async () => {
      const settings = validCard(await chat.say(owner, 'settings'));
      assert.match(textOf(settings), /Discussion group/);
      assert.match(JSON.stringify(settings), /"id":"memberPostsTo"/);
      const member = validCard(await chat.say(bob, 'settings'));
      assert.deepEqual(
        actionsIn(member).filter((a) => a.data?.['verb'] === 'saveSettings'),
        [],
      );
      assert.match(textOf(await chat.submit(bob, 'saveSettings', { groupId, memberPostsTo: 'admins' })), /Only group admins/);
      const saved = await saveSettings(owner, groupId, { memberPostsTo: 'admins', membersSeeEachOther: 'false' });
      assert.match(textOf(saved), /Hub-and-spoke group/);
      const stored = await t.app.conversation.settings(groupId, uid(owner));
      assert.equal(stored.settings.memberPostsTo, 'admins');
      assert.equal(stored.settings.membersSeeEachOther, false);
    });

    it("sends a member's post to the admins only, and an admin's reply to that member (and the admins) only", async () => {
      const sent = await chat.say(ann, 'Order 7 is missing two boxes');
      assert.match(textOf(sent), /Sent to the admins of \*\*Field Hub\*\* \(only you and the admins see it\)/);
      await fannedOut(groupId);
      for (const admin of [owner, cleo]) {
        assert.equal(copies(admin).length, 1, `${admin.name} (admin) got it`);
        assert.match(copyTexts(admin)[0]!, new RegExp(`${ONLY} \\(with Ann Field\\)`));
        assert.match(copyTexts(admin)[0]!, /Ann Field/, 'admins see the name');
        assert.deepEqual(validateCard(cardsIn(copies(admin))[0]!), []);
      }
      assert.deepEqual(copies(bob), [], 'another member gets nothing');

      const replied = await chat.submit(owner, 'replyToPost', { groupId, seq: 1, replyText: 'On it, Ann' });
      assert.match(textOf(replied), new RegExp(`You replied in .*Field Hub.* ${ONLY} \\(with Ann Field\\)\\.`));
      await fannedOut(groupId);
      assert.equal(copies(ann).length, 1, 'the member gets the answer');
      assert.match(copyTexts(ann)[0]!, new RegExp(`${ONLY}(?! \\(with)`));
      assert.match(copyTexts(ann)[0]!, /On it, Ann/);
      assert.equal(copies(cleo).length, 2, 'the other admin sees the answer too');
      assert.deepEqual(copies(bob), [], 'another member still gets nothing');
    });

    it("sends an admin's new post to everyone", async () => {
      await chat.say(owner, 'Depot closes at 6 today');
      await fannedOut(groupId);
      for (const m of [ann, bob, cleo])
        assert.ok(
          copyTexts(m).some((c) => /Depot closes at 6 today/.test(c)),
          `${m.name} got it`,
        );
      assert.ok(!copyTexts(bob).some((c) => c.includes(ONLY)));
    });

    it("shows each member their own thread and the admins' posts in history; admins see every thread", async () => {
      const bobs = textOf(validCard(await chat.say(bob, 'history')));
      assert.match(bobs, /Depot closes at 6 today/);
      assert.doesNotMatch(bobs, /Order 7|On it, Ann/);
      const anns = textOf(validCard(await chat.say(ann, 'history')));
      assert.match(anns, /Order 7 is missing two boxes[\s\S]*On it, Ann[\s\S]*Depot closes at 6 today/);
      assert.match(anns, new RegExp(ONLY));
      const admins = textOf(validCard(await chat.say(cleo, 'history')));
      assert.match(admins, /Order 7[\s\S]*On it, Ann[\s\S]*Depot closes/);
      // Bob cannot answer a post he may not see (not found, like one that never existed).
      assert.match(textOf(await chat.submit(bob, 'replyToPost', { groupId, seq: 1, replyText: 'me too' })), /not found/);
    });

    it('shows members the count and the admins only in the members card; admins see everyone', async () => {
      const bobs = validCard(await chat.say(bob, 'members'));
      const text = textOf(bobs);
      assert.match(text, /4 members/);
      assert.match(text, /members see the admins, not each other/);
      assert.match(text, /Owner of Field Hub/);
      assert.match(text, /Cleo Field/);
      assert.match(text, /Bob Field/, 'themselves');
      assert.doesNotMatch(text, /Ann Field/);
      assert.doesNotMatch(JSON.stringify(bobs), /memberSearch/, 'no search to probe names with');
      // The search cannot find hidden members either, through any door.
      assert.doesNotMatch(textOf(await chat.submit(bob, 'membersPage', { groupId, memberSearch: 'Ann' })), /Ann Field/);
      const owners = textOf(validCard(await chat.say(owner, 'members')));
      for (const name of ['Ann Field', 'Bob Field', 'Cleo Field']) assert.match(owners, new RegExp(name));
    });

    it('shows a hidden member\'s post to everyone as from "A member", with the name for admins', async () => {
      await saveSettings(owner, groupId, { memberPostsTo: 'everyone' });
      const before = copies(ann).length;
      await chat.say(bob, 'Anyone seen the blue van?');
      await fannedOut(groupId);
      const annCopy = copies(ann).slice(before);
      assert.equal(annCopy.length, 1);
      assert.equal(annCopy[0]!.activity['summary'], 'A member · Field Hub: Anyone seen the blue van?');
      assert.doesNotMatch(textOf(annCopy), /Bob Field/);
      assert.match(copyTexts(owner).at(-1)!, /Bob Field/);
      // Her reply names nobody, and her history neither.
      const seq = Number(buttonData(cardsIn(annCopy)[0]!, 'replyToPost')['seq']);
      const replied = await chat.submit(ann, 'replyToPost', { groupId, seq, replyText: 'By the gate' });
      assert.match(textOf(replied), /to A member: By the gate/);
      await fannedOut(groupId);
      const history = textOf(await chat.say(ann, 'history'));
      assert.match(history, /A member[\s\S]*Anyone seen the blue van/);
      assert.doesNotMatch(history, /Bob Field/);
      assert.match(copyTexts(bob).at(-1)!, /replying to Bob Field|By the gate/);
    });
  });

  describe('broadcast (only admins post, members answer the admins)', () => {
    it("refuses a member's new post, takes their Reply to an admin's post and sends it to the admins only", async () => {
      const { groupId, owner, members } = await group('Broadcast Desk', ['Dina Cast', 'Eli Cast']);
      const [dina, eli] = members as [TestUser, TestUser];
      const card = await saveSettings(owner, groupId, { onlyAdminsPost: 'true', memberPostsTo: 'admins' });
      assert.match(textOf(card), /Broadcast group/);
      await chat.say(owner, 'Quarterly targets are out');
      await fannedOut(groupId);
      assert.equal(copies(dina).length, 1);
      assert.equal(copies(eli).length, 1);
      assert.match(textOf(await chat.say(dina, 'can we talk?')), /Only admins can post in Broadcast Desk\. Use Reply/);
      const seq = Number(buttonData(cardsIn(copies(dina))[0]!, 'replyToPost')['seq']);
      const replied = await chat.submit(dina, 'replyToPost', { groupId, seq, replyText: 'Mine look too high' });
      assert.match(textOf(replied), new RegExp(ONLY));
      await fannedOut(groupId);
      assert.equal(copies(owner).length, 1, 'the admin got the answer');
      assert.match(copyTexts(owner)[0]!, /Mine look too high/);
      assert.equal(copies(eli).length, 1, 'the other member got nothing more');
    });
  });

  describe('join notices', () => {
    const notices = (admin: TestUser) =>
      t.channel.to(chatOf(admin)).filter((s) => s.method === 'POST' && /joined/.test(textOf([s])) && s.activity['summary'] === undefined);

    it('tells admins of each join by default, nothing when off, and a daily digest when chosen', async () => {
      const { groupId, owner } = await group('Notice Board', ['Fay Joiner']);
      await waitFor('the join notice', () => notices(owner).length === 1);
      assert.match(textOf(notices(owner)), /Fay Joiner.* joined .*Notice Board/s);

      await saveSettings(owner, groupId, { joinNotices: 'off' });
      await join(testUser('Gus Quiet'), groupId, owner);
      await saveSettings(owner, groupId, { joinNotices: 'digest' });
      for (const n of ['Hal Digest', 'Ida Digest', 'Jon Digest', 'Kim Digest']) await join(testUser(n), groupId, owner);
      // The notice window has passed for every join above when the digest is due (its sweep reads storage).
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      assert.equal(notices(owner).length, 1, 'no notice for the join while off, nor for each join of a digest');

      const tomorrow = new Date(Date.now() + 25 * 3600_000).toISOString();
      assert.equal(await t.app.joinDigests.deleteOlderThan(tomorrow), 1);
      await waitFor('the digest', () => notices(owner).length === 2);
      const digest = textOf([notices(owner)[1]!]);
      assert.match(
        digest,
        /Kim Digest, Jon Digest, Ida Digest and 1 other joined/,
        'the 4 joins since the digest was chosen, newest first',
      );
      assert.doesNotMatch(digest, /Gus Quiet|Fay Joiner/);
      assert.match(digest, /in the last day/);
      assert.deepEqual(validateCard(cardsIn([notices(owner)[1]!])[0]!), []);
      assert.equal(await t.app.joinDigests.deleteOlderThan(tomorrow), 0, 'told once');
    });
  });

  describe('members, 50 at a time, with search by name', () => {
    it('pages 60 members 50 at a time and finds them by part of a name, for admins and members', async () => {
      const owner = testUser('Owner of Big Yard');
      const groupId = await chat.createGroup(owner, 'Big Yard');
      const invite = await t.app.groups.getInvite(groupId, { id: uid(owner), name: owner.name });
      const workers = Array.from({ length: 60 }, (_, i) => testUser(`Worker ${String(i + 1).padStart(2, '0')}`));
      // Joins through the domain (the chat's join is covered above): 60 at most 8 at a time.
      for (let i = 0; i < workers.length; i += 8) {
        await Promise.all(workers.slice(i, i + 8).map((w) => t.app.groups.join({ ref: invite.url, user: { id: uid(w), name: w.name } })));
      }
      const first = validCard(await chat.say(owner, 'members'));
      assert.match(textOf(first), /61 members/);
      const rows = (card: CardJson) => (textOf(card).match(/Worker \d\d|Owner of Big Yard/g) ?? []).length;
      assert.equal(rows(first), 50);
      assert.equal(
        actionsIn(first).filter((a) => a.data?.['verb'] === 'manageMember').length,
        textOf(first).includes('Owner of Big Yard') ? 49 : 50,
      );
      const second = validCard(await chat.submit(owner, 'membersPage', nextOf(first)));
      assert.equal(rows(second), 11);
      assert.equal(actionsIn(second).filter((a) => a.title === 'Next page').length, 0);

      const found = validCard(await chat.submit(owner, 'membersPage', { groupId, memberSearch: 'worker 5' }));
      // Found through the name index, in the order of their names.
      assert.deepEqual(
        textOf(found).match(/Worker \d\d/g),
        Array.from({ length: 10 }, (_, i) => `Worker 5${i}`),
      );
      assert.match(textOf(found), /whose name, or a word in it, begins with/);

      // Manage on a row: that member's card with what can be done.
      const manage = actionsIn(found).find((a) => a.data?.['verb'] === 'manageMember')!;
      const memberCard = validCard(await chat.submit(owner, 'manageMember', manage.data!));
      assert.ok(actionsIn(memberCard).some((a) => a.data?.['verb'] === 'makeAdmin'));
      assert.match(textOf(await chat.submit(workers[0]!, 'manageMember', manage.data!)), /Only group admins/);

      // A member (members see each other by default) pages and searches too, without Manage.
      const theirs = validCard(await chat.submit(workers[0]!, 'membersPage', { groupId, memberSearch: 'Worker 0' }));
      assert.equal((textOf(theirs).match(/Worker 0\d/g) ?? []).length, 9);
      assert.equal(actionsIn(theirs).filter((a) => a.data?.['verb'] === 'manageMember').length, 0);
    });
  });

  function nextOf(card: CardJson): Record<string, unknown> {
    const next = actionsIn(card).find((a) => a.title === 'Next page');
    assert.ok(next, 'a Next page button');
    return next.data!;
  }
});
