import assert from 'node:assert/strict';
import { DialogContextError, DialogSet, DialogState, WaterfallDialog } from 'botbuilder-dialogs';
import { ConversationState, MemoryStorage, TestAdapter, type TurnContext } from 'botbuilder';
import { appErrorIn, InvalidInputError, NotFoundError } from '../src/errors';

describe('src/errors: typed errors behind the wrappers that carry them', () => {
  it('finds the refusal a dialog step threw inside the DialogContextError botbuilder wraps it in', async () => {
    const refusal = new NotFoundError('That group was deleted while you were answering.');
    const state = new ConversationState(new MemoryStorage());
    const dialogs = new DialogSet(state.createProperty<DialogState>('dialogs')).add(
      new WaterfallDialog('refusing', [
        async () => {
          throw refusal;
        },
      ]),
    );
    let thrown: unknown;
    const adapter = new TestAdapter(async (context: TurnContext) => {
      const dc = await dialogs.createContext(context);
      await dc.beginDialog('refusing').catch((err: unknown) => (thrown = err));
    });
    await adapter.send('go');
    assert.ok(thrown instanceof DialogContextError, 'botbuilder wrapped what the step threw');
    assert.equal(appErrorIn(thrown), refusal);
  });

  it('answers a typed error itself, and nothing for an untyped one, wrapped or not', () => {
    const typed = new InvalidInputError('Names are at most 60 characters.');
    assert.equal(appErrorIn(typed), typed);
    assert.equal(appErrorIn(new Error('boom')), undefined);
    assert.equal(appErrorIn({ error: new Error('boom') }), undefined);
    assert.equal(appErrorIn(undefined), undefined);
  });
});
