import assert from 'node:assert/strict';
import { ConversationState, MemoryStorage, TestAdapter, type TurnContext } from 'botbuilder';
import { DialogSet, TextPrompt, WaterfallDialog, type DialogState, type DialogStateManagerConfiguration } from 'botbuilder-dialogs';
import { createDialogContext } from '../../dialogs/dialogContexts';

describe('createDialogContext: one dialog state configuration for every turn', () => {
  it('gives every turn the same memory scopes, and dialogs still keep their own state across turns', async () => {
    const state = new ConversationState(new MemoryStorage());
    const dialogs = new DialogSet(state.createProperty<DialogState>('dialogState'));
    dialogs.add(new TextPrompt('name'));
    dialogs.add(
      new WaterfallDialog('ask', [
        (step) => step.prompt('name', 'Your name?'),
        async (step) => {
          // The waterfall's own memory scope reads this turn's activity, not the first turn's.
          await step.context.sendActivity(`Hello ${String(step.result)} (${String(step.state.getValue('turn.activity.text'))})`);
          return step.endDialog();
        },
      ]),
    );
    const configurations: DialogStateManagerConfiguration[] = [];
    const adapter = new TestAdapter(async (context: TurnContext) => {
      const dc = await createDialogContext(dialogs, context);
      configurations.push(dc.state.configuration);
      const result = await dc.continueDialog();
      if (result.status === 'empty') await dc.beginDialog('ask');
      await state.saveChanges(context);
    });
    await adapter.send('hi').assertReply('Your name?').send('Ada').assertReply('Hello Ada (Ada)').send('again').assertReply('Your name?');
    assert.equal(configurations.length, 3);
    assert.ok(configurations[0]!.memoryScopes.length > 0);
    assert.equal(configurations[1], configurations[0]);
    assert.equal(configurations[2], configurations[0]);
  });
});
