import { ConversationState } from 'botbuilder';
import { DedupStore } from '../src/storage/dedupStore';
import { TableStorage } from '../src/storage/tableStorage';
import type { TableClients } from '../src/storage/tables';
import { startPlainBot, type PlainBot } from './echoBot';

/**
 * The floor under our turn: the echo bot plus exactly the storage calls issue 8 asks of every turn (the lease
 * insert beside the state read, the state write, the "done" mark), made by the bot's own storage code through the
 * app's table clients on its embedded Azurite, and nothing else: no dialog, router or middleware. A real turn
 * costs this and more.
 */
export function startFloorBot(tables: Pick<TableClients, 'dedup' | 'botstate'>): Promise<PlainBot> {
  const dedup = new DedupStore(tables.dedup);
  const state = new ConversationState(new TableStorage(tables.botstate));
  const turns = state.createProperty<number>('turns');
  return startPlainBot(async (context) => {
    const { activity } = context;
    const [lease] = await Promise.all([
      dedup.acquireLease(`${activity.channelId}|${activity.conversation.id}|message`, activity.id!, 60_000),
      state.load(context),
    ]);
    if (lease.kind !== 'acquired') throw new Error(`floor bot: the lease was ${lease.kind}`);
    await turns.set(context, (await turns.get(context, 0)) + 1);
    await context.sendActivity(`Echo: ${activity.text}`);
    await state.saveChanges(context);
    void dedup.completeLease(lease.lease);
  });
}
