import { odata, type TableClient } from '@azure/data-tables';
import { ConcurrentWriteError } from '../errors';
import { TableRepository } from './tables';

/**
 * Pending join digests (issue 18, group types) in the `groups` table's own partition `~joindigest`, one row per
 * group (RowKey the group id) with the time of its first join since the last digest. Insert-if-absent marks it;
 * the sweep reads the rows marked before a cutoff and deletes each at the eTag it read, so a mark made again
 * meanwhile (after a delete) stays for the next day.
 */
export const DIGEST_PARTITION = '~joindigest';

interface DigestEntity {
  since: string;
  firstUserId: string;
}

/** Implements src/teams/notices/joinDigest.ts JoinDigestStore (structurally: storage does not import the glue). */
export class TableJoinDigestStore {
  private readonly rows: TableRepository<DigestEntity>;

  constructor(private readonly table: TableClient) {
    this.rows = new TableRepository(table);
  }

  async mark(groupId: string, at: string, userId: string): Promise<void> {
    await this.rows.insert({ partitionKey: DIGEST_PARTITION, rowKey: groupId, since: at, firstUserId: userId });
  }

  async due(cutoff: string, limit: number): Promise<Array<{ groupId: string; since: string; firstUserId: string }>> {
    const out: Array<{ groupId: string; since: string; firstUserId: string }> = [];
    const filter = odata`PartitionKey eq ${DIGEST_PARTITION} and since lt ${cutoff}`;
    for await (const page of this.table.listEntities<DigestEntity>({ queryOptions: { filter } }).byPage({ maxPageSize: limit })) {
      for (const row of page) if (out.length < limit) out.push({ groupId: row.rowKey!, since: row.since, firstUserId: row.firstUserId });
      break;
    }
    return out;
  }

  async clear(groupId: string, since: string): Promise<void> {
    const row = await this.rows.find(DIGEST_PARTITION, groupId);
    if (!row || row.since !== since) return;
    try {
      await this.rows.delete(DIGEST_PARTITION, groupId, row.etag);
    } catch (err) {
      if (!(err instanceof ConcurrentWriteError)) throw err;
    }
  }
}
