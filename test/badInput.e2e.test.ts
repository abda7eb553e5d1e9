import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from './helpers/testApp';
import { installActivity, messageActivity, invokeActivity, testUser } from './helpers/activities';
import { Chat, cardsIn, textOf } from './helpers/chat';

/**
 * Bad input is answered as bad input: a damaged invite link is "not valid" (never "try again"), and an activity
 * whose fields the bot reads have the wrong type is a 400 with one log line, never a turn that fails inside.
 */
describe('Bad input, end to end', () => {
  let t: TestApp;
  let chat: Chat;
  before(async () => {
    t = await startTestApp();
    chat = new Chat(t);
  });
  after(async () => {
    await t.stop();
  });

  describe('damaged or wrong-length invite tokens', () => {
    const damaged = [
      ['16 characters', 'A'.repeat(16)],
      ['21 characters', 'A'.repeat(21)],
      ['23 characters', 'A'.repeat(23)],
      ['64 characters', 'A'.repeat(64)],
      ['22 characters with one not of the alphabet', `${'A'.repeat(21)}.`],
    ] as const;

    for (const [what, token] of damaged) {
      it(`answers the landing page of a token of ${what} with 404 "not valid", not 503`, async () => {
        const res = await fetch(`${t.app.url}/join/${encodeURIComponent(token)}`);
        assert.equal(res.status, 404);
        assert.match(await res.text(), /not valid/);
      });
    }

    for (const [what, token] of damaged.slice(0, 4)) {
      it(`answers "join <link>" with a token of ${what} with "this link is not valid"`, async () => {
        const reply = await chat.say(testUser(), `join ${t.config.PUBLIC_URL}/join/${token}`);
        assert.match(textOf(reply), /not valid/);
        assert.match(textOf(reply), /Not found/);
      });
    }

    it('answers a bare token of the wrong length the same way', async () => {
      const reply = await chat.say(testUser(), `join ${'B'.repeat(30)}`);
      assert.match(textOf(reply), /not valid/);
    });

    it('still says "not a link or code" for text that is neither', async () => {
      const reply = await chat.say(testUser(), 'join hello');
      assert.match(textOf(reply), /does not look like an invite link/);
    });
  });

  it('answers a "next page" button with a damaged continuation token with a friendly refusal, not a failed turn', async () => {
    const user = testUser();
    const reply = await chat.submit(user, 'myGroupsPage', { continuationToken: 'abc' });
    assert.match(textOf(reply), /That page is no longer available/);
    assert.ok(!t.logs.some((l) => l.msg === 'turn failed'), 'no failed turn');
  });

  describe('wrong types in the fields the bot reads', () => {
    const user = testUser();
    const message = (fields: Record<string, unknown>) => ({ ...messageActivity(t.channel.serviceUrl, user, { text: 'help' }), ...fields });
    const conversationUpdate = (fields: Record<string, unknown>) => ({
      ...installActivity(t.channel.serviceUrl, user),
      type: 'conversationUpdate',
      ...fields,
    });
    const cases: Array<[string, string, () => Record<string, unknown>]> = [
      ['text: 42', 'text', () => message({ text: 42 })],
      ['text: an object', 'text', () => message({ text: { a: 1 } })],
      ['value: "x" on a message', 'value', () => message({ value: 'x' })],
      ['value: [] on a message', 'value', () => message({ value: [] })],
      ['value: 7 on an invoke', 'value', () => ({ ...invokeActivity(t.channel.serviceUrl, user, 'adaptiveCard/action', {}), value: 7 })],
      ['attachments: "x"', 'attachments', () => message({ attachments: 'x' })],
      ['attachments: [1]', 'attachments.0', () => message({ attachments: [1] })],
      [
        'an attachment without a contentType',
        'attachments.0.contentType',
        () => message({ attachments: [{ contentUrl: 'https://x.example/a.png' }] }),
      ],
      ['membersAdded: "x"', 'membersAdded', () => conversationUpdate({ membersAdded: 'x' })],
      ['membersAdded: [{ id: 5 }]', 'membersAdded.0.id', () => conversationUpdate({ membersAdded: [{ id: 5 }] })],
      ['membersRemoved: {}', 'membersRemoved', () => conversationUpdate({ membersRemoved: {} })],
      ['from: "x"', 'from', () => message({ from: 'x' })],
      ['from.name: 3', 'from.name', () => message({ from: { id: user.id, name: 3 } })],
      ['from.aadObjectId: []', 'from.aadObjectId', () => message({ from: { id: user.id, aadObjectId: [] } })],
      ['conversation: "x"', 'conversation', () => message({ conversation: 'x' })],
      [
        'conversation.conversationType: 1',
        'conversation.conversationType',
        () => message({ conversation: { id: 'c1', conversationType: 1 } }),
      ],
      ['conversation.tenantId: {}', 'conversation.tenantId', () => message({ conversation: { id: 'c1', tenantId: {} } })],
      ['recipient.name: true', 'recipient.name', () => message({ recipient: { id: '28:bot', name: true } })],
      ['channelData: "x"', 'channelData', () => message({ channelData: 'x' })],
      ['channelData.tenant.id: 9', 'channelData.tenant.id', () => message({ channelData: { tenant: { id: 9 } } })],
      ['channelData.eventType: {}', 'channelData.eventType', () => conversationUpdate({ channelData: { eventType: {} } })],
      ['locale: 5 (copied into replies)', 'locale', () => message({ locale: 5 })],
      ['conversation.name: 5 (copied into replies)', 'conversation.name', () => message({ conversation: { id: 'c1', name: 5 } })],
      ['conversation.isGroup: "yes"', 'conversation.isGroup', () => message({ conversation: { id: 'c1', isGroup: 'yes' } })],
      ['from.role: 1', 'from.role', () => message({ from: { id: user.id, role: 1 } })],
      ['replyToId: 1', 'replyToId', () => message({ replyToId: 1 })],
      ['name: 1 on an invoke', 'name', () => ({ ...invokeActivity(t.channel.serviceUrl, user, 'adaptiveCard/action', {}), name: 1 })],
    ];

    for (const [what, field, build] of cases) {
      it(`answers ${what} with 400, one log line naming "${field}", no stack and no reply`, async () => {
        const logsBefore = t.logs.length;
        const sentBefore = t.channel.sent.length;
        const res = await t.post(build());
        assert.equal(res.status, 400, res.body);
        assert.doesNotMatch(res.body, /\n\s+at |Error:/);
        const lines = t.logs.slice(logsBefore);
        assert.equal(lines.length, 1, JSON.stringify(lines));
        assert.equal(lines[0]!.field, field);
        assert.equal(lines[0]!.err, undefined, 'no error object (and so no stack) in the log');
        assert.equal(t.channel.sent.length, sentBefore, 'nothing was sent');
      });
    }

    it('does not check fields the bot does not read (entities: "x", localTimestamp: [], importance: 5)', async () => {
      const res = await chat.post(message({ entities: 'x', localTimestamp: [], importance: 5 }), `a:personal-${user.id}`);
      assert.equal(res.status, 200);
      assert.ok(cardsIn(res.sent).length > 0, 'the help card was sent');
    });

    it('accepts null for optional fields, as some channels send them', async () => {
      const res = await chat.post(message({ attachments: null, value: null, replyToId: null, channelData: null }), `a:personal-${user.id}`);
      assert.equal(res.status, 200);
    });

    it('accepts a string value on an event (the bot does not read it there)', async () => {
      const res = await t.post({ ...message({}), type: 'event', name: 'x', value: 'anything' });
      assert.equal(res.status, 200);
    });
  });
});
