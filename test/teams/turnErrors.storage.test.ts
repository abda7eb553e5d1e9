import assert from 'node:assert/strict';
import { TestAdapter, TurnContext, type Activity } from 'botbuilder';
import { DialogContext, DialogContextError, DialogSet } from 'botbuilder-dialogs';
import { createTurnErrorHandler } from '../../src/teams/turnErrors';
import { STORAGE_UNAVAILABLE, StorageUnavailableError } from '../../src/errors';
import { memoryLogger } from '../helpers/testApp';

/** How a turn ends when storage did not answer, whatever wrapped the error on its way out. */
describe('The turn error handler when storage is unavailable', () => {
  function run(activity: Partial<Activity>, error: () => Error) {
    const { logger, logs } = memoryLogger();
    const adapter = new TestAdapter(async () => undefined);
    adapter.onTurnError = createTurnErrorHandler(logger);
    return adapter
      .processActivity({ channelId: 'msteams', id: 'act-1', ...activity }, async () => {
        throw error();
      })
      .then(() => ({ sent: adapter.activeQueue, logs }));
  }

  const timeout = () => new StorageUnavailableError('timeout', 'GET /devstoreaccount1/groups got no answer within 1000 ms');

  it('tells the user to try again, with one warning line and no stack', async () => {
    const { sent, logs } = await run({ type: 'message', text: 'help' }, timeout);
    assert.deepEqual(
      sent.map((a) => a.text),
      [STORAGE_UNAVAILABLE],
    );
    const lines = logs.filter((l) => l.msg === 'storage unavailable: turn answered "try again"');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.reason, 'timeout');
    assert.ok(!JSON.stringify(logs).includes('stack'));
  });

  it('sees it through the DialogContextError a dialog wraps it in', async () => {
    const { sent } = await run({ type: 'message', text: 'skip' }, () => {
      const context = new TurnContext(new TestAdapter(), { type: 'message' });
      return new DialogContextError(timeout(), new DialogContext(new DialogSet(), context, { dialogStack: [] }));
    });
    assert.deepEqual(
      sent.map((a) => a.text),
      [STORAGE_UNAVAILABLE],
    );
  });

  it('answers a card click with an error invoke response, and any other invoke with 503', async () => {
    const card = await run({ type: 'invoke', name: 'adaptiveCard/action' }, timeout);
    assert.deepEqual(
      card.sent.map((a) => a.value),
      [
        {
          status: 200,
          body: {
            statusCode: 503,
            type: 'application/vnd.microsoft.error',
            value: { code: 'ServiceUnavailable', message: STORAGE_UNAVAILABLE },
          },
        },
      ],
    );
    const other = await run({ type: 'invoke', name: 'composeExtension/query' }, timeout);
    assert.deepEqual(
      other.sent.map((a) => (a.value as { status: number }).status),
      [503],
    );
  });
});
