import type { TableClient } from '@azure/data-tables';
import { TableRepository } from './tables';

/**
 * What a group's owner set for step 4's poster and email: the sender name, a short personal line and, for a
 * group not (yet) mapped to an organization, the organization name as they typed it.
 *
 * Stored as one row in the group's own partition of `groups` (RowKey 'documents'), so deleting the group
 * removes it with everything else (TableGroupStore.deleteGroup sweeps the whole partition).
 */
export interface DocumentProfile {
  senderName?: string;
  personalLine?: string;
  /** Typed by the owner; used only while the group has no verified organization. */
  organizationName?: string;
}

export interface DocumentProfileStore {
  get(groupId: string): Promise<DocumentProfile | undefined>;
  put(groupId: string, profile: DocumentProfile): Promise<void>;
}

const PROFILE_ROW = 'documents';

interface ProfileEntity {
  senderName?: string;
  personalLine?: string;
  organizationName?: string;
  changedAt: string;
}

export class TableDocumentProfileStore implements DocumentProfileStore {
  private readonly rows: TableRepository<ProfileEntity>;

  constructor(private readonly groupsTable: TableClient) {
    this.rows = new TableRepository(groupsTable);
  }

  async get(groupId: string): Promise<DocumentProfile | undefined> {
    const row = await this.rows.find(groupId, PROFILE_ROW);
    if (!row) return undefined;
    return {
      ...(row.senderName ? { senderName: row.senderName } : {}),
      ...(row.personalLine ? { personalLine: row.personalLine } : {}),
      ...(row.organizationName ? { organizationName: row.organizationName } : {}),
    };
  }

  async put(groupId: string, profile: DocumentProfile): Promise<void> {
    // Replace: a field the owner cleared must go, and Table Storage has no null.
    await this.groupsTable.upsertEntity(
      {
        partitionKey: groupId,
        rowKey: PROFILE_ROW,
        changedAt: new Date().toISOString(),
        ...(profile.senderName ? { senderName: profile.senderName } : {}),
        ...(profile.personalLine ? { personalLine: profile.personalLine } : {}),
        ...(profile.organizationName ? { organizationName: profile.organizationName } : {}),
      },
      'Replace',
    );
  }
}

/** For tests and runs without storage. */
export class MemoryDocumentProfileStore implements DocumentProfileStore {
  private readonly profiles = new Map<string, DocumentProfile>();
  async get(groupId: string): Promise<DocumentProfile | undefined> {
    return this.profiles.get(groupId);
  }
  async put(groupId: string, profile: DocumentProfile): Promise<void> {
    this.profiles.set(groupId, { ...profile });
  }
}
