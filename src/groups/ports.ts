import { ConflictError } from '../errors';
import type { AuditEntry, Ban, Group, GroupPhoto, JoinScope, Member, Page, Role, UserRef } from './model';

/** A page request with the size already decided by the service. */
export interface PageQuery {
  pageSize: number;
  continuationToken?: string;
}

/**
 * What GroupService needs from storage. Each method is one unit the store must make atomic (or, for the
 * index methods, idempotent), so the service can run on Table Storage, a SQL database or an in-memory fake.
 *
 * Concurrency contract: the group's row has a `version` (an eTag in Table Storage). Every change that depends
 * on who the admins are, or that removes a member, is conditional on the version the service read, and fails
 * with ConcurrentChangeError when someone changed the group since; the service then re-reads and decides
 * again. Joins do NOT touch the group's version (thousands of people join at once); the store counts members
 * without a single hot row.
 */
export interface GroupStore {
  /**
   * Writes the group, its creator as admin, its member count and its "created" audit entry all at once.
   * Returns false (and writes nothing) when a group with this id exists already.
   */
  insertGroup(newGroup: NewGroup): Promise<boolean>;

  /** The group with its member count and version; undefined when there is none. */
  getGroup(groupId: string): Promise<GroupRecord | undefined>;
  /** The group and one person's membership, read together (one round trip in Table Storage). */
  getGroupWithMember(groupId: string, userId: string): Promise<{ record: GroupRecord; member?: Member } | undefined>;
  getMember(groupId: string, userId: string): Promise<Member | undefined>;

  /**
   * Adds the member (as a plain member), counts them and audits "joined", all at once. 'already_member' when
   * this user is a member already, 'banned' when an admin removed them and nobody let them back in (nothing
   * written either way). The ban must be decided by the same atomic write that adds the member, so that a
   * join racing its removal can never slip past the ban. Throws NotFoundError when the group is gone.
   */
  addMember(member: Member, audit: AuditEntry): Promise<'added' | 'already_member' | 'banned'>;

  /**
   * Many adds into one group at once (bulk add): each as addMember (plain member, counted, audited, the ban
   * decided by the write that adds), the outcomes in the order given, in a few round trips (Table Storage: 49
   * members to a transaction). The same person twice: the second is 'already_member'. Throws NotFoundError when
   * the group is gone; any other failure may have added some of them (a rerun finds those members).
   */
  addMembers(
    groupId: string,
    adds: ReadonlyArray<{ member: Member; audit: AuditEntry }>,
  ): Promise<Array<'added' | 'already_member' | 'banned'>>;

  /** Removals, bans, role changes and lifted bans, conditional on the group's version. Throws ConcurrentChangeError. */
  changeMembership(change: MembershipChange): Promise<void>;

  /** The ban of this person, if an admin removed them and nobody let them back in. */
  getBan(groupId: string, userId: string): Promise<Ban | undefined>;
  /** The group's bans, in a stable order. */
  listBans(groupId: string, page: PageQuery): Promise<Page<Ban>>;

  /** Changes group properties, conditional on the group's version, with its audit entry. */
  updateGroup(groupId: string, expectedVersion: string, patch: GroupPatch, audit: AuditEntry): Promise<void>;

  /**
   * Removes the group, conditional on its version: first the group itself (from then on it is gone for
   * everyone), then members, counters, audit, photo and index rows.
   */
  deleteGroup(record: GroupRecord): Promise<void>;

  /** Invite rows map the hash of a token or join code to its group. Idempotent. */
  putInvites(groupId: string, secretHashes: readonly string[]): Promise<void>;
  deleteInvites(secretHashes: readonly string[]): Promise<void>;
  findInviteGroupId(secretHash: string): Promise<string | undefined>;
  /**
   * Remembers the hashes of reset invite links (the hash only, never the link, and no group id), so a reset
   * link's page can say "this link was reset" instead of "not valid". Idempotent. Optional for a store.
   */
  putRevokedInvites?(secretHashes: readonly string[]): Promise<void>;
  isRevokedInvite?(secretHash: string): Promise<boolean>;

  putPhoto(groupId: string, photo: GroupPhoto): Promise<void>;
  getPhoto(groupId: string): Promise<GroupPhoto | undefined>;

