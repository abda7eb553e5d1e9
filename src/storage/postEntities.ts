import type { Recipient } from '../delivery/ports';
import type { Role } from '../groups/model';
import type { NewPost, Post } from '../groups/posts';
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
}

export interface GroupViewEntity {
  name: string;
  adminIds: string;
  photoVersion?: string;
  photoContentType?: string;
  onlyAdminsPost?: boolean;
  historyForNewMembers?: boolean;
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
  return { userId: row.userId, tenantId, conversationRef, muted: row.muted === true, joinedAt: row.joinedAt };
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
      row.replyToSeq !== undefined
        ? { seq: Number(row.replyToSeq), senderName: row.replyToName ?? '', preview: row.replyPreview ?? '' }
        : undefined,
    editedAt: row.editedAt,
    version: Number(row.version),
    // Table Storage has no null: an undelete writes '' over the deletion fields.
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
