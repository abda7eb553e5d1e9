/**
 * A dry run's plan as a job's rows (issue 18): the rows planned `add` or `add_admin` are the work; every other
 * row is written done with the dry run's reason, so the finished report gives every row of the list or file.
 */
import type { BulkPlan } from './dryRun';
import type { JobRow, SkippedRow } from './jobStore';

export interface JobInput {
  rows: Array<Omit<JobRow, 'state'>>;
  skipped: SkippedRow[];
}

/**
 * `numbering`: `line` keys rows by the file's line (a CSV: one row a line); `place` by their place in the plan
 * (a pasted line may hold several comma-separated addresses; the same list gives the same numbers).
 */
export function jobInputOf(plan: BulkPlan, numbering: 'line' | 'place', groupNames: ReadonlyMap<string, string> = new Map()): JobInput {
  const rows: JobInput['rows'] = [];
  const skipped: SkippedRow[] = [];
  plan.rows.forEach((row, index) => {
    const line = numbering === 'line' ? row.line : index + 1;
    if ((row.outcome === 'add' || row.outcome === 'add_admin') && row.user && row.groupId) {
      rows.push({
        line,
        groupId: row.groupId,
        groupName: groupNames.get(row.groupId) ?? row.groupName,
        userId: row.user.id,
        name: row.user.displayName,
        address: row.raw,
        role: row.outcome === 'add_admin' ? 'admin' : 'member',
      });
    } else {
      skipped.push({
        line,
        groupName: row.groupName,
        name: row.user?.displayName || row.raw,
        address: row.raw,
        detail: row.reason,
        ...(row.outcome === 'already_member' ? { outcome: 'already_member' as const } : {}),
      });
    }
  });
  return { rows, skipped };
}