  /** "My groups" index. Idempotent; also the repair after a crash between a membership change and the index. */
  /**
   * The "my groups" row; with `makeCurrent` the group also becomes the user's current group, in the same write
   * (a join pays nothing more for it).
   */
  indexUserGroup(userId: string, groupId: string, options?: { makeCurrent?: boolean }): Promise<void>;
  /** indexUserGroup for many people of one group (bulk add), a bounded number at once. */
  indexUserGroups(groupId: string, users: ReadonlyArray<{ userId: string; makeCurrent?: boolean }>): Promise<void>;
  /** Drops the index row unless the user is (again) a member: safe when a leave and a re-join race. */
  unindexUserGroup(userId: string, groupId: string): Promise<void>;
  listUserGroupIds(userId: string, page: PageQuery): Promise<Page<string>>;

  /** Organization index. Idempotent. */
  indexOrgGroup(tenantId: string, groupId: string): Promise<void>;
  unindexOrgGroup(tenantId: string, groupId: string): Promise<void>;
  listOrgGroupIds(tenantId: string, page: PageQuery): Promise<Page<string>>;

  listMembers(groupId: string, page: PageQuery): Promise<Page<Member>>;
  /**
   * People of the group (members, and people an admin removed) whose name is `typed` (a nameKey, see
   * memberNames.ts) or has a word start beginning with it: exact matches first, at most `limit` people, each
   * checked against their member row (an index entry the row does not bear out is never an answer). Costs a
   * bounded number of storage requests however big the group is.
   */
  peopleNamed(groupId: string, typed: string, limit: number): Promise<NamedPerson[]>;
  /**
   * The members search (members card, tab): members whose name is `typed` (a nameKey) or has a word start
   * beginning with it, each once, in the order of the matching part (alphabetical), a page at a time from the
   * name index (a page may hold fewer than asked; only its token says whether more follow). Never the list.
   */
  searchMembers(groupId: string, typed: string, page: PageQuery): Promise<Page<Member>>;
  allMembers(groupId: string): AsyncIterable<Member>;
  /** Newest first. */
  listAudit(groupId: string, page: PageQuery): Promise<Page<AuditEntry>>;
  /** Newest first. */
  allAudit(groupId: string): AsyncIterable<AuditEntry>;
}

/** Someone GroupStore.peopleNamed found by name. */
export interface NamedPerson {
  user: UserRef;
  /** Their membership; undefined when an admin removed them (and nobody let them back in). */
  member?: Member;
  /** Their whole name is what was typed (not just a word start of it). */
  exact: boolean;
}

/** A group as stored, with what the service needs to decide and to write conditionally. */
export interface GroupRecord {
  /** memberCount is exact as of the read. */
  group: Group;
  linkNonce: string;
  /** Admins are few (capped), so they live on the group itself: the last-admin rule needs one read. */
  adminIds: readonly string[];
  /** Opaque concurrency token of the group (its eTag). */
  version: string;
}

export interface NewGroup {
  group: Group;
  linkNonce: string;
  creator: Member;
  audit: AuditEntry;
}

export interface MembershipChange {
  groupId: string;
  expectedVersion: string;
  /** The admins after the change (the service keeps it at least one). */
  adminIds: readonly string[];
  /** User ids whose memberships end; the member count drops by as many. */
  remove?: readonly string[];
  setRoles?: readonly { userId: string; role: Role }[];
  /** Bans of people in `remove` (removed by an admin): written with the removal, so they never rejoin in between. */
  ban?: readonly Ban[];
  /** User ids whose ban ends (an admin let them back in). */
  allow?: readonly string[];
  audit: readonly AuditEntry[];
  /** People the group no longer knows by name (they left, or were let back in after a removal): the name index forgets them. */
  forget?: readonly UserRef[];
}

/**
 * Counts join-code checks in shared storage BEFORE the code is checked, so that parallel requests and several
 * instances together get no more guesses than one patient client. Throws RateLimitedError when the user, the
 * conversation, the tenant or the client address is over its limit.
 */
export interface JoinCodeAttempts {
  count(userId: string, scope: JoinScope): Promise<void>;
}

export interface OrganizationMapping {
  tenantId: string;
  organizationName: string;
  mappedBy: UserRef;
  mappedAt: string;
}

export interface GroupPatch {
  linkNonce?: string;
  organization?: OrganizationMapping;
}

/** Someone changed the group between the service's read and its write; re-read and decide again. */
export class ConcurrentChangeError extends ConflictError {
  constructor(options?: { cause?: unknown }) {
    super('Someone else changed this group at the same moment. Please try again.', options);
  }
}
