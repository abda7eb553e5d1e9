import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from './helpers/testApp';
import { messageActivity, testUser, type TestUser } from './helpers/activities';
import { Chat, buttonData, cardsIn, textOf } from './helpers/chat';
import type { SentActivity } from './helpers/fakeChannel';
import { validateCard } from '../cards/validate';
import { SAMPLE_TENANT_ID } from '../src/bulkadd/sampleDirectory';

/**
 * Issue 18 from chat, end to end: `add people` -> Check the list -> Add N people, through /api/messages, with the
 * sample directory (no app id), the real delivery engine and job worker, and the fake Teams channel, which
 * creates each added person's chat and receives the welcomes and the admin's report.
 */

const FAST = { pollMs: 50, laneIdleMs: 1_000, sweepMs: 2_000, backoffBaseMs: 50, flushMs: 20 };
const ALEX = '00000000-0000-0000-0000-0000000000020';
const MEGAN = '00000000-0000-0000-0000-0000000000021';
const ADELE = '00000000-0000-0000-0000-0000000000022';

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Add people in bulk from chat: a pasted list, checked, then added and welcomed (sample directory)', function () {
  this.timeout(60_000);
  let t: TestApp;
  let admin: TestUser;
  let groupId: string;
  const GROUP = 'Depot Crew';

  before(async () => {
    t = await startTestApp({}, { deliveryTuning: FAST });
    admin = testUser('Ann Admin');
    groupId = await new Chat(t).createGroup(admin, GROUP);
  });
  after(async () => {
    await t?.stop();
  });

  /** A turn of the admin in the playground's tenant (the sample directory's people belong to it). */
  async function asAdmin(fields: { text?: string; value?: Record<string, unknown> }): Promise<SentActivity[]> {
    const activity = messageActivity(t.channel.serviceUrl, admin, fields);
    (activity.conversation as Record<string, unknown>).tenantId = SAMPLE_TENANT_ID;
    activity.channelData = { tenant: { id: SAMPLE_TENANT_ID } };
    const conversationId = `a:personal-${admin.id}`;
    const before = t.channel.to(conversationId).length;
    const res = await t.post(activity);
    assert.equal(res.status, 200, res.body);
    return t.channel.to(conversationId).slice(before);
  }

  const chatOf = (userId: string) => t.channel.created.filter((c) => c.body.members?.[0]?.id === userId).map((c) => c.id);
  const welcomesTo = (userId: string) =>
    chatOf(userId).flatMap((id) => t.channel.to(id).filter((s) => s.method === 'POST' && /added you to/.test(String(s.activity.text))));
  const reports = () => t.channel.to(`a:personal-${admin.id}`).filter((s) => /Bulk add to/.test(String(s.activity.text)));
  const jobRows = async () => {
    let n = 0;
    for await (const row of t.app.tables.bulkjobs.listEntities()) if (row) n++;
    return n;
  };

  it('answers `add people` with the box, checks the list, adds the people, welcomes each once and reports to the admin', async () => {
    const box = cardsIn(await asAdmin({ text: `add people ${GROUP}` }))[0];
    assert.ok(box, 'a card');
    assert.deepEqual(validateCard({ contentType: 'application/vnd.microsoft.card.adaptive', content: box }), []);
    assert.match(JSON.stringify(box), /"Input.Text".*"isMultiline":true/);
    assert.match(textOf(box), /Add people who left/);
    const check = buttonData(box, 'checkBulkList');

    const list = 'alexw@example.com\nmeganb@example.com, AdeleV@example.com\nnobody@example.com\nalexw@example.com\nnot an address';
    const planCard = cardsIn(await asAdmin({ value: { ...check, addresses: list, addLeavers: 'false' } }))[0];
    assert.ok(planCard, 'the dry run card');
    assert.deepEqual(validateCard({ contentType: 'application/vnd.microsoft.card.adaptive', content: planCard }), []);
    const planText = textOf(planCard);
    assert.match(planText, /will add: \n?3/);
    assert.match(planText, /unknown: \n?1/);
    assert.match(planText, /duplicates: \n?1/);
    assert.match(planText, /nobody@example\[\.\]com/);
    assert.match(planText, /duplicate of line 1/);
    const add = buttonData(planCard, 'confirmBulkAdd');
    assert.equal(add.addresses, list);
    assert.equal(await jobRows(), 0, 'the dry run changed nothing');

    const answer = await asAdmin({ value: add });
    assert.match(textOf(answer), /^Adding 3 people to Depot Crew\. I will send you the report here when it is done\.$/);

    await until(
      'three welcomes and the report',
      () => [ALEX, MEGAN, ADELE].every((id) => welcomesTo(id).length === 1) && reports().length === 1,
    );
    const standings = await t.app.groups.standingsFor(groupId, { user: { id: admin.aadObjectId, name: admin.name } }, [ALEX, MEGAN, ADELE]);
    assert.deepEqual([...standings.values()], ['member', 'member', 'member']);
    assert.equal(
      String(welcomesTo(ALEX)[0]!.activity.text),
      'Ann Admin added you to **Depot Crew**. What you type here goes to the group. Type **leave** to leave.',
    );
    const report = String(reports()[0]!.activity.text);
    assert.match(report, /\n\nadded: 3 · not added: 3\n\n/, 'added first, then the problems');
    assert.match(report, /\n\nAlex Wilber · alexw@example\[\.\]com: added\n\n/, 'the name, then the address as typed');
    assert.match(report, /\n\nnobody@example\[\.\]com: not added — unknown user/, 'the address alone when nobody is known by it');

    // The same list confirmed again: nobody is added or welcomed twice, and no second report.
    const again = await asAdmin({ value: add });
    assert.match(textOf(again), /Nobody on the list can be added/);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const id of [ALEX, MEGAN, ADELE]) assert.equal(welcomesTo(id).length, 1);
    assert.equal(reports().length, 1);
  });

  it('reports a person whose chat Teams would not open as not reached, with the reason, and does not add them', async () => {
    const PATTI = '00000000-0000-0000-0000-0000000000024';
    const creates = (body: Record<string, unknown>) => (body as { members?: Array<{ id: string }> }).members?.[0]?.id === PATTI;
    t.channel.failWhen = { match: creates, status: 403 };
    try {
      const card = cardsIn(
        await asAdmin({
          value: { verb: 'checkBulkList', groupId, addresses: 'pattif@example.com, alexw@example.com', addLeavers: 'false' },
        }),
      )[0]!;
      assert.match(textOf(card), /will add: \n?1/);
      assert.match(textOf(card), /already members: \n?1/);
      assert.match(textOf(await asAdmin({ value: buttonData(card, 'confirmBulkAdd') })), /^Adding 1 person to Depot Crew\./);
      await until('the second report', () => reports().length === 2);
      assert.match(
        String(reports()[1]!.activity.text),
        /Patti Fernandez · pattif@example\[\.\]com: not reached — Teams would not open a chat with them; /,
      );
      const standing = await t.app.groups.standingsFor(groupId, { user: { id: admin.aadObjectId, name: admin.name } }, [PATTI]);
      assert.equal(standing.get(PATTI), 'none');
      assert.equal(welcomesTo(PATTI).length, 0);
    } finally {
      t.channel.failWhen = undefined;
    }
  });

  it('reports a person whose chat opens but refuses the welcome as added, not reached, with the reason', async () => {
    const LYNNE = '00000000-0000-0000-0000-0000000000025';
    // Teams (or the playground) opens the chat, then answers 500 to every message sent into it.
    t.channel.refuse = ({ method, conversationId }) =>
      method === 'POST' && chatOf(LYNNE).includes(conversationId) ? { status: 500 } : undefined;
    try {
      const card = cardsIn(
        await asAdmin({ value: { verb: 'checkBulkList', groupId, addresses: 'lynner@example.com', addLeavers: 'false' } }),
      )[0]!;
      assert.match(textOf(await asAdmin({ value: buttonData(card, 'confirmBulkAdd') })), /^Adding 1 person to Depot Crew\./);
      const before = reports().length;
      await until('the report', () => reports().length === before + 1, 40_000);
      const report = String(reports()[before]!.activity.text);
      assert.match(report, /added, not reached: 1/);
      assert.match(report, /Lynne Robbins · lynner@example\[\.\]com: added, not reached — Teams did not accept the welcome message/);
      assert.ok(
        t.channel.refused.some((r) => chatOf(LYNNE).includes(r.conversationId)),
        'the welcome was tried',
      );
      const standing = await t.app.groups.standingsFor(groupId, { user: { id: admin.aadObjectId, name: admin.name } }, [LYNNE]);
      assert.equal(standing.get(LYNNE), 'member', 'she is in the group');
    } finally {
      t.channel.refuse = undefined;
    }
  });

  it('refuses a member who is not an admin with one plain line', async () => {
    const member = testUser('Bob Member');
    const invite = await t.app.groups.getInvite(groupId, { id: admin.aadObjectId, name: admin.name });
    await new Chat(t).say(member, `join ${invite.url}`);
    const answer = await new Chat(t).say(member, `add people ${GROUP}`);
    assert.equal(cardsIn(answer).length, 0);
    assert.equal(textOf(answer), 'Only admins of the group, and organization admins for their organization’s groups, can add people.');
    const click = await new Chat(t).submit(member, 'checkBulkList', { groupId, addresses: 'pattif@example.com', addLeavers: 'false' });
    assert.equal(textOf(click), 'Only admins of the group, and organization admins for their organization’s groups, can add people.');
  });

  it('works only in the personal chat: the list and the report name people', async () => {
    const options = { conversationId: `19:chat-${admin.id}`, conversationType: 'groupChat' };
    const typed = await new Chat(t).say(admin, `<at>Kaizala Groups</at> add people ${GROUP}`, options);
    assert.equal(textOf(typed), 'Add people from your personal chat with me: the list and the report name people.');
    const clicked = await new Chat(t).submit(
      admin,
      'confirmBulkAdd',
      { groupId, addresses: 'pattif@example.com', addLeavers: false },
      options,
    );
    assert.equal(textOf(clicked), 'Add people from your personal chat with me: the list and the report name people.');
  });

  it('answers an empty list and a list of 51 addresses with one clear line, and changes nothing', async () => {
    const before = await jobRows();
    const empty = await asAdmin({ value: { verb: 'checkBulkList', groupId, addresses: ' \n , ', addLeavers: 'false' } });
    assert.equal(textOf(empty), 'There are no addresses in the list. Paste one address a line.');
    const many = Array.from({ length: 51 }, (_, i) => `person${i}@example.com`).join('\n');
    const tooMany = await asAdmin({ value: { verb: 'confirmBulkAdd', groupId, addresses: many, addLeavers: false } });
    assert.equal(textOf(tooMany), 'That is 51 addresses; the chat takes at most 50 at a time. Remove some and check again.');
    assert.equal(await jobRows(), before);
  });
});
