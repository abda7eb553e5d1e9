import assert from 'node:assert/strict';
import { ConversationState, MemoryStorage, TestAdapter, TurnContext, type StoreItems } from 'botbuilder';
import { JsonSnapshotConversationState } from '../../src/teams/jsonSnapshotState';

/** MemoryStorage that records the writes it gets. */
class RecordingStorage extends MemoryStorage {
  readonly writes: StoreItems[] = [];
  override async write(changes: StoreItems): Promise<void> {
    this.writes.push(JSON.parse(JSON.stringify(changes)) as StoreItems);
    await super.write(changes);
  }
}

function turn(text = 'hi'): TurnContext {
  return new TurnContext(new TestAdapter(), {
    type: 'message',
    text,
    channelId: 'test',
    conversation: { id: 'conversation-1', isGroup: false, conversationType: 'personal', name: '' },
    from: { id: 'user-1', name: 'User' },
    recipient: { id: 'bot', name: 'Bot' },
  });
}

/** The same steps on botbuilder's ConversationState and on ours: the storage must see the same writes. */
async function script(state: ConversationState): Promise<void> {
  const count = state.createProperty<number>('count');
  const dialog = state.createProperty<{ stack: string[] }>('dialogState');
  // Turn 1: a value set: saved.
  let context = turn();
  await count.set(context, (await count.get(context, 0)) + 1);
  await state.saveChanges(context);
  // Saved again in the same turn with nothing changed since: not written twice.
  await state.saveChanges(context);
  // Turn 2: read only: nothing written.
  context = turn();
  assert.equal(await count.get(context, 0), 1);
  await state.saveChanges(context);
  // Turn 3: a nested object changed in place: saved.
  context = turn();
  (await dialog.get(context, { stack: [] })).stack.push('createGroup');
  await state.saveChanges(context);
  // Turn 4: the nested value changed back and forth within the turn: the JSON is as loaded, nothing written.
  context = turn();
  const value = await dialog.get(context, { stack: [] });
  value.stack.push('x');
  value.stack.pop();
  await state.saveChanges(context);
  // Turn 5: forced: written although unchanged.
  context = turn();
  await state.load(context);
  await state.saveChanges(context, true);
  // Turn 6: cleared: written as empty.
  context = turn();
  await state.load(context);
  await state.clear(context);
  await state.saveChanges(context);
  // Turn 7: forced without a load: an empty state written.
  context = turn();
  await state.saveChanges(context, true);
  // Turn 8: deleted: the accessor starts from its default again.
  context = turn();
  await count.set(context, 5);
  await state.saveChanges(context);
  await state.delete(context);
  assert.equal(await count.get(context, 0), 0);
}

describe('JsonSnapshotConversationState: saved when changed, told by its JSON', () => {
  it("writes exactly what botbuilder's ConversationState writes, turn by turn", async () => {
    const theirs = new RecordingStorage();
    const ours = new RecordingStorage();
    await script(new ConversationState(theirs));
    await script(new JsonSnapshotConversationState(ours));
    assert.equal(theirs.writes.length, 6);
    assert.deepEqual(ours.writes, theirs.writes);
  });

  it('hands out the loaded state as botbuilder does (load, get and the accessors see one object)', async () => {
    const storage = new RecordingStorage();
    const state = new JsonSnapshotConversationState(storage);
    const count = state.createProperty<number>('count');
    let context = turn();
    await count.set(context, 2);
    await state.saveChanges(context);
    context = turn();
    const loaded = await state.load(context);
    assert.equal(state.get(context), loaded);
    assert.equal(loaded['count'], 2);
    assert.equal(await state.load(context), loaded, 'a second load in the turn reads the cache');
    loaded['count'] = 3;
    assert.equal(await count.get(context), 3);
    await state.saveChanges(context);
    assert.equal(storage.writes.length, 2);
    assert.equal((Object.values(storage.writes[1]!)[0] as { count: number; eTag: string }).count, 3);
    assert.equal((Object.values(storage.writes[1]!)[0] as { eTag: string }).eTag, '*');
  });

  it('reads storage again when forced', async () => {
    const storage = new RecordingStorage();
    const state = new JsonSnapshotConversationState(storage);
    const count = state.createProperty<number>('count');
    const context = turn();
    assert.equal(await count.get(context, 0), 0);
    // Another writer changes the stored state meanwhile.
    const other = turn();
    await count.set(other, 7);
    await state.saveChanges(other);
    assert.equal(await count.get(context, 0), 0, 'cached');
    await state.load(context, true);
    assert.equal(await count.get(context, 0), 7);
  });
});
