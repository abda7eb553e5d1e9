import type { Recipient } from '../delivery/ports';
import type { Role } from '../groups/model';
import { DEFAULT_POST_SETTINGS, type GroupPostSettings, type NewPost, type Post } from '../groups/posts';
import { defined } from './groupEntities';

/*
 * The rows of a group's conversation as Table Storage holds them (the layout is in tablePostStore.ts), and the
 * mapping between them and the domain's posts and the delivery engine's recipients.
 */

export const COUNTER_ROW = 'postseq';
export const POST_PREFIX = 'post|';
export const POST_RANGE_END = 'post}';
export const SOURCE_PREFIX = 'postsrc|';
export const SOURCE_INDEX_ROW = 'post';

export const postRowKey = (seq: number) => `${POST_PREFIX}${String(seq).padStart(10, '0')}`;

export interface PostEntity {
  seq: number;
  senderId: string;
  senderName: string;
  senderTenantId: string;
  senderObjectId?: string;
  text: string;
  createdAt: string;
  replyToSeq?: number;
  replyToName?: string;
  replyPreview?: string;
  replyToId?: string;
  /** A hub-and-spoke thread (groups/groupTypes.ts): only the admins and this member see the post. */
  threadId?: string;
  threadName?: string;
  /** The answered post was deleted: replyToName and replyPreview are scrubbed (empty). */
  replyDeleted?: boolean;
  editedAt?: string;
  version: number;
  deletedAt?: string;
  deletedById?: string;
  deletedByName?: string;
  changedAt: string;
  sourceKey: string;
  /** An announcement's or poll's post: its kind and id in the `actions` table. */
  actionKind?: 'announcement' | 'poll';
  actionId?: string;
  /** On a tombstone: everything else about the post is gone too (delivery records, quotes in replies). */
  finished?: boolean;
}

/**
 * A deleted post's row (written with Replace, so nothing else survives): its number, its place in time, the
 * deletion, and the request key (a hash) that lets Teams' undelete find the group and retention the index row.
 */
export function tombstoneOf(row: PostEntity, change: { at: string; by: { id: string; name: string } }): PostEntity {
  return {
    seq: Number(row.seq),
    senderId: '',
    senderName: '',
    senderTenantId: '',
    text: '',
    createdAt: row.createdAt,
    version: Number(row.version) + 1,
    deletedAt: change.at,
    deletedById: change.by.id,
    deletedByName: change.by.name,
    changedAt: change.at,
    sourceKey: row.sourceKey,
    finished: false,
  };
}

export interface GroupViewEntity {
  name: string;
  adminIds: string;
  photoVersion?: string;
  photoContentType?: string;
  onlyAdminsPost?: boolean;
  historyForNewMembers?: boolean;
  membersSeeEachOther?: boolean;
  memberPostsTo?: string;
  /** '' (or absent): automatic. */
  joinNotices?: string;
}

/** The group types' settings as the group row keeps them (absent columns: the defaults). */
export function settingsOf(row: GroupViewEntity): GroupPostSettings {
  const settings: GroupPostSettings = {
    onlyAdminsPost: row.onlyAdminsPost ?? DEFAULT_POST_SETTINGS.onlyAdminsPost,
    historyForNewMembers: row.historyForNewMembers ?? DEFAULT_POST_SETTINGS.historyForNewMembers,
    membersSeeEachOther: row.membersSeeEachOther ?? DEFAULT_POST_SETTINGS.membersSeeEachOther,
    memberPostsTo: row.memberPostsTo === 'admins' ? 'admins' : 'everyone',
  };
  if (row.joinNotices === 'each' || row.joinNotices === 'digest' || row.joinNotices === 'off') settings.joinNotices = row.joinNotices;
  return settings;
}

/** The columns `settingsOf` reads (a Merge writes every one of them, so "automatic" clears a choice). */
export function settingsColumns(
  settings: GroupPostSettings,
): Required<Omit<GroupViewEntity, 'name' | 'adminIds' | 'photoVersion' | 'photoContentType'>> {
  return {
    onlyAdminsPost: settings.onlyAdminsPost,
    historyForNewMembers: settings.historyForNewMembers,
    membersSeeEachOther: settings.membersSeeEachOther,
    memberPostsTo: settings.memberPostsTo,
    joinNotices: settings.joinNotices ?? '',
  };
}

export interface MemberEntity {
  userId: string;
  userName: string;
  role: Role;
  joinedAt: string;
  conversationRef?: string;
  muted?: boolean;
}

export function toRecipient(row: MemberEntity): Recipient {
  let conversationRef: unknown;
  let tenantId = '';
  if (row.conversationRef) {
    try {
      conversationRef = JSON.parse(row.conversationRef);
      const conversation = (conversationRef as { conversation?: { tenantId?: unknown } }).conversation;
      if (typeof conversation?.tenantId === 'string') tenantId = conversation.tenantId.toLowerCase();
    } catch {
      conversationRef = undefined;
    }
  }
  return {
    userId: row.userId,
    tenantId,
    conversationRef,
    muted: row.muted === true,
    joinedAt: row.joinedAt,
    isAdmin: row.role === 'admin',
  };
}

export function toPostEntity(post: NewPost, seq: number): PostEntity {
  return defined({
    seq,
    senderId: post.sender.userId,
    senderName: post.sender.name,
    senderTenantId: post.sender.tenantId,
    senderObjectId: post.sender.objectId,
    text: post.text,
    createdAt: post.createdAt,
    replyToSeq: post.replyTo?.seq,
    replyToName: post.replyTo?.senderName,
    replyPreview: post.replyTo?.preview,
    replyToId: post.replyTo?.senderId,
    threadId: post.thread?.userId,
    threadName: post.thread?.name,
    version: 1,
    changedAt: post.createdAt,
    sourceKey: post.sourceKey,
    actionKind: post.action?.kind,
    actionId: post.action?.id,
  });
}

export function fromPostEntity(groupId: string, row: PostEntity): Post {
  return defined({
    groupId,
    seq: Number(row.seq),
    sender: defined({ userId: row.senderId, name: row.senderName, tenantId: row.senderTenantId, objectId: row.senderObjectId }),
    text: row.text,
    createdAt: row.createdAt,
    replyTo:
      row.replyToSeq === undefined
        ? undefined
        : row.replyDeleted
          ? { seq: Number(row.replyToSeq), senderName: '', preview: '', deleted: true }
          : defined({
              seq: Number(row.replyToSeq),
              senderName: row.replyToName ?? '',
              preview: row.replyPreview ?? '',
              senderId: row.replyToId,
            }),
    thread: row.threadId ? { userId: row.threadId, name: row.threadName ?? '' } : undefined,
    editedAt: row.editedAt,
    version: Number(row.version),
    deletedAt: row.deletedAt || undefined,
    deletedBy: row.deletedAt && row.deletedById ? { id: row.deletedById, name: row.deletedByName ?? '' } : undefined,
    sourceKey: row.sourceKey,
    action: row.actionKind && row.actionId ? { kind: row.actionKind, id: row.actionId } : undefined,
  });
}

export function parseIds(json: string | undefined): string[] {
  try {
    const parsed: unknown = JSON.parse(json ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}
