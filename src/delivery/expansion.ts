import { odata } from '@azure/data-tables';
import type { DeliveryStore } from './deliveryStore';
import { postPartition } from './deliveryKeys';
import type { LaneHost } from './laneHost';
import type { OutboxStore } from './outboxStore';
import { receivesCopy } from './audience';
import type { FanoutSource } from './ports';
import type { WorkBody } from './workBody';
import type { WorkMessage } from './workQueue';

export interface ExpansionOptions {
  store: DeliveryStore;
  outbox: OutboxStore;
  source: FanoutSource;
  lanes: LaneHost;
  /** Recipients per page and delivery rows per transaction. */
  chunkSize: number;
  isRunning(): boolean;
  /** Queues work on the shared queue. */
  enqueue(body: WorkBody): Promise<void>;
  /** The message's work is done: deleted. */
  finished(message: WorkMessage<WorkBody>): Promise<void>;
  /** The message comes back after a delay. */
  later(message: WorkMessage<WorkBody>, delaySeconds: number): Promise<void>;
  /** A deleted post's update pass is over (here: it had no sent copy): its records may go (issue 17). */
  afterUpdate(groupId: string, seq: number): Promise<void>;
}

/** Delivery-row pages of one expansion written side by side. */
const PAGES_AT_ONCE = 4;

/**
 * The shared queue's post work: a post expanded into its delivery rows, and an edit or delete handed to the
 * lanes with copies to update. A group's posts expand one after another in sequence order (each expansion queues
 * the next), so that when a post's copies go out, every earlier post of the group has its rows: the lanes then
 * keep each member's copies in order (waves.ts).
 */
export class Expansion {
  constructor(private readonly o: ExpansionOptions) {}

  /**
   * Expands a post into delivery rows, page by page (insert-if-absent, one transaction per page), and queues
   * a `send` for each tenant lane the first time it appears, so sending starts while the expansion goes on.
   * A post waits (dropped here) while an earlier post of its group is not expanded: that one's expansion queues
   * it (or the sweep does).
   */
  async expand(message: WorkMessage<WorkBody>, groupId: string, seq: number): Promise<void> {
    const outbox = await this.o.outbox.getPost(groupId, seq);
    if (!outbox) return this.o.finished(message);
    if (outbox.expanded) {
      const tenants = JSON.parse(outbox.tenants) as string[];
      for (const t of tenants) await this.o.lanes.toLaneQueue({ k: 'send', g: groupId, s: seq, t });
      if (tenants.length === 0) await this.o.outbox.changePost(groupId, seq, () => 'delete');
      return this.o.finished(message);
    }
    if ((await this.o.outbox.firstUnexpanded(groupId, { below: seq })) !== undefined) return this.o.finished(message);
    const post = await this.o.source.getPost(groupId, seq);
    const tenants = new Set<string>();
    let after: string | undefined;
    if (post && !post.deleted) {
      // Pages are written a few at a time (the next post of the group expands only after this one); a lane hears
      // of its tenant once that tenant's first rows are in.
      const writing = new Set<Promise<void>>();
      do {
        const page = await this.o.source.listRecipients(groupId, after, this.o.chunkSize);
        const rows = page.recipients.filter((r) => receivesCopy(post, r)).map((r) => ({ userId: r.userId, tenant: r.tenantId }));
        const fresh = [...new Set(rows.map((r) => r.tenant))].filter((t) => !tenants.has(t));
        for (const t of fresh) tenants.add(t);
        const write = this.o.store.insertQueued(groupId, seq, rows).then(async () => {
          for (const t of fresh) await this.o.lanes.toLaneQueue({ k: 'send', g: groupId, s: seq, t });
        });
        writing.add(write);
        void write.then(
          () => writing.delete(write),
          () => undefined,
        );
        if (writing.size >= PAGES_AT_ONCE) await Promise.race(writing);
        after = page.next;
      } while (after !== undefined && this.o.isRunning());
      await Promise.all(writing);
      if (!this.o.isRunning()) return;
    }
    await this.o.outbox.changePost(groupId, seq, (row) => {
      // Lanes cannot finish before `expanded`, so the tenants written here are all still pending.
      const all = [...new Set([...(JSON.parse(row.tenants) as string[]), ...tenants])];
      return all.length === 0 ? 'delete' : { expanded: true, tenants: JSON.stringify(all), hb: Date.now() };
    });
    await this.o.finished(message);
    // The group's next post may expand now (its copies then follow this one's, member by member).
    const next = await this.o.outbox.firstUnexpanded(groupId, { above: seq });
    if (next !== undefined) await this.o.enqueue({ k: 'post', g: groupId, s: next });
  }

  /**
   * An edit or delete: once the post's own fan-out is done (until then unsent copies go out with the latest
   * version anyway), one `update` per lane with copies showing an older version.
   */
  async change(message: WorkMessage<WorkBody>, groupId: string, seq: number): Promise<void> {
    if (await this.o.outbox.getPost(groupId, seq)) return this.o.later(message, 2);
    const post = await this.o.source.getPost(groupId, seq);
    if (!post) return this.o.finished(message);
    const tenants = new Set<string>();
    let cursor = '';
    for (;;) {
      const rows = await this.o.store.deliveries
        .listEntities<{ t: string }>({
          queryOptions: {
            filter: odata`PartitionKey eq ${postPartition(groupId, seq)} and st eq ${'sent'} and v lt ${post.version} and RowKey gt ${cursor}`,
            select: ['RowKey', 't'],
          },
        })
        .byPage({ maxPageSize: 1000 })
        .next();
      if (rows.done || rows.value.length === 0) break;
      for (const row of rows.value) tenants.add(row.t);
      cursor = rows.value[rows.value.length - 1]!.rowKey!;
    }
    for (const t of tenants) await this.o.lanes.toLaneQueue({ k: 'update', g: groupId, s: seq, t });
    await this.o.finished(message);
    if (post.deleted && tenants.size === 0) await this.o.afterUpdate(groupId, seq);
  }
}
