/**
 * The rows of a group's partition in the `groups` table (see tableGroupStore.ts for the whole layout), named once
 * for every store that reads or writes them: the group store, the post store and the in-memory store.
 */
export const GROUP_ROW = 'group';
export const MEMBER_PREFIX = 'member|';
/** '}' follows '|': the range [MEMBER_PREFIX, MEMBER_RANGE_END) is every member row. */
export const MEMBER_RANGE_END = 'member}';
export const BAN_PREFIX = 'ban|';
export const AUDIT_PREFIX = 'audit|';

/** User ids in row keys: the characters table keys forbid (and `%`, so decoding is unambiguous) escaped. */
export function toKey(value: string): string {
  return value.replace(/[%/\\#?\u0000-\u001f\u007f-\u009f]/g, (ch) => `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export const memberRowKey = (userId: string) => `${MEMBER_PREFIX}${toKey(userId)}`;
