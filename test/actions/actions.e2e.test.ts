import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { memoryLogger, startTestApp, type TestApp } from '../helpers/testApp';
import { PollClosing } from '../../src/actions/pollClosing';
import { messageActivity, testUser, type TestUser } from '../helpers/activities';
import { Chat, buttonData, cardsIn, textOf, actionsIn, type CardJson } from '../helpers/chat';
import { RecordingDeliveryEngine } from '../helpers/recordingEngine';
import { validateCard } from '../../cards/validate';
import { ActionStore } from '../../src/actions/actionStore';
import { groupExportCsv } from '../../src/web/groupExport';

/**
 * Issue 19 end to end through /api/messages: announcements members confirm and polls, as posts of the group
 * (the recording engine stands for delivery; each member's copy is rendered by the app's real RenderCopy).
 */
describe('Announcements and polls, end to end', function () {
  this.timeout(60_000);
  let t: TestApp;
  let chat: Chat;
  let engine: RecordingDeliveryEngine;
  let store: ActionStore;

  before(async () => {
    engine = new RecordingDeliveryEngine();
    t = await startTestApp({}, { createDeliveryEngine: engine.factory });
    chat = new Chat(t);
    store = new ActionStore(t.app.tables.actions);
  });
  after(async () => {
    await t.stop();
  });

  const uid = (user: TestUser) => user.aadObjectId;
  const valid = (card: CardJson) => assert.deepEqual(validateCard(card), [], JSON.stringify(card).slice(0, 400));

  async function groupWith(name: string, count: number) {
    const owner = testUser(`Owner of ${name}`);
    const groupId = await chat.createGroup(owner, name);
    const members = Array.from({ length: count }, (_, i) => testUser(`${name} member ${i + 1}`));
    const invite = await t.app.groups.getInvite(groupId, { id: uid(owner), name: owner.name });
    for (const m of members) await chat.say(m, `join ${invite.url}`);
    return { groupId, owner, members };
  }

  /** The copy the engine would deliver to this member, for the post at `seq`. */
  async function copyFor(groupId: string, seq: number, user: TestUser): Promise<CardJson> {
    const recipient = await engine.source!.getRecipient(groupId, uid(user));
    const activity = (await engine.renderCopy!(groupId, seq, recipient!)) as { attachments: Array<{ content: CardJson }> };
    const card = activity.attachments[0]!.content;
    valid(card);
    return card;
  }

  async function lastPost(groupId: string) {
    let last;
    for await (const p of t.app.posts.all(groupId)) last = p;
    return last!;
  }

  async function announce(owner: TestUser, groupId: string, fields: Record<string, unknown> = {}) {
    const form = cardsIn(await chat.say(owner, `announce ${groupId}`)).at(-1)!;
    valid(form);
    const sent = await chat.submit(owner, 'createAnnouncement', {
      ...buttonData(form, 'createAnnouncement'),
      title: 'Gate code',
      text: 'The gate code changes on Monday.',
      askConfirm: 'true',
      ...fields,
    });
    const card = cardsIn(sent).at(-1)!;
    valid(card);
    const post = await lastPost(groupId);
    return { card, post, actionId: post.action!.id, sent };
  }

  async function createPoll(owner: TestUser, groupId: string, fields: Record<string, unknown> = {}) {
    const form = cardsIn(await chat.say(owner, `poll ${groupId}`)).at(-1)!;
    valid(form);
    const sent = await chat.submit(owner, 'createPoll', {
      groupId,
      question: 'Lunch?',
      option1: 'Pizza',
      option2: 'Salad',
      option3: 'Soup',
      multi: 'false',
      anonymous: 'false',
      resultsFor: 'everyone',
      ...fields,
    });
    const post = await lastPost(groupId);
    assert.ok(post.action, textOf(sent));
    return { card: cardsIn(sent).at(-1)!, post, actionId: post.action.id };
  }

  it('announces as a post of the group: every member gets a card with Got it, the sender sees "0 of N confirmed"', async () => {
    const { groupId, owner, members } = await groupWith('Gate crew', 2);
    const { card, post, sent } = await announce(owner, groupId);
    assert.match(textOf(sent), /Sent to everyone/);
    assert.match(textOf(card), /0 of 3 members confirmed/);
    assert.equal(post.action!.kind, 'announcement');
    assert.match(post.text, /^Announcement: Gate code/);
    assert.deepEqual(engine.seqs('postAccepted', groupId), [post.seq]);
    const copy = await copyFor(groupId, post.seq, members[0]!);
    assert.match(textOf(copy), /Gate code[\s\S]*The gate code changes on Monday/);
    assert.ok(actionsIn(copy).some((a) => a.data?.verb === 'confirmAction'));
    assert.equal((copy.refresh as { action: { verb: string } }).action.verb, 'refreshAction');
    assert.ok(!actionsIn(copy).some((a) => a.data?.verb === 'remindAction'), 'no admin buttons for a member');
  });

  it('turns Got it into "You confirmed at" (Execute and Submit), counts a redelivery once, and lists who has not', async () => {
    const { groupId, owner, members } = await groupWith('Confirmers', 3);
    const { actionId } = await announce(owner, groupId);
    const ids = { groupId, actionId };
    const executed = await chat.execute(members[0]!, 'confirmAction', ids);
    const replaced = executed.body.value as CardJson;
    valid(replaced);
    assert.match(textOf(replaced), /You confirmed at \{\{DATE\(\d{4}-\d\d-\d\dT[\d:]+Z, SHORT\)\}\} \{\{TIME\(/);
    assert.doesNotMatch(textOf(replaced), /UTC/);
    // Action.Submit from the card: the clicked card is replaced in place; the same activity twice counts once.
    const activity = messageActivity(t.channel.serviceUrl, members[1]!, {
      value: { verb: 'confirmAction', ...ids },
      id: `act-${randomUUID()}`,
      replyToId: 'card-1',
    });
    await Promise.all([t.post(activity), t.post(activity)]);
    await chat.submit(members[1]!, 'confirmAction', ids); // a double tap
    const updates = t.channel.to(`a:personal-${members[1]!.id}`).filter((s) => s.method === 'PUT');
    assert.ok(updates.length >= 1, 'the clicked card was updated');
    assert.equal((await store.tallies(groupId, actionId)).get('confirmed'), 2);
    const refreshed = await chat.execute(owner, 'refreshAction', ids);
    assert.match(textOf(refreshed.body.value as CardJson), /2 of 4 members confirmed/);
    const list = cardsIn(await chat.submit(owner, 'notAnsweredPage', ids)).at(-1)!;
    valid(list);
    assert.match(textOf(list), /1 member have not confirmed/);
    assert.match(textOf(list), /Confirmers member 3/);
    assert.doesNotMatch(textOf(list), /Confirmers member 1|Owner of/);
    const searched = cardsIn(await chat.submit(owner, 'notAnsweredPage', { ...ids, search: 'nobody-like-this' })).at(-1)!;
    assert.match(textOf(searched), /0 matches/);
    // A member may not see the list.
    assert.match(textOf(await chat.submit(members[2]!, 'notAnsweredPage', ids)), /Only group admins and its creator/);
  });

  it('reminds only those who have not confirmed, at most once per 4 hours; leavers stop counting', async () => {
    const { groupId, owner, members } = await groupWith('Reminded', 3);
    const { actionId } = await announce(owner, groupId);
    const ids = { groupId, actionId };
    await chat.submit(members[0]!, 'confirmAction', ids);
    await chat.submit(members[2]!, 'confirmLeave', { groupId });
    const answer = await chat.submit(owner, 'remindAction', ids);
    assert.match(textOf(answer), /Reminder sent to 1 member who have not confirmed/);
    await t.app.settled();
    const reminded = engine.calls.filter((c) => c.call === 'sendOneOff' && c.key.startsWith(`remind|${groupId}|`));
    assert.deepEqual(
      reminded.map((c) => (c as { userId: string }).userId),
      [uid(members[1]!)],
    );
    assert.match(textOf(await chat.submit(owner, 'remindAction', ids)), /less than 4 hours ago/);
    await t.app.settled();
    assert.equal(engine.calls.filter((c) => c.call === 'sendOneOff' && c.key.startsWith(`remind|${groupId}|`)).length, 1);
  });

  it('finishes reminders a crash cut short on the next Remind, under the same keys, and only then uses the window', async () => {
    const { groupId, owner } = await groupWith('Crashed reminders', 3);
    const { actionId } = await announce(owner, groupId);
    const ids = { groupId, actionId };
    const mine = () => engine.calls.flatMap((c) => (c.call === 'sendOneOff' && c.key.startsWith(`remind|${groupId}|`) ? [c] : []));
    // The instance "dies" while handing the second reminder to the engine: the loop stops there.
    const sendOneOff = engine.sendOneOff.bind(engine);
    let handed = 0;
    engine.sendOneOff = async (key, recipient) => {
      if (key.startsWith(`remind|${groupId}|`) && ++handed === 2) throw new Error('the instance died');
      return sendOneOff(key, recipient);
    };
    try {
      assert.match(textOf(await chat.submit(owner, 'remindAction', ids)), /Reminder sent to 3 members/);
      await t.app.settled();
    } finally {
      engine.sendOneOff = sendOneOff;
    }
    const before = mine();
    assert.equal(before.length, 1, 'one reminder was with the engine when the instance died');
    // The window was not used: a second Remind hands every reminder over, the first one under its same key.
    assert.match(textOf(await chat.submit(owner, 'remindAction', ids)), /Reminder sent to 3 members/);
    await t.app.settled();
    const after = mine();
    const keys = new Set(after.map((c) => c.key));
    assert.equal(keys.size, 3, 'one key per member: the engine sends each key once');
    assert.equal(new Set(after.map((c) => c.userId)).size, 3, 'every member who has not confirmed is reached');
    assert.ok(keys.has(before[0]!.key), 'the reminder handed over before the crash keeps its key (not sent twice)');
    // Now the window is used.
    assert.match(textOf(await chat.submit(owner, 'remindAction', ids)), /less than 4 hours ago/);
  });

  it('runs a named single-choice poll: vote, change the vote, results after voting, refuse a missing option', async () => {
    const { groupId, owner, members } = await groupWith('Named poll', 2);
    const { post, actionId } = await createPoll(owner, groupId);
    const ids = { groupId, actionId };
    const copy = await copyFor(groupId, post.seq, members[0]!);
    assert.ok(actionsIn(copy).some((a) => a.data?.verb === 'voteAction'));
    assert.doesNotMatch(textOf(copy), /Results so far/);
    const voted = (await chat.execute(members[0]!, 'voteAction', { ...ids, choice: '0' })).body.value as CardJson;
    valid(voted);
    assert.match(textOf(voted), /You voted: Pizza at/);
    assert.match(textOf(voted), /Results so far: 1 person voted[\s\S]*Pizza[\s\S]*1 vote \(100%\)/);
    const changed = (await chat.execute(members[0]!, 'voteAction', { ...ids, choice: '1' })).body.value as CardJson;
    assert.match(textOf(changed), /You voted: Salad/);
    const tallies = await store.tallies(groupId, actionId);
    assert.deepEqual(
      [tallies.get(0) ?? 0, tallies.get(1) ?? 0, tallies.get('answered') ?? 0],
      [0, 1, 0],
      'one counter row per single choice',
    );
    const missing = (await chat.execute(members[1]!, 'voteAction', { ...ids, choice: '7' })).body.value as CardJson;
    assert.match(textOf(missing), /That option does not exist/);
    const two = (await chat.execute(members[1]!, 'voteAction', { ...ids, choice: '0,1' })).body.value as CardJson;
    assert.match(textOf(two), /This poll takes one choice/);
  });

  it('keeps an anonymous vote final, counts multiple choices, and stores no row joining a member to a choice', async () => {
    const { groupId, owner, members } = await groupWith('Anonymous poll', 3);
    const { actionId } = await createPoll(owner, groupId, { anonymous: 'true', multi: 'true' });
    const ids = { groupId, actionId };
    await chat.execute(members[0]!, 'voteAction', { ...ids, choice: '0,2' });
    await chat.submit(members[1]!, 'voteAction', { ...ids, choice: '2' });
    const again = (await chat.execute(members[0]!, 'voteAction', { ...ids, choice: '1' })).body.value as CardJson;
    assert.match(textOf(again), /An anonymous vote cannot be changed/);
    const tallies = await store.tallies(groupId, actionId);
    assert.deepEqual([tallies.get(0), tallies.get(1) ?? 0, tallies.get(2), tallies.get('answered')], [1, 0, 2, 2]);
    // Every table of this app: no row names a voter together with a choice.
    const voterIds = [uid(members[0]!), uid(members[1]!), members[0]!.id, members[1]!.id];
    for (const [name, client] of Object.entries(t.app.tables)) {
      for await (const row of (client as typeof t.app.tables.actions).listEntities()) {
        const json = JSON.stringify(row);
        if (!voterIds.some((id) => json.includes(id))) continue;
        assert.ok(
          !('choices' in row) && !/"choices?"|Pizza|Soup/.test(json.replace(/"json":"[^"]*"/, '')),
          `${name} row joins a member to a choice: ${json.slice(0, 300)}`,
        );
      }
    }
    const report = await csvOf(owner, groupId, actionId);
    assert.match(report, /"Anonymous poll member 1","[^"]+","yes","[^"]+",""/);
  });

  async function csvOf(owner: TestUser, groupId: string, actionId: string): Promise<string> {
    const card = (await chat.execute(owner, 'refreshAction', { groupId, actionId })).body.value as CardJson;
    const link = actionsIn(card).find((a) => a.title === 'CSV report')!.url!;
    const res = await fetch(link);
    assert.equal(res.status, 200);
    return res.text();
  }

  it('shows results only to admins when asked, closes a poll (results posted, voting locked), and reports named choices', async () => {
    const { groupId, owner, members } = await groupWith('Admins results', 2);
    await chat.say(members[0]!, 'my name is =HYPERLINK()'); // a post, not a rename: just noise
    const { actionId } = await createPoll(owner, groupId, { resultsFor: 'admins' });
    const ids = { groupId, actionId };
    const voted = (await chat.execute(members[0]!, 'voteAction', { ...ids, choice: '1' })).body.value as CardJson;
    assert.doesNotMatch(textOf(voted), /Results so far/);
    assert.match(textOf(voted), /Results are for admins/);
    assert.match(textOf((await chat.execute(owner, 'refreshAction', ids)).body.value as CardJson), /1 of 3 members voted/);
    const closed = (await chat.execute(owner, 'closePoll', ids)).body.value as CardJson;
    assert.match(textOf(closed), /This poll is closed/);
    const results = await lastPost(groupId);
    assert.match(results.text, /The poll "Lunch\?" is closed/);
    assert.doesNotMatch(results.text, /Salad: 1/, 'admins-only results are not posted to everyone');
    const late = (await chat.execute(members[1]!, 'voteAction', { ...ids, choice: '0' })).body.value as CardJson;
    assert.match(textOf(late), /This poll is closed/);
    const report = await csvOf(owner, groupId, actionId);
    assert.match(report, /"Admins results member 1","[^"]+","yes","[^"]+","Salad"/);
    assert.match(report, /"Admins results member 2","[^"]+","no","",""/);
  });

  it('closes a poll at its closing time: one results post from two instances and a second sweep, an overdue announcement posts nothing', async () => {
    const { groupId, owner, members } = await groupWith('Timed poll', 2);
    const tomorrow = new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10);
    await announce(owner, groupId, { dueDate: tomorrow, dueTime: '08:00' });
    const { actionId } = await createPoll(owner, groupId, { closeDate: tomorrow, closeTime: '09:00' });
    const closesAt = `${tomorrow}T09:00:00.000Z`;
    assert.equal(((await store.get(groupId, actionId)) as { closesAt?: string }).closesAt, closesAt);
    await chat.execute(members[0]!, 'voteAction', { groupId, actionId, choice: '2' });
    await chat.submit(members[1]!, 'voteAction', { groupId, actionId, choice: '2' });
    const resultsPosts = async () => {
      const found = [];
      for await (const p of t.app.posts.all(groupId)) if (/The poll "Lunch\?" is closed/.test(p.text)) found.push(p);
      return found;
    };
    // Before its time: nothing closes.
    await t.app.pollClosing.sweep(new Date(Date.parse(closesAt) - 60_000));
    const closedAt = async () => ((await store.get(groupId, actionId)) as { closedAt?: string }).closedAt;
    assert.equal(await closedAt(), undefined);
    assert.deepEqual(await resultsPosts(), []);
    // After it: two instances on one storage account sweep at once; one results post, in the creator's name.
    const later = new Date(Date.parse(closesAt) + 60_000);
    const other = new PollClosing(t.app.pollClosing.deps, memoryLogger().logger);
    await Promise.all([t.app.pollClosing.sweep(later), other.sweep(later)]);
    const posted = await resultsPosts();
    assert.equal(posted.length, 1, 'one results post');
    assert.match(posted[0]!.text, /2 voted\.[\s\S]*- Soup: 2/);
    assert.equal(posted[0]!.sender.userId, uid(owner));
    assert.ok(engine.seqs('postAccepted', groupId).includes(posted[0]!.seq), 'delivered through the engine');
    assert.equal(await closedAt(), closesAt, 'locked at its closing time');
    const late = (await chat.execute(members[1]!, 'voteAction', { groupId, actionId, choice: '0' })).body.value as CardJson;
    assert.match(textOf(late), /This poll is closed/);
    // A later sweep finds nothing due (the overdue announcement included), and posts nothing.
    const before = (await lastPost(groupId)).seq;
    assert.equal(await t.app.pollClosing.sweep(new Date(later.getTime() + 3600_000)), 0);
    assert.equal((await lastPost(groupId)).seq, before);
    // A crash after the lock and before the post: the poll is still due, and the sweep posts under the same key.
    const second = await createPoll(owner, groupId, { question: 'Dinner?', closeDate: tomorrow, closeTime: '10:00' });
    await store.close(groupId, second.actionId, `${tomorrow}T10:00:00.000Z`);
    assert.equal(await t.app.pollClosing.sweep(new Date(later.getTime() + 2 * 3600_000)), 1);
    assert.match((await lastPost(groupId)).text, /The poll "Dinner\?" is closed\. 0 voted/);
    // Closed by hand before its time: its results went out then; the sweep at its time posts nothing more.
    const third = await createPoll(owner, groupId, { question: 'Breakfast?', closeDate: tomorrow, closeTime: '11:00' });
    await chat.execute(owner, 'closePoll', { groupId, actionId: third.actionId });
    const closedByHand = (await lastPost(groupId)).seq;
    assert.match((await lastPost(groupId)).text, /The poll "Breakfast\?" is closed/);
    assert.equal(await t.app.pollClosing.sweep(new Date(later.getTime() + 3 * 3600_000)), 0);
    assert.equal((await lastPost(groupId)).seq, closedByHand);
  });

  it("refuses a forged answer: another group's action, a stranger, an unknown action", async () => {
    const a = await groupWith('Group A', 1);
    const b = await groupWith('Group B', 1);
    const { actionId } = await createPoll(b.owner, b.groupId);
    const forged = await chat.execute(a.members[0]!, 'voteAction', { groupId: a.groupId, actionId, choice: '0' });
    assert.match(textOf(forged.body.value as CardJson), /does not exist/);
    const stranger = await chat.execute(a.members[0]!, 'voteAction', { groupId: b.groupId, actionId, choice: '0' });
    assert.match(textOf(stranger.body.value as CardJson), /not a member/);
    assert.equal((await store.tallies(b.groupId, actionId)).get('answered') ?? 0, 0);
  });

  it("puts an announcement and a poll, and a closed poll's results, in the group's export", async () => {
    const { groupId, owner, members } = await groupWith('Exported', 1);
    await announce(owner, groupId);
    const { actionId } = await createPoll(owner, groupId);
    await chat.execute(members[0]!, 'voteAction', { groupId, actionId, choice: '2' });
    await chat.execute(owner, 'closePoll', { groupId, actionId });
    const data = await t.app.groups.exportGroup(groupId);
    const csv = await groupExportCsv(data.group, data.members, data.audit, t.app.posts.all(groupId));
    assert.match(csv, /Announcement: Gate code/);
    assert.match(csv, /Poll: Lunch\?/);
    assert.match(csv, /The poll ""Lunch\?"" is closed\. 1 voted\.[\s\S]*- Soup: 1/);
  });

  it('refuses a member where only admins post, and puts actions in history and deletes them with the group', async () => {
    const { groupId, owner, members } = await groupWith('Quiet', 1);
    const verbsOfInfo = async (user: TestUser) => {
      const info = cardsIn(await chat.submit(user, 'showGroupInfo', { groupId })).at(-1)!;
      valid(info);
      return actionsIn(info).map((a) => a.data?.verb);
    };
    assert.ok((await verbsOfInfo(members[0]!)).includes('newPoll'), 'a member where members post sees Poll');
    await chat.submit(owner, 'saveSettings', { groupId, onlyAdminsPost: 'true', historyForNewMembers: 'true' });
    assert.match(textOf(await chat.say(members[0]!, `poll ${groupId}`)), /Only admins can post/);
    // Group Info: no Announce or Poll for a member where only admins post; the admin keeps both.
    const memberVerbs = await verbsOfInfo(members[0]!);
    assert.ok(memberVerbs.includes('showInvite'), 'the member got Group Info');
    assert.ok(!memberVerbs.includes('newAnnouncement') && !memberVerbs.includes('newPoll'), memberVerbs.join());
    const ownerVerbs = await verbsOfInfo(owner);
    assert.ok(ownerVerbs.includes('newAnnouncement') && ownerVerbs.includes('newPoll'), ownerVerbs.join());
    const { actionId } = await announce(owner, groupId);
    assert.match(textOf(await chat.say(members[0]!, 'history')), /Announcement: Gate code/);
    await chat.submit(owner, 'confirmDelete', { groupId });
    await t.app.settled();
    assert.equal(await store.get(groupId, actionId), undefined);
  });

  it("deletes a poll's answers and tallies with its post (nothing about a post outlives its deletion)", async () => {
    const { groupId, owner, members } = await groupWith('Deleted poll', 2);
    const { post, actionId } = await createPoll(owner, groupId);
    await chat.submit(members[0]!, 'voteAction', { groupId, actionId, choice: '1' });
    const partition = `${groupId}|${actionId}`;
    const rowsOf = async () => {
      const rows: string[] = [];
      for await (const row of t.app.tables.actions.listEntities({ queryOptions: { filter: `PartitionKey eq '${partition}'` } }))
        rows.push(row.rowKey!);
      return rows;
    };
    assert.ok((await rowsOf()).length > 1, 'the poll has its action, voter and tally rows');
    await chat.submit(owner, 'confirmDeletePost', { groupId, seq: post.seq });
    assert.deepEqual(await rowsOf(), []);
    assert.equal(await store.get(groupId, actionId), undefined);
  });

  it('shows four poll options and the rest behind "More options", and turns a sent form into a "sent" line', async () => {
    const { groupId, owner } = await groupWith('Form poll', 1);
    const conversation = `a:personal-${owner.id}`;
    const formMessage = (await chat.say(owner, `poll ${groupId}`)).at(-1)!;
    const form = cardsIn([formMessage]).at(-1)!;
    valid(form);
    const body = form.body as Array<{ type: string; id?: string; isVisible?: boolean; items?: Array<{ id?: string }> }>;
    assert.deepEqual(
      body.filter((e) => e.type === 'Input.Text' && e.id?.startsWith('option')).map((e) => e.id),
      ['option1', 'option2', 'option3', 'option4'],
    );
    const more = body.find((e) => e.type === 'Container' && e.isVisible === false)!;
    assert.deepEqual(
      more.items!.map((i) => i.id),
      ['option5', 'option6', 'option7', 'option8', 'option9', 'option10'],
    );
    const toggle = actionsIn(form).find((a) => a.type === 'Action.ToggleVisibility') as { targetElements?: string[] } | undefined;
    assert.deepEqual(toggle?.targetElements, [more.id]);
    const fields = {
      groupId,
      question: 'Shifts?',
      option1: 'Early',
      option2: 'Late',
      multi: 'false',
      anonymous: 'false',
      resultsFor: 'everyone',
    };
    const puts = () => t.channel.to(conversation).filter((s) => s.method === 'PUT');
    // A refused Send leaves the form as it is, to be corrected.
    const refused = await chat.submit(owner, 'createPoll', { ...fields, option3: 'early' }, { replyToId: formMessage.id });
    assert.match(textOf(refused), /Two options are the same/);
    assert.equal(puts().length, 0);
    // A hidden option's value is taken like the others; the sent form becomes a line, with no input and no button.
    await chat.submit(owner, 'createPoll', { ...fields, option7: 'Night' }, { replyToId: formMessage.id });
    const post = await lastPost(groupId);
    assert.deepEqual(((await store.get(groupId, post.action!.id)) as { options: readonly string[] }).options, ['Early', 'Late', 'Night']);
    const replaced = puts();
    assert.equal(replaced.length, 1);
    assert.ok(
      replaced[0]!.path.endsWith(encodeURIComponent(formMessage.id!)) || replaced[0]!.path.endsWith(formMessage.id!),
      replaced[0]!.path,
    );
    const sentLine = cardsIn(replaced).at(-1)!;
    valid(sentLine);
    assert.match(textOf(sentLine), /Poll sent to\s*Form poll[\s\S]*Shifts\?/);
    assert.deepEqual(actionsIn(sentLine), []);
    assert.doesNotMatch(JSON.stringify(sentLine), /Input\./);
  });

  it("refuses a vote once another instance closed the poll, and shows a closed card without Who hasn't or Remind", async () => {
    const { groupId, owner, members } = await groupWith('Closed elsewhere', 2);
    const { actionId } = await createPoll(owner, groupId);
    const ids = { groupId, actionId };
    // This instance has the poll in hand (open) from the first vote...
    assert.match(textOf((await chat.execute(members[0]!, 'voteAction', { ...ids, choice: '0' })).body.value as CardJson), /You voted/);
    // ...when another instance on the same storage closes it.
    await new ActionStore(t.app.tables.actions).close(groupId, actionId, new Date().toISOString());
    const late = (await chat.execute(members[1]!, 'voteAction', { ...ids, choice: '1' })).body.value as CardJson;
    valid(late);
    assert.equal(textOf(late).match(/This poll is closed/g)?.length, 1, textOf(late));
    assert.doesNotMatch(textOf(late), /You voted/);
    assert.equal((await store.voters(groupId, actionId)).size, 1);
    assert.equal((await store.tallies(groupId, actionId)).get(1) ?? 0, 0);
    const card = (await chat.execute(owner, 'refreshAction', ids)).body.value as CardJson;
    valid(card);
    const verbs = actionsIn(card).map((a) => a.data?.verb);
    for (const gone of ['notAnsweredPage', 'remindAction', 'closePoll', 'voteAction'])
      assert.ok(!verbs.includes(gone), `${gone} on a closed poll`);
    assert.ok(
      actionsIn(card).some((a) => a.title === 'CSV report'),
      'the report stays',
    );
    assert.match(textOf(card), /This poll is closed\.[\s\S]*Closed \{\{DATE\(/);
    assert.match(textOf(card), /1 of 3 members voted/);
    assert.doesNotMatch(JSON.stringify(card), /"color":"Attention"|"style":"attention"/, 'closing is not an alarm');
  });

  it('runs polls kept before polls had closeDue: they load, take votes, close by hand and at their time', async () => {
    const { groupId, owner, members } = await groupWith('Legacy polls', 1);
    const tomorrow = new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10);
    const closesAt = `${tomorrow}T09:00:00.000Z`;
    // Rows as the first version of polls kept them: the JSON and createdAt, no closeDue column.
    const legacy = async (question: string, extra: Record<string, unknown>) => {
      const actionId = `legacy${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const createdAt = new Date().toISOString();
      const poll = {
        kind: 'poll',
        groupId,
        actionId,
        question,
        options: ['Yes', 'No'],
        multi: false,
        anonymous: false,
        resultsFor: 'everyone',
        createdBy: { id: uid(owner), name: owner.name },
        createdAt,
        ...extra,
      };
      await t.app.tables.actions.createEntity({
        partitionKey: `${groupId}|${actionId}`,
        rowKey: 'action',
        json: JSON.stringify(poll),
        createdAt,
      });
      return { groupId, actionId };
    };
    const timed = await legacy('Timed old poll?', { closesAt, creatorTenantId: '' });
    const card = (await chat.execute(members[0]!, 'refreshAction', timed)).body.value as CardJson;
    valid(card);
    assert.ok(actionsIn(card).some((a) => a.data?.verb === 'voteAction'));
    assert.match(textOf(card), /Closes \{\{DATE\(/);
    assert.match(
      textOf((await chat.execute(members[0]!, 'voteAction', { ...timed, choice: '1' })).body.value as CardJson),
      /You voted: No/,
    );
    const resultsPosts = async (question: string) => {
      const found = [];
      for await (const p of t.app.posts.all(groupId)) if (p.text.includes(`The poll "${question}" is closed`)) found.push(p);
      return found;
    };
    assert.equal(await t.app.pollClosing.sweep(new Date(Date.parse(closesAt) - 60_000)), 0);
    await t.app.pollClosing.sweep(new Date(Date.parse(closesAt) + 60_000));
    const posted = await resultsPosts('Timed old poll?');
    assert.equal(posted.length, 1, 'closed at its time, one results post');
    assert.match(posted[0]!.text, /1 voted\.[\s\S]*- No: 1/);
    // Without a closing time: closed by hand, results posted, a late vote refused.
    const open = await legacy('Untimed old poll?', {});
    const closed = (await chat.execute(owner, 'closePoll', open)).body.value as CardJson;
    valid(closed);
    assert.match(textOf(closed), /This poll is closed/);
    assert.equal((await resultsPosts('Untimed old poll?')).length, 1);
    assert.match(
      textOf((await chat.execute(members[0]!, 'voteAction', { ...open, choice: '0' })).body.value as CardJson),
      /This poll is closed/,
    );
    assert.equal((await store.voters(groupId, open.actionId)).size, 0);
  });
});
