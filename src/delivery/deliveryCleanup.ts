import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { forEachLimited } from '../storage/partitionSweep';
import { isNotFound } from '../storage/tables';
import { dec, enc, outboxRow, postPartition, seqKey } from './deliveryStore';

const ONE_OFF = 'oneoff';
const UNREACHABLE = 'unreachable';
/** Copies given up for now (`<group>|<seq>|<user>`), which the sweep queues again. */
const RETRY = 'retry';
/** Partitions deleted side by side: a group's posts are many small partitions. */
const PARTITIONS_AT_ONCE = 8;

/**
 * What the delivery engine keeps about a post or a group goes with it: each recipient's row (state, the sent
 * activity id, the conversation reference), the outbox row, the unreachable and retry markers and the one-off send records
 * (issue 17: nothing left behind). Idempotent: a rerun after a crash deletes what is left, and a row already gone
 * is no error.
 */
export class DeliveryCleanup {
  constructor(
    private readonly deliveries: TableClient,
    private readonly outbox: TableClient,
  ) {}

  /** Posts past retention (or otherwise gone for good): their recipients' rows and their outbox rows. */
  async forgetPosts(groupId: string, seqs: readonly number[]): Promise<number> {
    let deleted = 0;
    await forEachLimited(seqs, PARTITIONS_AT_ONCE, async (seq) => {
      deleted += await this.deletePartition(this.deliveries, postPartition(groupId, seq));
      deleted += await this.deleteRows(this.deliveries, RETRY, (key) => key.startsWith(`${enc(groupId)}|${seqKey(seq)}|`));
      await deleteIfThere(this.outbox, groupId, outboxRow(seq));
    });
    return deleted;
  }

  /**
   * A deleted post (issue 17): once its fan-out is over (no outbox row), no delivered copy still shows an older
   * version than the tombstone's (the update pass deleted each, or gave it up) and none is being sent, its rows
   * go as for retention. False, and nothing deleted, until then.
   */
  async forgetDeleted(groupId: string, seq: number, version: number): Promise<boolean> {
    if (await findIfThere(this.outbox, groupId, outboxRow(seq))) return false;
    // A copy being sent right now (a retry of a give-up) writes its outcome next: it waits for that too.
    const filter = odata`PartitionKey eq ${postPartition(groupId, seq)} and ((st eq ${'sent'} and v lt ${version}) or st eq ${'sending'})`;
    for await (const _copy of this.deliveries.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) return false;
    await this.forgetPosts(groupId, [seq]);
    return true;
  }

  /** A deleted group: every post's recipient rows, its outbox, its unreachable markers and its one-off records. */
  async forgetGroup(groupId: string): Promise<number> {
    // Partitions `<group>|<seq>`: between `<group>|` and `<group>}` ('}' sorts right after '|').
    const filter = odata`PartitionKey gt ${`${enc(groupId)}|`} and PartitionKey lt ${`${enc(groupId)}}`}`;
    const partitions = new Set<string>();
    for await (const row of this.deliveries.listEntities({ queryOptions: { filter, select: ['PartitionKey'] } }))
      partitions.add(row.partitionKey!);
    let deleted = 0;
    await forEachLimited([...partitions], PARTITIONS_AT_ONCE, async (partition) => {
      deleted += await this.deletePartition(this.deliveries, partition);
    });
    deleted += await this.deletePartition(this.outbox, groupId);
    deleted += await this.deleteRows(this.deliveries, UNREACHABLE, (key) => key.startsWith(`${enc(groupId)}|`));
    deleted += await this.deleteRows(this.deliveries, RETRY, (key) => key.startsWith(`${enc(groupId)}|`));
    // One-off keys name their group second (`join|<group>|...`).
    deleted += await this.deleteRows(this.deliveries, ONE_OFF, (key) => dec(key).split('|')[1] === groupId);
    return deleted;
  }

  /** One-off send records only guard against sending twice: a day after the send they are of no use. */
  async deleteOneOffsBefore(cutoff: string): Promise<number> {
    const filter = odata`PartitionKey eq ${ONE_OFF} and Timestamp lt ${new Date(cutoff)}`;
    const keys: string[] = [];
    for await (const row of this.deliveries.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) keys.push(row.rowKey!);
    return this.deleteKeys(this.deliveries, ONE_OFF, keys);
  }

  private deletePartition(table: TableClient, partitionKey: string): Promise<number> {
    return this.deleteRows(table, partitionKey, () => true);
  }

  private async deleteRows(table: TableClient, partitionKey: string, wanted: (rowKey: string) => boolean): Promise<number> {
    const filter = odata`PartitionKey eq ${partitionKey}`;
    const keys: string[] = [];
    for await (const row of table.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) {
      if (wanted(row.rowKey!)) keys.push(row.rowKey!);
    }
    return this.deleteKeys(table, partitionKey, keys);
  }

  private async deleteKeys(table: TableClient, partitionKey: string, keys: readonly string[]): Promise<number> {
    for (let i = 0; i < keys.length; i += 100) {
      const actions: TransactionAction[] = keys.slice(i, i + 100).map((rowKey) => ['delete', { partitionKey, rowKey }]);
      try {
        await table.submitTransaction(actions);
      } catch (err) {
        // A row deleted meanwhile (another instance's cleanup) fails the whole batch: delete one by one.
        if (!isNotFound(err)) throw err;
        for (const [, row] of actions) await deleteIfThere(table, partitionKey, (row as { rowKey: string }).rowKey);
      }
    }
    return keys.length;
  }
}

async function findIfThere(table: TableClient, partitionKey: string, rowKey: string): Promise<boolean> {
  try {
    await table.getEntity(partitionKey, rowKey);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function deleteIfThere(table: TableClient, partitionKey: string, rowKey: string): Promise<void> {
  await table.deleteEntity(partitionKey, rowKey).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}
