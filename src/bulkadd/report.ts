/**
 * The finished report of a bulk add (issue 18) in one place, for the admin's chat and the tab's CSV: each row's
 * outcome in words, the order the counts go in (what was done first, then what needed nothing, then problems),
 * and who a row is (the name the directory gave, with the address as the list or file said it).
 */
import type { JobRow, RowOutcome } from './jobStore';

type Outcome = RowOutcome | 'pending';

/**
 * Per outcome: its words on a row, its words in the counts, and where the counts list it. A Record, so a new
 * outcome cannot be left out of the report.
 */
const OUTCOMES: Record<Outcome, { row: string; count: string; rank: number }> = {
  added: { row: 'added', count: 'added', rank: 0 },
  not_welcomed: { row: 'added, not reached', count: 'added, not reached', rank: 10 },
  already_member: { row: 'already a member', count: 'already members', rank: 20 },
  removed: { row: 'removed by an admin: let them back in with allow first', count: 'removed by an admin', rank: 30 },
  not_reached: { row: 'not reached', count: 'not reached', rank: 40 },
  failed: { row: 'not added', count: 'not added', rank: 50 },
  skipped: { row: 'not added', count: 'not added', rank: 50 },
  pending: { row: 'not done', count: 'not done', rank: 90 },
};

export interface ReportLine {
  line: number;
  group: string;
  /** The person's name where the directory knew it, else the address. */
  name: string;
  /** The address as the list or file gave it ('' when it is the name already, or was not kept). */
  address: string;
  /** The outcome in words. */
  outcome: string;
  /** Why (a reach failure, the dry run's reason); '' when the outcome says it all. */
  reason: string;
}

export function outcomeOf(row: Pick<JobRow, 'state' | 'outcome'>): Outcome {
  return row.state === 'done' && row.outcome ? row.outcome : 'pending';
}

/** A row as the report gives it: plain text, for the caller to make safe where it is shown. */
export function reportLine(row: JobRow): ReportLine {
  const outcome = OUTCOMES[outcomeOf(row)].row;
  const detail = (row.detail ?? '').trim();
  const address = (row.address ?? '').trim();
  return {
    line: row.line,
    group: row.groupName,
    name: row.name,
    address: address && address.toLowerCase() !== row.name.trim().toLowerCase() ? address : '',
    outcome,
    reason: detail && detail !== outcome ? detail : '',
  };
}

/** Where a row goes in a shortened report: what needs the admin first (not done, not added), what went well last. */
const ATTENTION: Record<Outcome, number> = {
  pending: 0,
  failed: 1,
  skipped: 1,
  not_reached: 2,
  removed: 3,
  not_welcomed: 4,
  already_member: 5,
  added: 6,
};

/**
 * Rows as a shortened report lists them: problems first, each kind in line order, so that in a list of thousands
 * the few people who were not added are among the rows shown, not after "and 970 more".
 */
export function inAttentionOrder<T extends Pick<JobRow, 'state' | 'outcome' | 'line'>>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => ATTENTION[outcomeOf(a)] - ATTENTION[outcomeOf(b)] || a.line - b.line);
}

/** The counts, in the report's order; outcomes that share their words are counted together. */
export function reportCounts(rows: readonly Pick<JobRow, 'state' | 'outcome'>[]): Array<{ label: string; count: number }> {
  const counts = new Map<string, { rank: number; count: number }>();
  for (const row of rows) {
    const { count: label, rank } = OUTCOMES[outcomeOf(row)];
    const known = counts.get(label);
    counts.set(label, { rank, count: (known?.count ?? 0) + 1 });
  }
  return [...counts].sort(([, a], [, b]) => a.rank - b.rank).map(([label, { count }]) => ({ label, count }));
}
