import type { TableClient } from '@azure/data-tables';
import type { CurrentGroupStore } from '../groups/posts';
import { toKey } from './tableGroupStore';
import { TableRepository } from './tables';

const CURRENT_ROW = 'current';

interface CurrentEntity {
  groupId: string;
  confirmedGroupId?: string;
}

/**
 * Each member's current group: table `currentgroups`, PK the user's key, RK 'current', { groupId,
 * confirmedGroupId }. Its own table (not a row in `usergroups`, whose rows are all group ids). Last writer wins
 * on purpose: the current group is simply the last one the member created, joined, opened or replied in.
 */
export class TableCurrentGroupStore implements CurrentGroupStore {
  private readonly rows: TableRepository<CurrentEntity>;

  constructor(private readonly table: TableClient) {
    this.rows = new TableRepository(table);
  }

  async get(userId: string): Promise<{ groupId: string; confirmedGroupId?: string } | undefined> {
    const row = await this.rows.find(toKey(userId), CURRENT_ROW);
    if (!row?.groupId) return undefined;
    return row.confirmedGroupId ? { groupId: row.groupId, confirmedGroupId: row.confirmedGroupId } : { groupId: row.groupId };
  }

  async set(userId: string, groupId: string): Promise<void> {
    await this.table.upsertEntity({ partitionKey: toKey(userId), rowKey: CURRENT_ROW, groupId }, 'Merge');
  }

  async confirm(userId: string, groupId: string): Promise<void> {
    await this.table.upsertEntity({ partitionKey: toKey(userId), rowKey: CURRENT_ROW, confirmedGroupId: groupId }, 'Merge');
  }

  async clear(userId: string): Promise<void> {
    await this.rows.delete(toKey(userId), CURRENT_ROW, '*');
  }
}
