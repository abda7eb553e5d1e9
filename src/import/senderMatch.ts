import type { GroupStore } from '../groups/ports';
/*
 * Suggests which current member an export's sender is, by name only. A name in another app proves nothing, so
 * this is a suggestion the admin confirms or changes; an imported message always keeps the original name.
 */

export interface MemberName {
  userId: string;
  name: string;
}

export interface SenderMatch {
  userId: string;
  name: string;
  /** exact: the whole name agrees (case, accents and spacing aside); first-name: the sender's one word is a member's first name, and only one member's. */
  how: 'exact' | 'first-name';
}

/** "  José  LEE " and "jose lee" are one name. */
export function nameKey(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

export function matchSender(sender: string, members: readonly MemberName[]): SenderMatch | undefined {
  const key = nameKey(sender);
  if (key === '') return undefined;
  const exact = members.filter((m) => nameKey(m.name) === key);
  if (exact.length === 1) return { userId: exact[0]!.userId, name: exact[0]!.name, how: 'exact' };
  if (exact.length > 1 || key.includes(' ')) return undefined;
  const byFirst = members.filter((m) => nameKey(m.name).split(' ')[0] === key);
  return byFirst.length === 1 ? { userId: byFirst[0]!.userId, name: byFirst[0]!.name, how: 'first-name' } : undefined;
}

/** Enough members for any group that moved from a phone app (WhatsApp groups hold at most 1,024). */
const MEMBER_NAME_LIMIT = 5000;

/** The current members' names, read page by page from the group store (for the preview's suggestions). */
export function memberNamesFrom(store: Pick<GroupStore, 'listMembers'>): (groupId: string) => Promise<MemberName[]> {
  return async (groupId) => {
    const names: MemberName[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await store.listMembers(groupId, { pageSize: 500, continuationToken });
      names.push(...page.items.map((m) => ({ userId: m.user.id, name: m.user.name })));
      continuationToken = page.continuationToken;
    } while (continuationToken && names.length < MEMBER_NAME_LIMIT);
    return names;
  };
}
