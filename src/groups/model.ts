/**
 * The domain's vocabulary. Plain data, no behaviour and no dependency on Teams or storage, so that dialogs,
 * cards, the web API and any store can share it.
 */

/** A person. `id` is opaque and stable (the glue passes the AAD object id, or the Teams user id without one). */
export interface UserRef {
  id: string;
  name: string;
}

export type Role = 'admin' | 'member';

export type GroupStatus = 'private' | 'organization';

export interface GroupPhotoRef {
  /** Changes whenever the photo changes; cards put it in the image URL so clients never show a stale photo. */
  version: string;
  contentType: string;
}

export interface Group {
  id: string;
  name: string;
  photo?: GroupPhotoRef;
  createdBy: UserRef;
  createdAt: string;
  status: GroupStatus;
  /** Set once by mapping; only ever from a verified token's tid. */
  tenantId?: string;
  organizationName?: string;
  mappedBy?: UserRef;
  mappedAt?: string;
  memberCount: number;
  /**
   * Group types (issue 18): "Members see each other" is off, so members see the count and the admins, never
   * other members' names (groupTypes.ts). Written with the conversation's settings; absent: they see each other.
   */
  membersHidden?: boolean;
  /** "Only admins can post" (the conversation's setting, written with it): Group Info hides Announce and Poll from members. */
  onlyAdminsPost?: boolean;
  /** Join notices to admins as chosen (absent: automatic, groupTypes.ts joinNoticeMode). */
  joinNotices?: 'each' | 'digest' | 'off';
  /**
   * Internal: the seed of the current invite link and join code. GroupService never returns it (it is useless
   * without the app secret, but nothing outside the domain needs it).
   */
  linkNonce?: string;
}

export interface Member {
  groupId: string;
  user: UserRef;
  role: Role;
  joinedAt: string;
  /** Opaque JSON the glue stores for proactive messages later (taken only from an authenticated activity). */
  conversationRef?: string;
}

export type AuditAction =
  | 'created'
  | 'joined'
  | 'added'
  | 'left'
  | 'removed'
  | 'role_changed'
  | 'link_reset'
  | 'mapped'
  | 'photo_set'
  | 'exported'
  | 'banned'
  | 'allowed';

export interface AuditEntry {
  groupId: string;
  at: string;
  action: AuditAction;
  actor: UserRef;
  subject?: UserRef;
  detail?: string;
}

export interface Page<T> {
  items: T[];
  /** Absent on the last page. Opaque: pass it back unchanged. */
  continuationToken?: string;
}

export interface PageRequest {
  pageSize?: number;
  continuationToken?: string;
  /** Members only: a part of the name (any case); the token then continues the search. */
  search?: string;
}

/** A group as one of its members sees it in "my groups". */
export interface MyGroup {
  group: Group;
  role: Role;
  joinedAt: string;
}

export interface GroupPhoto {
  bytes: Buffer;
  contentType: string;
  version: string;
}

export interface InviteReference {
  kind: 'token' | 'code';
  /** Canonical form: the 22-character token, or the 10-character join code without the dash, upper case. */
  value: string;
}

export interface Invite {
  url: string;
  token: string;
  /** Displayed form, `XXXXX-XXXXX`. */
  joinCode: string;
}

/** Who performs an operation that an organization admin of the owning tenant may also perform. */
export interface Actor {
  user: UserRef;
  /** Set by the glue only after it has verified that the user is an organization admin of this tenant. */
  orgAdminOfTenant?: string;
}

/**
 * A person an admin removed: they cannot join again (by any link or code, old or new) until an admin lets them
 * back in. Leaving on one's own bans nobody.
 */
export interface Ban {
  groupId: string;
  user: UserRef;
  bannedBy: UserRef;
  bannedAt: string;
}

/** Where a join-code check comes from: each is counted against its own limit (the user is always one). */
export interface JoinScope {
  conversationId?: string;
  tenantId?: string;
  /** The client's network address, for callers outside a Teams conversation (a web API). */
  clientAddress?: string;
}
