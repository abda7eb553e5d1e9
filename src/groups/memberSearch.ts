import { InvalidInputError } from '../errors';
import type { Member, Page } from './model';
import type { PageQuery } from './ports';

/** Store rows one search call reads at most: a big group is searched a bounded slice per turn. */
export const SEARCH_SCAN_ROWS = 1_000;
const SCAN_PAGE = 100;
const TOKEN_PREFIX = 's1.';

/** Where a search stopped: the store page it was in (its token; '' the first) and the rows of it already read. */
interface Position {
  from: string;
  skip: number;
}

function encode(position: Position): string {
  return TOKEN_PREFIX + Buffer.from(JSON.stringify([position.from, position.skip]), 'utf8').toString('base64url');
}

function decode(token: string | undefined): Position {
  if (token === undefined || token === '') return { from: '', skip: 0 };
  try {
    if (!token.startsWith(TOKEN_PREFIX)) throw new Error('not a search token');
    const [from, skip] = JSON.parse(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8')) as unknown[];
    if (typeof from !== 'string' || typeof skip !== 'number' || !Number.isInteger(skip) || skip < 0 || skip > SCAN_PAGE)
      throw new Error('bad');
    return { from, skip };
  } catch {
    throw new InvalidInputError('That page of the search does not exist any more. Search again.');
  }
}

/**
 * Members whose name contains `search` (any case), `query.pageSize` at most, over the store's paged listing:
 * Table Storage cannot search inside a name, so each call reads at most SEARCH_SCAN_ROWS rows, in pages, and
 * its token says where to go on (a page may hold fewer matches than asked, or none, before the end).
 */
export async function searchMembers(
  list: (query: PageQuery) => Promise<Page<Member>>,
  search: string,
  query: PageQuery,
): Promise<Page<Member>> {
  const wanted = search.trim().toLowerCase();
  let position = decode(query.continuationToken);
  const items: Member[] = [];
  let read = 0;
  for (;;) {
    const page = await list({ pageSize: SCAN_PAGE, continuationToken: position.from || undefined });
    for (let i = position.skip; i < page.items.length; i++) {
      read++;
      if (page.items[i]!.user.name.toLowerCase().includes(wanted)) items.push(page.items[i]!);
      const more = i + 1 < page.items.length || page.continuationToken !== undefined;
      if ((items.length >= query.pageSize || read >= SEARCH_SCAN_ROWS) && more) {
        const next = i + 1 < page.items.length ? { from: position.from, skip: i + 1 } : { from: page.continuationToken!, skip: 0 };
        return { items, continuationToken: encode(next) };
      }
    }
    if (page.continuationToken === undefined) return { items };
    position = { from: page.continuationToken, skip: 0 };
  }
}
