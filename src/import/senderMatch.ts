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

/** Every member when the group is small; otherwise the suggestion and members sharing a word of the name. */
export const ALL_MEMBERS_UP_TO = 25;
const CANDIDATES = 15;

/** The members an admin may choose from for one sender in a card (a card has no room for a thousand). */
export function candidatesFor(sender: string, members: readonly MemberName[]): MemberName[] {
  if (members.length <= ALL_MEMBERS_UP_TO) return [...members].sort((a, b) => a.name.localeCompare(b.name));
  const words = new Set(nameKey(sender).split(' ').filter(Boolean));
  const suggestion = matchSender(sender, members);
  const sharing = members.filter(
    (m) =>
      m.userId !== suggestion?.userId &&
      nameKey(m.name)
        .split(' ')
        .some((w) => words.has(w)),
  );
  const first = suggestion ? members.filter((m) => m.userId === suggestion.userId) : [];
  return [...first, ...sharing.sort((a, b) => a.name.localeCompare(b.name))].slice(0, CANDIDATES);
}

/** The admin's answers: export sender name -> member id (absent: keep the name, marked imported). */
export type SenderChoices = Readonly<Record<string, string>>;

/**
 * The admin's choices checked against the current members: a chosen id that is no member (any more) is
 * refused by name, so nothing is ever stored under someone who is not in the group.
 */
export function confirmedMembers(
  choices: SenderChoices,
  members: readonly MemberName[],
): { resolved: Map<string, MemberName>; unknown: string[] } {
  const byId = new Map(members.map((m) => [m.userId, m]));
  const resolved = new Map<string, MemberName>();
  const unknown: string[] = [];
  for (const [sender, userId] of Object.entries(choices)) {
    if (!userId) continue;
    const member = byId.get(userId);
    if (member) resolved.set(sender, member);
    else unknown.push(sender);
  }
  return { resolved, unknown };
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
