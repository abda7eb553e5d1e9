import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from './helpers/testApp';
import { testUser } from './helpers/activities';
import { Chat, cardsIn, textOf } from './helpers/chat';
import { RecordingDeliveryEngine } from './helpers/recordingEngine';
import { validateCard } from '../cards/validate';

/**
 * Issue 17, item 3, end to end: the times the chat shows are the reader's own (Adaptive Cards' DATE and TIME,
 * filled in by each client), never "UTC", in the cards and in every text the bot sends.
 */
describe('Times in the chat, end to end: in the reader\'s time zone, never "UTC"', () => {
  let t: TestApp;
  let chat: Chat;

  before(async () => {
    t = await startTestApp({}, { createDeliveryEngine: new RecordingDeliveryEngine().factory });
    chat = new Chat(t);
  });
  after(async () => {
    await t.stop();
  });

  it('shows when each post was written as DATE and TIME in the history card, with no "UTC" in anything sent', async () => {
    const owner = testUser('Tia Timezone');
    await chat.createGroup(owner, 'Night Shift');
    const posted = await chat.say(owner, 'Truck 4 is late');
    const sent = await chat.say(owner, 'history');
    const card = cardsIn(sent).at(-1)!;
    assert.deepEqual(validateCard(card), []);
    assert.match(
      textOf(card),
      /· \{\{DATE\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z, SHORT\)\}\} \{\{TIME\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\)\}\}/,
    );
    for (const reply of [...posted, ...sent]) assert.doesNotMatch(JSON.stringify(reply.activity), /\bUTC\b/);
  });
});
