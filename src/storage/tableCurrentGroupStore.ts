import type { TableClient } from '@azure/data-tables';
import type { CurrentGroupStore } from '../groups/posts';
import { CURRENT_GROUP_ROW, toKey } from './tableGroupStore';
import { isNotFound, TableRepository } from './tables';

interface UserGroupEntity {
  /** When this group last became current (created, joined, opened, replied in); ISO time. */
  currentAt?: string;
  /** On the CURRENT_GROUP_ROW only: the group the member was last told their posts go to. */
  confirmedGroupId?: string;
}

/**
 * Each member's current group, derived from their "my groups" rows in `usergroups`: the row with the latest
 * `currentAt`. A join writes that time on the index row it writes anyway, so making the joined group current
 * costs a join nothing (a second row, even in one transaction, halved the join storm's rate on Azurite). Opening,
 * replying and switching stamp the row again. The "Sent to ..." confirmation lives in the partition's
 * CURRENT_GROUP_ROW, which sorts after every group id. Last writer wins on purpose; instances' clocks only need
 * to agree to within the time between two actions of one person.
 */
export class TableCurrentGroupStore implements CurrentGroupStore {
  private readonly rows: TableRepository<UserGroupEntity>;

  constructor(private readonly table: TableClient) {
    this.rows = new TableRepository(table);
  }

  async get(userId: string): Promise<{ groupId: string; confirmedGroupId?: string } | undefined> {
    let latest: { groupId: string; at: string } | undefined;
    let confirmedGroupId: string | undefined;
    for await (const row of this.rows.all(toKey(userId))) {
      if (row.rowKey === CURRENT_GROUP_ROW) {
        confirmedGroupId = row.confirmedGroupId || undefined;
      } else if (row.currentAt && (!latest || row.currentAt >= latest.at)) {
        latest = { groupId: row.rowKey, at: row.currentAt };
      }
    }
    if (!latest) return undefined;
    return confirmedGroupId ? { groupId: latest.groupId, confirmedGroupId } : { groupId: latest.groupId };
  }

  async set(userId: string, groupId: string): Promise<void> {
    try {
      // Merge into the member's own index row only: no row means no membership, and nothing to make current.
      await this.table.updateEntity({ partitionKey: toKey(userId), rowKey: groupId, currentAt: new Date().toISOString() }, 'Merge');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async confirm(userId: string, groupId: string): Promise<void> {
    await this.table.upsertEntity({ partitionKey: toKey(userId), rowKey: CURRENT_GROUP_ROW, confirmedGroupId: groupId }, 'Merge');
  }

  /** The member is no longer in their current group: forget the confirmation (leaving removes the index row). */
  async clear(userId: string): Promise<void> {
    await this.rows.delete(toKey(userId), CURRENT_GROUP_ROW, '*');
  }
}
