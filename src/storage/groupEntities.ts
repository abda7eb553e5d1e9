import { randomBytes } from 'node:crypto';
import type { AuditAction, AuditEntry, Ban, Group, Member, Role } from '../groups/model';
import { AUDIT_PREFIX, BAN_PREFIX, toKey } from './groupPartition';

/*
 * The rows of a group's partition as Table Storage holds them (the layout is in tableGroupStore.ts), and the
 * mapping between them and the domain's model.
 */

export const COUNTER_SHARDS = 16;
export const COUNTER_PREFIX = 'group|count|';
/** The role of a tombstone member row (see the layout in tableGroupStore.ts): never a member. */
export const BANNED = 'banned';

export interface GroupEntity {
  name: string;
  photoVersion?: string;
  photoContentType?: string;
  createdById: string;
  createdByName: string;
  createdAt: string;
  status: Group['status'];
  tenantId?: string;
  organizationName?: string;
  mappedById?: string;
  mappedByName?: string;
  mappedAt?: string;
  linkNonce: string;
  adminIds: string;
  changedAt: string;
  /** Written by the conversation's settings (postEntities.ts settingsColumns). */
  membersSeeEachOther?: boolean;
  /** Written with the conversation's settings (postEntities.ts). */
  onlyAdminsPost?: boolean;
  joinNotices?: string;
}

export interface CounterEntity {
  count: number;
}

export interface MemberEntity {
  userId: string;
  userName: string;
  role: Role | typeof BANNED;
  joinedAt: string;
  conversationRef?: string;
}

export interface AuditEntity {
  at: string;
  action: AuditAction;
  actorId: string;
  actorName: string;
  subjectId?: string;
  subjectName?: string;
  detail?: string;
}

export interface BanEntity {
  userId: string;
  userName: string;
  bannedById: string;
  bannedByName: string;
  bannedAt: string;
}

export interface InviteEntity {
  groupId: string;
}

export interface UserGroupEntity {
  userId: string;
}

export interface PhotoEntity {
  bytes: Uint8Array;
  contentType: string;
  version: string;
}

export const banRowKey = (userId: string) => `${BAN_PREFIX}${toKey(userId)}`;
export const isBanned = (row: { role?: string } | undefined) => row?.role === BANNED;
export const counterRowKey = (shard: number) => `${COUNTER_PREFIX}${String(shard).padStart(2, '0')}`;

/**
 * Newest first: RowKeys sort ascending, so store (max - time), fixed width, plus a suffix against same-ms ties.
 * `order` (0-15) makes the entries of one change list in the order given ("removed" before "banned").
 */
export function auditRowKey(at: string, order?: number): string {
  const inverted = 9_999_999_999_999 - Date.parse(at);
  const random = randomBytes(4).toString('hex');
  const suffix = order === undefined ? random : `${Math.min(order, 15).toString(16)}${random.slice(1)}`;
  return `${AUDIT_PREFIX}${String(inverted).padStart(13, '0')}|${suffix}`;
}

/** Drops undefined properties: a Merge must not send them, and Table Storage has no null. */
export function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

// ---- entity mapping ---------------------------------------------------------------------------------------

export function toGroupEntity(group: Group, linkNonce: string, adminIds: readonly string[]): GroupEntity {
  return defined({
    name: group.name,
    photoVersion: group.photo?.version,
    photoContentType: group.photo?.contentType,
    createdById: group.createdBy.id,
    createdByName: group.createdBy.name,
    createdAt: group.createdAt,
    status: group.status,
    tenantId: group.tenantId,
    organizationName: group.organizationName,
    mappedById: group.mappedBy?.id,
    mappedByName: group.mappedBy?.name,
    mappedAt: group.mappedAt,
    linkNonce,
    adminIds: JSON.stringify(adminIds),
    changedAt: group.createdAt,
  });
}

export function fromGroupEntity(groupId: string, row: GroupEntity, memberCount: number): Group {
  return defined({
    id: groupId,
    name: row.name,
    photo: row.photoVersion ? { version: row.photoVersion, contentType: row.photoContentType ?? 'image/png' } : undefined,
    createdBy: { id: row.createdById, name: row.createdByName },
    createdAt: row.createdAt,
    status: row.status,
    tenantId: row.tenantId,
    organizationName: row.organizationName,
    mappedBy: row.mappedById ? { id: row.mappedById, name: row.mappedByName ?? '' } : undefined,
    mappedAt: row.mappedAt,
    memberCount,
    membersHidden: row.membersSeeEachOther === false ? true : undefined,
    onlyAdminsPost: row.onlyAdminsPost === true ? true : undefined,
    joinNotices: row.joinNotices === 'each' || row.joinNotices === 'digest' || row.joinNotices === 'off' ? row.joinNotices : undefined,
    linkNonce: row.linkNonce,
  });
}

export function parseAdminIds(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === 'string') : [];
}

export function toMemberEntity(member: Member): MemberEntity {
  return defined({
    userId: member.user.id,
    userName: member.user.name,
    role: member.role,
    joinedAt: member.joinedAt,
    conversationRef: member.conversationRef,
  });
}

export function fromMemberEntity(groupId: string, row: MemberEntity): Member {
  return defined({
    groupId,
    user: { id: row.userId, name: row.userName },
    role: row.role === 'admin' ? 'admin' : 'member',
    joinedAt: row.joinedAt,
    conversationRef: row.conversationRef,
  });
}

export function toBanEntity(ban: Ban): BanEntity {
  return {
    userId: ban.user.id,
    userName: ban.user.name,
    bannedById: ban.bannedBy.id,
    bannedByName: ban.bannedBy.name,
    bannedAt: ban.bannedAt,
  };
}

export function fromBanEntity(groupId: string, row: BanEntity): Ban {
  return {
    groupId,
    user: { id: row.userId, name: row.userName },
    bannedBy: { id: row.bannedById, name: row.bannedByName },
    bannedAt: row.bannedAt,
  };
}

export function toAuditEntity(entry: AuditEntry): AuditEntity {
  return defined({
    at: entry.at,
    action: entry.action,
    actorId: entry.actor.id,
    actorName: entry.actor.name,
    subjectId: entry.subject?.id,
    subjectName: entry.subject?.name,
    detail: entry.detail,
  });
}

export function fromAuditEntity(groupId: string, row: AuditEntity): AuditEntry {
  return defined({
    groupId,
    at: row.at,
    action: row.action,
    actor: { id: row.actorId, name: row.actorName },
    subject: row.subjectId ? { id: row.subjectId, name: row.subjectName ?? '' } : undefined,
    detail: row.detail,
  });
}
