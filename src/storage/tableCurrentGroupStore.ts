import type { TableClient } from '@azure/data-tables';
import type { CurrentGroupStore } from '../groups/posts';
import { CURRENT_GROUP_ROW, toKey } from './tableGroupStore';
import { TableRepository } from './tables';

const CURRENT_ROW = CURRENT_GROUP_ROW;

interface CurrentEntity {
  groupId: string;
  confirmedGroupId?: string;
}

/**
 * Each member's current group: in table `usergroups`, PK the user's key, RK CURRENT_GROUP_ROW, { groupId,
 * confirmedGroupId } (beside the "my groups" rows, so a join sets it in the same transaction as its index row).
 * Last writer wins on purpose: the current group is simply the last one the member created, joined, opened or
 * replied in.
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
