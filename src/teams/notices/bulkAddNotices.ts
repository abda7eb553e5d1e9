/**
 * What bulk add tells people (issue 18), through the delivery engine's one-off sends (the tenant's budget, and
 * once per key however often a resumed job asks): each person added gets "<admin> added you to <group>", and
 * the admin who started the job gets its report in their chat when it is done.
 */
import type { JobHeader, JobRow, RowOutcome } from '../../bulkadd/jobStore';
import type { JobReporter, Welcomer } from '../../bulkadd/jobWorker';
import type { DeliveryEngine } from '../../delivery/ports';
import { inline } from '../../../cards/text';
import { recipientOf } from './joinNotices';

/** Rows the report lists; the rest are counted. */
export const REPORT_ROWS_SHOWN = 30;

const OUTCOME_WORDS: Record<RowOutcome | 'pending', string> = {
  added: 'added',
  already_member: 'already a member',
  removed: 'removed by an admin: let them back in with allow first',
  not_reached: 'not reached',
  failed: 'not added',
  skipped: 'not added',
  pending: 'not done',
};

export class BulkAddNotices implements Welcomer, JobReporter {
  constructor(private readonly engine: Pick<DeliveryEngine, 'sendOneOff'>) {}

  async welcome(job: JobHeader, row: JobRow, conversationRef: string): Promise<void> {
    const recipient = recipientOf(row.userId, conversationRef);
    if (!recipient) return;
    await this.engine.sendOneOff(`bulk|${row.groupId}|${row.userId}`, recipient, {
      type: 'message',
      text: welcomeText(job.createdByName, row.groupName),
    });
  }

  async finished(job: JobHeader, rows: JobRow[]): Promise<void> {
    const recipient = job.reportTo ? recipientOf(job.createdById, job.reportTo) : undefined;
    if (!recipient) return; // started outside a personal chat: nowhere private to report
    await this.engine.sendOneOff(`bulkreport|${job.jobId}`, recipient, { type: 'message', text: reportText(rows) });
  }
}

export function welcomeText(adminName: string, groupName: string): string {
  return `${inline(adminName)} added you to **${inline(groupName)}**. What you type here goes to the group. Type **leave** to leave.`;
}

/** Counts, then every row's outcome and reason (the first 30, and how many more). */
export function reportText(rows: readonly JobRow[]): string {
  const groups = [...new Set(rows.map((r) => r.groupName))];
  const outcomeOf = (row: JobRow): RowOutcome | 'pending' => (row.state === 'done' && row.outcome ? row.outcome : 'pending');
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(OUTCOME_WORDS[outcomeOf(row)], (counts.get(OUTCOME_WORDS[outcomeOf(row)]) ?? 0) + 1);
  const lines = [
    `Bulk add to ${groups.map((g) => `**${inline(g)}**`).join(', ')} is done.`,
    [...counts].map(([words, count]) => `${words}: ${count}`).join(' · '),
    ...rows.slice(0, REPORT_ROWS_SHOWN).map((row) => {
      const detail = row.detail ? ` (${inline(row.detail, 300)})` : '';
      return `${inline(row.name)}: ${OUTCOME_WORDS[outcomeOf(row)]}${detail}`;
    }),
  ];
  if (rows.length > REPORT_ROWS_SHOWN) lines.push(`and ${rows.length - REPORT_ROWS_SHOWN} more`);
  return lines.join('\n\n');
}
