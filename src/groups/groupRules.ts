import { createHash } from 'node:crypto';
import { ForbiddenError, InvalidInputError, TooLargeError } from '../errors';
import { sniffImageType } from '../imageType';
import type { Actor, Group, GroupPhoto, PageRequest, UserRef } from './model';
import type { GroupRecord, PageQuery } from './ports';

/* The checks and limits of GroupService's inputs and access, as plain functions of what they are given. */

export const MAX_ADMINS = 100;
export const MAX_PHOTO_BYTES = 48 * 1024;
export const MAX_CONVERSATION_REF_CHARS = 32 * 1024;
export const MAX_ID_CHARS = 256;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
/** Read-decide-write rounds before giving up when others keep changing the same group. */
export const DECISION_ATTEMPTS = 8;

export const INVITE_NOT_VALID = 'This invite link is not valid any more. Ask the group admin for a new one.';
export const JOIN_CODE_NOT_VALID = 'This join code is not valid. Check it, or ask the group admin for the current one.';

/** A code is typed, a link is pasted: "this invite link is not valid" for a mistyped code misleads (issue 17). */
export function inviteNotValid(kind: 'token' | 'code'): string {
  return kind === 'code' ? JOIN_CODE_NOT_VALID : INVITE_NOT_VALID;
}
export const GROUP_NOT_FOUND = 'This group does not exist any more.';

export function requireAdmin(record: GroupRecord, actor: Actor, message: string): void {
  if (!record.adminIds.includes(actor.user.id) && !isOrgAdminOf(record, actor)) throw new ForbiddenError(message);
}

export function isOrgAdminOf(record: GroupRecord, actor: Actor): boolean {
  const tenant = actor.orgAdminOfTenant?.toLowerCase();
  return tenant !== undefined && tenant === record.group.tenantId;
}

export const CACHE_ENTRIES = 10_000;

/** A bounded map: past `limit` entries the oldest goes (insertion order). */
export function remember<V>(cache: Map<string, V>, key: string, value: V, limit: number): void {
  if (cache.size >= limit) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}

/** What leaves the domain: never the link nonce. */
export function publicGroup(group: Group): Group {
  const copy = { ...group };
  delete copy.linkNonce;
  return copy;
}

export function checkUser(user: UserRef): UserRef {
  const id = typeof user?.id === 'string' ? user.id.trim() : '';
  if (id.length === 0 || id.length > MAX_ID_CHARS) {
    throw new InvalidInputError('We could not tell who you are. Please try again from Teams.');
  }
  const name = typeof user.name === 'string' ? user.name.trim().slice(0, MAX_ID_CHARS) : '';
  return { id, name };
}

export function checkConversationRef(conversationRef: string | undefined): string | undefined {
  if (conversationRef === undefined) return undefined;
  if (typeof conversationRef !== 'string' || conversationRef.length > MAX_CONVERSATION_REF_CHARS) {
    throw new InvalidInputError('Something went wrong with this request. Please try again.');
  }
  return conversationRef;
}

export function preparePhoto(input: { bytes: Buffer; contentType: string }): GroupPhoto {
  const contentType = input.contentType?.trim().toLowerCase();
  // The declared type must be what the bytes are.
  if (!Buffer.isBuffer(input.bytes) || input.bytes.length === 0 || sniffImageType(input.bytes) !== contentType) {
    throw new InvalidInputError('The photo must be a PNG, JPEG, GIF or WebP image.');
  }
  if (input.bytes.length > MAX_PHOTO_BYTES) {
    throw new TooLargeError('The photo is too large. Please choose a smaller one.');
  }
  // Content-derived: the same photo set twice keeps its version, and card image URLs stay cacheable.
  const version = createHash('sha256').update(input.bytes).digest('hex').slice(0, 16);
  return { bytes: input.bytes, contentType, version };
}

export function pageQuery(page: PageRequest): PageQuery {
  const requested = page.pageSize ?? DEFAULT_PAGE_SIZE;
  const pageSize = Number.isInteger(requested) ? Math.min(Math.max(requested, 1), MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
  return { pageSize, continuationToken: page.continuationToken };
}
