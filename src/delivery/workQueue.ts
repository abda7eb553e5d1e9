import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import type { Logger } from '../logger';
import { isNotFound, statusOf } from '../storage/tables';

/** A message taken from the queue: its body and what is needed to extend, release or delete it. */
export interface WorkMessage<T> {
  readonly id: string;
  readonly body: T;
  readonly dequeueCount: number;
  /** Changes with every visibility update; kept current by the queue methods. */
  popReceipt: string;
}

export interface WorkQueueOptions {
  connectionString: string;
  /** Lowercase letters, digits and dashes (Azure queue names); the poison queue is `<name>-poison`. */
  name: string;
  logger: Logger;
  /** A message received this many times without being deleted goes to the poison queue. */
  maxDequeues?: number;
  /** How long a received message stays invisible to other workers unless extended. */
  visibilitySeconds?: number;
}

/**
 * Calls on one message run one after another (a keep-alive's extend and the item's delete or release would
 * otherwise race: the loser's pop receipt is stale, and a release that loses leaves the message hidden).
 * Module-wide, as a message's queue object may be replaced while it is held.
 */
const messageCalls = new WeakMap<object, Promise<unknown>>();
/** Messages this process deleted: a keep-alive queued behind the delete has nothing left to extend. */
const deleted = new WeakSet<object>();

function oneAtATime<R>(message: object, call: () => Promise<R>): Promise<R> {
  const previous = messageCalls.get(message) ?? Promise.resolve();
  const next = previous.then(call, call);
  messageCalls.set(
    message,
    next.catch(() => undefined),
  );
  return next;
}

/**
 * The message is no longer ours: its pop receipt did not match (its visibility lapsed and another receiver took
 * it, or it was updated elsewhere) or it is gone. Harmless: whoever holds it now does the work, and the work is
 * idempotent; the sweep covers a message that is lost for good.
 */
function isLostMessage(err: unknown): boolean {
  const status = statusOf(err);
  return status === 404 || (status === 400 && (err as { code?: string }).code === 'PopReceiptMismatch');
}

/**
 * A work queue on Azure Storage Queues (Azurite locally): at-least-once, unordered, so the work it carries must
 * be idempotent and the tables stay the truth. The SDK's own retries are left at their default for storage (a
 * queue call that fails is retried by the caller's loop anyway).
 */
export class WorkQueue<T> {
  readonly name: string;
  private readonly queue: QueueClient;
  private readonly poison: QueueClient;
  private readonly maxDequeues: number;
  readonly visibilitySeconds: number;
  /** Messages found no longer ours (see isLostMessage), across this queue and its siblings. */
  readonly races: { count: number };

  constructor(
    private readonly options: WorkQueueOptions,
    races: { count: number } = { count: 0 },
  ) {
    this.races = races;
    if (!/^[a-z0-9](?:[a-z0-9]|-(?!-)){2,55}$/.test(options.name)) throw new Error(`Invalid queue name ${options.name}`);
    this.name = options.name;
    const service = QueueServiceClient.fromConnectionString(options.connectionString);
    this.queue = service.getQueueClient(options.name);
    this.poison = service.getQueueClient(`${options.name}-poison`);
    this.maxDequeues = options.maxDequeues ?? 5;
    this.visibilitySeconds = options.visibilitySeconds ?? 30;
  }

  /** Another queue on the same account, named `<name>-<suffix>` (with its own poison queue). */
  sibling(suffix: string): WorkQueue<T> {
    return new WorkQueue<T>({ ...this.options, name: `${this.name}-${suffix}` }, this.races);
  }

  async ensure(): Promise<void> {
    await Promise.all([this.queue.createIfNotExists(), this.poison.createIfNotExists()]);
  }

  async send(body: T, options: { delaySeconds?: number } = {}): Promise<void> {
    await this.queue.sendMessage(JSON.stringify(body), { visibilityTimeout: options.delaySeconds });
  }

  /**
   * Up to `max` (<= 32) messages, each invisible to others for the visibility timeout. A message dequeued more
   * than `maxDequeues` times is moved to the poison queue (and logged) instead of being returned; a body that
   * is not JSON goes there at once.
   */
  async receive(max = 32): Promise<WorkMessage<T>[]> {
    const response = await this.queue.receiveMessages({ numberOfMessages: Math.min(32, max), visibilityTimeout: this.visibilitySeconds });
    const out: WorkMessage<T>[] = [];
    for (const item of response.receivedMessageItems) {
      let body: T;
      try {
        body = JSON.parse(item.messageText) as T;
      } catch {
        await this.toPoison(item.messageId, item.popReceipt, item.messageText, item.dequeueCount, 'not JSON');
        continue;
      }
      if (item.dequeueCount > this.maxDequeues) {
        await this.toPoison(item.messageId, item.popReceipt, item.messageText, item.dequeueCount, 'dequeued too often');
        continue;
      }
      out.push({ id: item.messageId, body, dequeueCount: item.dequeueCount, popReceipt: item.popReceipt });
    }
    return out;
  }

  /**
   * Keeps a message invisible for another `seconds` while it is being worked on. A message no longer ours is
   * counted and logged at info (a harmless race), not thrown.
   */
  extend(message: WorkMessage<T>, seconds = this.visibilitySeconds): Promise<void> {
    return oneAtATime(message, async () => {
      if (deleted.has(message)) return;
      try {
        const response = await this.queue.updateMessage(message.id, message.popReceipt, undefined, seconds);
        message.popReceipt = response.popReceipt!;
      } catch (err) {
        if (!isLostMessage(err)) throw err;
        this.lost(message, 'update');
      }
    });
  }

  private lost(message: WorkMessage<T>, call: string): void {
    this.races.count++;
    this.options.logger.info(
      { queue: this.name, messageId: message.id, call, races: this.races.count },
      'work message no longer ours (harmless)',
    );
  }

  /** Gives a message back: visible again after `delaySeconds` (its dequeue count stays). */
  async release(message: WorkMessage<T>, delaySeconds = 0): Promise<void> {
    await this.extend(message, Math.max(0, Math.round(delaySeconds)));
  }

  /** Done: removes the message. One already gone (another worker finished it) or taken by another is success. */
  delete(message: WorkMessage<T>): Promise<void> {
    return oneAtATime(message, async () => {
      if (deleted.has(message)) return;
      try {
        await this.queue.deleteMessage(message.id, message.popReceipt);
        deleted.add(message);
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isLostMessage(err)) throw err;
        this.lost(message, 'delete');
      }
    });
  }

  /** Everything still waiting (tests: a lost queue). */
  async clear(): Promise<void> {
    await this.queue.clearMessages();
  }

  async approximateCount(): Promise<number> {
    return (await this.queue.getProperties()).approximateMessagesCount ?? 0;
  }

  async poisoned(): Promise<string[]> {
    const peeked = await this.poison.peekMessages({ numberOfMessages: 32 });
    return peeked.peekedMessageItems.map((m) => m.messageText);
  }

  private async toPoison(id: string, popReceipt: string, text: string, dequeueCount: number, reason: string): Promise<void> {
    this.options.logger.error({ queue: this.name, messageId: id, dequeueCount, reason }, 'work message moved to the poison queue');
    await this.poison.sendMessage(text);
    await this.queue.deleteMessage(id, popReceipt).catch(() => undefined);
  }
}
