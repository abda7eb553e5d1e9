import type { GroupPhoto, Page } from '../groups/model';
import type { PageQuery } from '../groups/ports';
import { ConcurrentWriteError } from '../errors';
import { forEachLimited } from './partitionSweep';
import { isBanned, type InviteEntity, type MemberEntity, type PhotoEntity, type UserGroupEntity } from './groupEntities';
import { memberRowKey, toKey } from './groupPartition';
import { TableRepository, type TableClients } from './tables';

/*
 * What lives outside a group's partition (see the layout in tableGroupStore.ts): the invite and revoked-link
 * rows, the photo bytes, and the "my groups" and organization indexes. Each is written after the group's
 * transaction, idempotently, and repaired on read. The base of TableGroupStore.
 */

/**
 * A row of each user's "my groups" partition that is not a group: it keeps the "Sent to ..." confirmation of the
 * current group (issue 10). It sorts after every group id ('~' is above the base64url alphabet), so "my groups"
 * pages stop below it.
 */
export const CURRENT_GROUP_ROW = '~current';

const INVITE_ROW = 'invite';
/** A reset link's hash (same PartitionKey as its old invite row): only that it was reset, nothing else. */
const REVOKED_INVITE_ROW = 'revoked';
const PHOTO_ROW = 'photo';
const INDEX_CLEANUP_CONCURRENCY = 8;
/** "My groups" rows of a bulk add's chunk in flight at once: a hundred people's rows in a few round trips. */
const INDEX_WRITE_CONCURRENCY = 32;

export class GroupIndexTables {
  protected readonly memberRows: TableRepository<MemberEntity>;
  private readonly invites: TableRepository<InviteEntity>;
  private readonly userGroups: TableRepository<UserGroupEntity>;
  private readonly orgGroups: TableRepository<object>;
  private readonly photos: TableRepository<PhotoEntity>;

  constructor(protected readonly tables: TableClients) {
    this.memberRows = new TableRepository(tables.groups);
    this.invites = new TableRepository(tables.invites);
    this.userGroups = new TableRepository(tables.usergroups);
    this.orgGroups = new TableRepository(tables.orggroups);
    this.photos = new TableRepository(tables.photos);
  }

  /** After a group's rows are gone: nothing outside its partition may survive it, whatever state it is in. */
  protected async sweepOutside(groupId: string, memberIds: readonly string[], tenantId: string | undefined): Promise<void> {
    await forEachLimited(memberIds, INDEX_CLEANUP_CONCURRENCY, async (userId) => {
      // '*' on purpose: the group is gone, so any index row pointing at it is stale whatever its state.
      await this.userGroups.delete(toKey(userId), groupId, '*');
      // The member's "Sent to <group>" confirmation names the group too; conditional, as it may name another by now.
      const current = (await this.userGroups.find(toKey(userId), CURRENT_GROUP_ROW)) as
        { confirmedGroupId?: string; etag: string } | undefined;
      if (current?.confirmedGroupId !== groupId) return;
      await this.userGroups.delete(toKey(userId), CURRENT_GROUP_ROW, current.etag).catch((err: unknown) => {
        if (!(err instanceof ConcurrentWriteError)) throw err; // confirmed another group meanwhile: keep it
      });
    });
    // '*' for the same reason: nothing may survive the group, whatever state these rows are in.
    if (tenantId) await this.orgGroups.delete(tenantId, groupId, '*');
    await this.photos.delete(groupId, PHOTO_ROW, '*');
  }

  // ---- invites, photos ------------------------------------------------------------------------------------

  async putInvites(groupId: string, secretHashes: readonly string[]): Promise<void> {
    await Promise.all(
      // Upsert (unconditional) on purpose: the row's key is the secret's hash, so the content is a pure
      // function of the key; rewriting it is the repair after a crash.
      secretHashes.map((hash) => this.tables.invites.upsertEntity({ partitionKey: hash, rowKey: INVITE_ROW, groupId }, 'Replace')),
    );
  }

  async deleteInvites(secretHashes: readonly string[]): Promise<void> {
    // '*': a revoked secret's row must go whatever it holds.
    await Promise.all(secretHashes.map((hash) => this.invites.delete(hash, INVITE_ROW, '*')));
  }

