/**
 * Finding a group's member by name without reading the member list (issue 18: groups of thousands). A name is
 * compared as its `nameKey` (Unicode-normalized, lower case, single spaces); what a typed name may match is the
 * whole name or a part of it that begins a word ("Lee" finds "Ann Lee", "ann m" finds "Ann Marie Lee"). A store
 * keeps an index of these word starts (see GroupStore.peopleNamed), so a lookup costs a few requests whatever
 * the group's size. Pure functions: both stores and the domain use them.
 */

/** Longest name key compared or indexed; longer names are compared on their first this many characters. */
export const NAME_KEY_CHARS = 120;
/** Word starts indexed per name: enough for a first name, middle names and a surname. */
export const MAX_WORD_STARTS = 6;

/** A name as compared: NFKC (full-width letters, ligatures), lower case, whitespace collapsed, trimmed. */
export function nameKey(name: string): string {
  return name.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim().slice(0, NAME_KEY_CHARS);
}

/**
 * The parts of a name key a typed name may begin: the whole key, then the key from each later word on (a word
 * starts with a letter or digit that follows anything else: "mary-jane o'neil" gives "jane o'neil", "neil").
 */
export function wordStarts(key: string): string[] {
  const starts = [key];
  const word = /(?<=[^\p{L}\p{N}\p{M}])[\p{L}\p{N}]/gu;
  for (const match of key.matchAll(word)) {
    if (starts.length >= MAX_WORD_STARTS) break;
    starts.push(key.slice(match.index));
  }
  return [...new Set(starts)].filter((s) => s !== '');
}

/** Whether a person called `name` is found by `typed` (a nameKey): the whole name, or a word start of it. */
export function nameMatches(name: string, typed: string): { exact: boolean; partial: boolean } {
  const key = nameKey(name);
  return { exact: key === typed, partial: typed !== '' && wordStarts(key).some((start) => start.startsWith(typed)) };
}

/**
 * The first word start of a name key that begins with `typed`, if any: a search lists a person once, under this
 * start, though several of their word starts may match ("ann" in "ann annette").
 */
export function firstMatchingStart(key: string, typed: string): string | undefined {
  return typed === '' ? undefined : wordStarts(key).find((start) => start.startsWith(typed));
}
