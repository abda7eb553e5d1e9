/**
 * What an admin hands us to add people in bulk, read into rows (issue 18): a pasted list of addresses (one a
 * line, or separated by commas or semicolons) for one group, or a CSV with the header `group,user,role` that may
 * name several groups, as Kaizala's "User Group Mapping" upload did. Nothing here looks anyone up: a row is
 * well-formed or not, and a repeat of an earlier row is marked as such. Plain functions; no Teams, no storage.
 */
import { parse } from 'csv-parse/sync';
import { InvalidInputError, TooLargeError } from '../errors';

export type MemberRole = 'member' | 'admin';

/** How a row names a person: Graph resolves each kind its own way. */
export type PersonRef =
  | { kind: 'upn'; value: string } // user principal name or email address, lower-cased
  | { kind: 'objectId'; value: string } // Entra object id, lower-cased
  | { kind: 'mobile'; value: string }; // "+" and digits, as Kaizala's phone-number groups had them

export interface BulkRow {
  /** 1-based line of the file or the pasted text (the header is line 1 of a CSV). */
  line: number;
  /** The group as the row names it (a pasted list: the group it was pasted for). */
  groupName: string;
  /** As typed, for the report. */
  raw: string;
  person?: PersonRef;
  role: MemberRole;
  /** Set when the row cannot be used: why, in words for the report. */
  malformed?: string;
  /** The line of the earlier row naming the same person for the same group. */
  duplicateOf?: number;
}

export const MAX_ROWS = 10_000;
export const MAX_INPUT_BYTES = 5 * 1024 * 1024;
/** A chat card's box: the tab takes files. */
export const MAX_PASTED_ADDRESSES = 50;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// local@domain.tld: no spaces, one @, a dotted domain. Not RFC 5322; what Entra accepts as a UPN is narrower.
const ADDRESS = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:".]{2,}$/;
const PHONE_CHARS = /^\+?[\d\s().-]{7,24}$/;

/** A person as one cell names them, or why not. */
export function personRefOf(text: string): PersonRef | { problem: string } {
  const value = text.trim().replace(/^mailto:/i, '');
  if (!value) return { problem: 'no user given' };
  if (GUID.test(value)) return { kind: 'objectId', value: value.toLowerCase() };
  if (value.includes('@')) {
    return ADDRESS.test(value) ? { kind: 'upn', value: value.toLowerCase() } : { problem: 'not a valid email address' };
  }
  if (PHONE_CHARS.test(value)) {
    const digits = value.replace(/\D/g, '');
    if (digits.length >= 7 && digits.length <= 15) return { kind: 'mobile', value: `${value.trim().startsWith('+') ? '+' : ''}${digits}` };
  }
  return { problem: 'not an email address, a user principal name, an object id or a mobile number' };
}

/** Pasted addresses for one group: one a line, or separated by commas or semicolons. */
export function readPastedList(text: string, groupName: string): BulkRow[] {
  checkSize(text);
  const rows: BulkRow[] = [];
  text.split(/\r\n?|\n/).forEach((lineText, index) => {
    for (const cell of lineText.split(/[,;]/)) {
      const raw = cell.trim();
      if (raw) rows.push(toRow(index + 1, groupName, raw, ''));
    }
  });
  if (rows.length === 0) throw new InvalidInputError('There are no addresses in the list. Paste one address a line.');
  return markDuplicates(limitRows(rows));
}

/**
 * A CSV with the header `group,user,role` (any order and case; `role` may be left out, and is `member` when
 * empty). A byte-order mark and blank lines are fine. Throws InvalidInputError for a file that is not such a
 * CSV at all; rows that cannot be used come back marked, with their line, for the report.
 */
export function readCsv(text: string): BulkRow[] {
  checkSize(text);
  let records: string[][];
  try {
    records = parse(text.replace(/^\uFEFF/, ''), {
      bom: true,
      relax_column_count: true,
      skip_empty_lines: false,
      trim: true,
    }) as string[][];
  } catch (err) {
    throw new InvalidInputError(`This file is not a CSV we can read (${(err as Error).message.split('\n')[0]}).`, { cause: err });
  }
  const header = (records[0] ?? []).map((cell) => cell.toLowerCase());
  const column = (name: string) => header.indexOf(name);
  if (column('group') < 0 || column('user') < 0) {
    throw new InvalidInputError('The first line of the CSV must name its columns: group,user,role (role may be left out).');
  }
  const rows: BulkRow[] = [];
  records.slice(1).forEach((cells, index) => {
    if (cells.every((cell) => cell === '')) return;
    const line = index + 2;
    const cell = (name: string) => (column(name) >= 0 ? (cells[column(name)] ?? '') : '');
    const groupName = cell('group');
    const row = toRow(line, groupName, cell('user'), cell('role'));
    if (!groupName && !row.malformed) row.malformed = 'no group given';
    rows.push(row);
  });
  if (rows.length === 0) throw new InvalidInputError('The CSV has a header but no rows.');
  return markDuplicates(limitRows(rows));
}

function toRow(line: number, groupName: string, rawUser: string, rawRole: string): BulkRow {
  const role = rawRole.trim().toLowerCase();
  const person = personRefOf(rawUser);
  const row: BulkRow = { line, groupName: groupName.trim(), raw: rawUser, role: role === 'admin' ? 'admin' : 'member' };
  if ('problem' in person) row.malformed = person.problem;
  else row.person = person;
  if (!row.malformed && role !== '' && role !== 'member' && role !== 'admin') row.malformed = `role "${rawRole}" is not member or admin`;
  return row;
}

/** The same person twice for the same group: the first row counts, the later ones are duplicates. */
function markDuplicates(rows: BulkRow[]): BulkRow[] {
  const first = new Map<string, number>();
  for (const row of rows) {
    if (row.malformed || !row.person) continue;
    const key = `${row.groupName.toLowerCase()}\u0000${row.person.kind}:${row.person.value}`;
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, row.line);
    else row.duplicateOf = earlier;
  }
  return rows;
}

function limitRows(rows: BulkRow[]): BulkRow[] {
  if (rows.length > MAX_ROWS) {
    throw new TooLargeError(
      `That is ${rows.length.toLocaleString('en-US')} rows; one upload takes at most ${MAX_ROWS.toLocaleString('en-US')}. Split the file.`,
    );
  }
  return rows;
}

function checkSize(text: string): void {
  if (Buffer.byteLength(text, 'utf8') > MAX_INPUT_BYTES) {
    throw new TooLargeError(`The file is larger than ${MAX_INPUT_BYTES / 1024 / 1024} MB. Split it into smaller files.`);
  }
}