  async findInviteGroupId(secretHash: string): Promise<string | undefined> {
    return (await this.invites.find(secretHash, INVITE_ROW))?.groupId;
  }

  async putRevokedInvites(secretHashes: readonly string[]): Promise<void> {
    const at = new Date().toISOString();
    await Promise.all(
      secretHashes.map((hash) =>
        this.tables.invites.upsertEntity({ partitionKey: hash, rowKey: REVOKED_INVITE_ROW, revokedAt: at }, 'Replace'),
      ),
    );
  }

  async isRevokedInvite(secretHash: string): Promise<boolean> {
    return (await this.invites.find(secretHash, REVOKED_INVITE_ROW)) !== undefined;
  }

  async putPhoto(groupId: string, photo: GroupPhoto): Promise<void> {
    // Last writer wins on purpose: the group row records which version is current, and bytes and version
    // always travel together in this one row.
    await this.tables.photos.upsertEntity(
      {
        partitionKey: groupId,
        rowKey: PHOTO_ROW,
        bytes: new Uint8Array(photo.bytes),
        contentType: photo.contentType,
        version: photo.version,
      },
      'Replace',
    );
  }

  async getPhoto(groupId: string): Promise<GroupPhoto | undefined> {
    const row = await this.photos.find(groupId, PHOTO_ROW);
    if (!row) return undefined;
    return { bytes: Buffer.from(row.bytes), contentType: row.contentType, version: row.version };
  }

  // ---- indexes --------------------------------------------------------------------------------------------

  async indexUserGroup(userId: string, groupId: string, options: { makeCurrent?: boolean } = {}): Promise<void> {
    // Upsert: the row is a pure function of its key, and rewriting it repairs a crash between join and index.
    // `currentAt` on the same row makes the group the user's current one at no extra cost (see
    // TableCurrentGroupStore); without it, Merge keeps the time the row has.
    const index = { partitionKey: toKey(userId), rowKey: groupId, userId };
    if (options.makeCurrent) await this.tables.usergroups.upsertEntity({ ...index, currentAt: new Date().toISOString() }, 'Replace');
    else await this.tables.usergroups.upsertEntity(index, 'Merge');
  }

  /** One row per person, each in its own partition (no transaction spans them): a bounded number at once. */
  async indexUserGroups(groupId: string, users: ReadonlyArray<{ userId: string; makeCurrent?: boolean }>): Promise<void> {
    await forEachLimited(users, INDEX_WRITE_CONCURRENCY, ({ userId, makeCurrent }) =>
      this.indexUserGroup(userId, groupId, { makeCurrent }),
    );
  }

  async unindexUserGroup(userId: string, groupId: string): Promise<void> {
    const row = await this.userGroups.find(toKey(userId), groupId);
    if (!row) return;
    // Read the membership AFTER the index row: if the user re-joined in between, the member row is there, or
    // their re-index changes the row's eTag and the conditional delete below fails harmlessly.
    const member = await this.memberRows.find(groupId, memberRowKey(userId));
    if (member && !isBanned(member)) return;
    try {
      await this.userGroups.delete(toKey(userId), groupId, row.etag);
    } catch (err) {
      if (!(err instanceof ConcurrentWriteError)) throw err;
    }
  }

  async listUserGroupIds(userId: string, page: PageQuery): Promise<Page<string>> {
    // Below the current-group row, which shares the partition.
    const result = await this.userGroups.page(toKey(userId), '', { ...page, below: CURRENT_GROUP_ROW });
    return { items: result.items.map((row) => row.rowKey), continuationToken: result.continuationToken };
  }

  async indexOrgGroup(tenantId: string, groupId: string): Promise<void> {
    await this.tables.orggroups.upsertEntity({ partitionKey: tenantId, rowKey: groupId }, 'Replace');
  }

  async unindexOrgGroup(tenantId: string, groupId: string): Promise<void> {
    // '*': called only for a group that no longer exists; its index row is stale whatever it holds.
    await this.orgGroups.delete(tenantId, groupId, '*');
  }

  async listOrgGroupIds(tenantId: string, page: PageQuery): Promise<Page<string>> {
    const result = await this.orgGroups.page(tenantId, '', page);
    return { items: result.items.map((row) => row.rowKey), continuationToken: result.continuationToken };
  }
}
