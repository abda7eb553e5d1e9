/* The kinds of work a delivery lane runs, each in its own module: what they share is in deliveryItem.ts. */
import type { ItemContext } from './deliveryItem';
import type { Lane, LaneItem } from './lane';
import { OneOffItem } from './oneOffItem';
import { PurgeItem } from './purgeItem';
import { SendItem } from './sendItem';
import { UpdateItem } from './updateItem';
import type { LaneWork, WorkBody } from './workBody';
import type { WorkMessage } from './workQueue';

export { conversationIdOf, type ItemContext } from './deliveryItem';
export { OneOffItem, PurgeItem, SendItem, UpdateItem };

/** The item of a lane queue's message. */
export function itemFor(ctx: ItemContext, lane: Lane, message: WorkMessage<WorkBody>, body: LaneWork): LaneItem {
  if (body.k === 'send') return new SendItem(ctx, lane, message, body.g, body.s);
  if (body.k === 'update') return new UpdateItem(ctx, lane, message, body.g, body.s);
  if (body.k === 'purge') return new PurgeItem(ctx, lane, message, body.g, body.u);
  return new OneOffItem(ctx, lane, message, body.key, body.r, body.a, body.fresh?.g);
}
