/**
 * Group commit per partition: while one transaction for a key is in flight, what arrives meanwhile queues up and
 * goes together in the next one, up to `maxPerCommit` items. A burst (a link shared into a big chat, a busy
 * group) then costs a fraction of a transaction per item, and each key has at most one of our own writes in
 * flight, so they never collide with each other.
 */
export interface Pending {
  reject(err: unknown): void;
}

export class GroupCommit<T extends Pending> {
  private readonly queues = new Map<string, { items: T[]; running: boolean }>();

  constructor(
    private readonly maxPerCommit: number,
    /** Writes one batch; it settles each item itself. A throw rejects every item of the batch. */
    private readonly commit: (key: string, batch: T[]) => Promise<void>,
  ) {}

  /** Items already waiting for `key` (to find a twin before adding). */
  waiting(key: string): readonly T[] {
    return this.queues.get(key)?.items ?? [];
  }

  add(key: string, item: T): void {
    let queue = this.queues.get(key);
    if (!queue) {
      queue = { items: [], running: false };
      this.queues.set(key, queue);
    }
    queue.items.push(item);
    if (!queue.running) void this.drain(key, queue);
  }

  private async drain(key: string, queue: { items: T[]; running: boolean }): Promise<void> {
    queue.running = true;
    try {
      // Let the items of this moment gather before the first transaction.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (queue.items.length > 0) {
        const batch = queue.items.splice(0, this.maxPerCommit);
        await this.commit(key, batch).catch((err: unknown) => batch.forEach((item) => item.reject(err)));
      }
    } finally {
      queue.running = false;
      if (queue.items.length > 0) void this.drain(key, queue);
      else this.queues.delete(key);
    }
  }
}
