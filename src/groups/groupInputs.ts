import { createHash } from 'node:crypto';
import { ForbiddenError } from '../errors';
import type { AuditEntry, Group, InviteReference, JoinScope, Member, UserRef } from './model';
import type { GroupStore, JoinCodeAttempts } from './ports';

/* What GroupService takes and what it throws besides the common errors: its options, inputs and two errors. */

export interface GroupServiceOptions {
  store: GroupStore;
  /** HMAC key: group ids from idempotency keys, invite tokens and join codes are derived from it. */
  appSecret: string;
  /** Base URL of the server, for invite links. */
  publicUrl: string;
  now?: () => Date;
  /** Tenants allowed to own groups; empty or absent = any tenant. */
  allowedTenantIds?: readonly string[];
  /** Counts join-code checks before they happen (codes are short enough to guess); absent = unlimited. */
  joinCodeAttempts?: JoinCodeAttempts;
}

export interface CreateGroupInput {
  name: string;
  creator: UserRef;
  /** Already resized by the caller. */
  photo?: { bytes: Buffer; contentType: string };
  /** Stable per request (conversation id + activity id): a redelivery returns the same group. */
  idempotencyKey: string;
  conversationRef?: string;
}

export interface JoinInput {
  /** What the person pasted or typed (link, token or join code), or an already parsed reference. */
  ref: string | InviteReference;
  user: UserRef;
  conversationRef?: string;
  /** Where the request comes from: a join code is counted against each of these (and the user). */
  scope?: JoinScope;
}

/** Names the link a reset is meant to replace: the link itself, or its tag (see inviteLinkTag). */
export type ResetFrom = { url: string } | { linkTag: string };

export interface VerifiedOrganization {
  /** Only ever from a verified token (tid), never from an activity. */
  tenantId: string;
  objectId: string;
  organizationName: string;
}

export interface MapToOrganizationInput {
  groupId: string;
  actor: UserRef;
  verified: VerifiedOrganization;
  idempotencyKey: string;
}

export interface GroupExport {
  group: Group;
  members: AsyncIterable<Member>;
  /** Newest first. */
  audit: AsyncIterable<AuditEntry>;
}

/** The rule "a group always has an admin" stopped the operation; the glue can offer to pick a new admin. */
export class LastAdminError extends ForbiddenError {}

/** An admin removed this person from the group; they may join again only once an admin lets them back in. */
export class RemovedFromGroupError extends ForbiddenError {
  constructor(readonly groupName: string) {
    super(`An admin removed you from ${groupName}. Ask an admin to let you back in.`);
  }
}

/** A short, non-secret fingerprint of an invite token: cards carry it to say which link a reset replaces. */
export function inviteLinkTag(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 12);
}
