/**
 * What bulk add tells people (issue 18), through the delivery engine's one-off sends (the tenant's budget, and
 * once per key however often a resumed job asks): each person added gets "<admin> added you to <group>", and
 * the admin who started the job gets its report in their chat when it is done.
 */
import type { BulkJobStore, JobHeader, JobRow } from '../../bulkadd/jobStore';
import { inAttentionOrder, reportCounts, reportLine } from '../../bulkadd/report';
import type { JobReporter, Welcomer } from '../../bulkadd/jobWorker';
import type { DeliveryEngine } from '../../delivery/ports';
import { inline } from '../../../cards/text';
import { buildBulkProgressCard } from '../../../cards/bulkAdd';
import { recipientOf } from './joinNotices';

/** Rows the report lists; the rest are counted. */
export const REPORT_ROWS_SHOWN = 30;

/** The channel's send and update of one activity (the delivery engine's sender): the progress card. */
export interface CardChannel {
  send(conversationRef: unknown, activity: Record<string, unknown>): Promise<{ id: string }>;
  update(conversationRef: unknown, activityId: string, activity: Record<string, unknown>): Promise<void>;
}

export interface ProgressCardOptions {
  channel: CardChannel;
  jobs: Pick<BulkJobStore, 'header' | 'setProgressCard'>;
  /** At most one send or update a job this often (the issue: every few seconds). */
  minIntervalMs?: number;
  now?: () => number;
}

/** A progress card a few seconds: one call to Teams, far inside its budget, so it goes straight to the channel. */
const PROGRESS_INTERVAL_MS = 5_000;

export class BulkAddNotices implements Welcomer, JobReporter {
  /** Per job: when its card was last told, and its activity id. In memory; the id is in the job's row too. */
  private readonly cards = new Map<string, { at: number; id?: string }>();

  constructor(
    private readonly engine: Pick<DeliveryEngine, 'sendOneOff'> & Partial<Pick<DeliveryEngine, 'oneOffOutcomes'>>,
    private readonly progressCards?: ProgressCardOptions,
  ) {}

  /** The one progress card in the creator's chat: sent at the first progress, then updated in place. */
  async progress(job: JobHeader, done: number, finished = false): Promise<void> {
    const o = this.progressCards;
    const ref = job.reportTo ? safeParse(job.reportTo) : undefined;
    if (!o || !ref) return;
    const now = (o.now ?? Date.now)();
    const known = this.cards.get(job.jobId);
    if (!finished && known && now - known.at < (o.minIntervalMs ?? PROGRESS_INTERVAL_MS)) return;
    // Another instance may have sent it (the job changed hands): its id is in the job's row.
    const id = known?.id ?? (await o.jobs.header(job.jobId))?.progressCardId;
    if (finished && !id) return; // never shown: the report alone says it
    this.cards.set(job.jobId, { at: now, ...(id ? { id } : {}) });
    const card = buildBulkProgressCard({ groupNames: namesOf(job), done, total: job.total, finished });
    const activity = { type: 'message', attachments: [card] };
    if (id) {
      await o.channel.update(ref, id, activity);
    } else {
      const sent = await o.channel.send(ref, activity);
      this.cards.set(job.jobId, { at: now, id: sent.id });
      await o.jobs.setProgressCard(job.jobId, sent.id);
    }
    if (finished) this.cards.delete(job.jobId);
  }

  async welcome(job: JobHeader, row: JobRow, conversationRef: string): Promise<void> {
    const recipient = recipientOf(row.userId, conversationRef);
    if (!recipient) return;
    await this.engine.sendOneOff(
      welcomeKey(row),
      recipient,
      { type: 'message', text: welcomeText(job.createdByName, row.groupName) },
      { firstMessageFor: { groupId: row.groupId } },
    );
  }

  async outcomes(rows: readonly JobRow[]): Promise<{ refused: JobRow[]; pending: JobRow[] }> {
    const refused: JobRow[] = [];
    const pending: JobRow[] = [];
    if (!this.engine.oneOffOutcomes) return { refused, pending }; // an engine that cannot tell: reported as added
    for (const groupId of new Set(rows.map((r) => r.groupId))) {
      // One range read per group: the welcomes' keys are `bulk|<group>|<person>`.
      const states = await this.engine.oneOffOutcomes(`bulk|${groupId}|`);
      for (const row of rows.filter((r) => r.groupId === groupId)) {
        const state = states.get(welcomeKey(row));
        if (state === 'failed' || state === 'unreachable') refused.push(row);
        // `posting` is a send in flight (or, after a crash, one that may have arrived): pending until it settles,
        // and reported as added if it never does.
        else if (state !== 'sent') pending.push(row);
      }
    }
    return { refused, pending };
  }

  async finished(job: JobHeader, rows: JobRow[]): Promise<void> {
    const recipient = job.reportTo ? recipientOf(job.createdById, job.reportTo) : undefined;
    if (!recipient) return; // started outside a personal chat: nowhere private to report
    await this.progress(job, job.total, true).catch(() => undefined);
    await this.engine.sendOneOff(`bulkreport|${job.jobId}`, recipient, { type: 'message', text: reportText(rows) });
  }
}

const welcomeKey = (row: Pick<JobRow, 'groupId' | 'userId'>) => `bulk|${row.groupId}|${row.userId}`;

export function welcomeText(adminName: string, groupName: string): string {
  return `${inline(adminName)} added you to **${inline(groupName)}**. What you type here goes to the group. Type **leave** to leave.`;
}

/**
 * Counts (added first, then members already, then problems), then every row's outcome and reason, problems first
 * (the first 30, and how many more). A row names the person, with the address the list gave; every name, address and reason is
 * shown as plain words (a guest's `#EXT#`, brackets or asterisks in a display name never become formatting).
 */
export function reportText(rows: readonly JobRow[]): string {
  const groups = [...new Set(rows.map((r) => r.groupName))];
  const lines = [
    `Bulk add to ${groups.map((g) => `**${inline(g)}**`).join(', ')} is done.`,
    reportCounts(rows)
      .map(({ label, count }) => `${label}: ${count}`)
      .join(' · '),
    ...inAttentionOrder(rows)
      .slice(0, REPORT_ROWS_SHOWN)
      .map((row) => {
        const line = reportLine(row);
        const who = line.address ? `${inline(line.name, 100)} · ${inline(line.address, 200)}` : inline(line.name, 200);
        // A dash, not parentheses around the reason: reasons have parentheses of their own ("(403 Forbidden)").
        return `${who}: ${line.outcome}${line.reason ? ` — ${inline(line.reason, 300)}` : ''}`;
      }),
  ];
  if (rows.length > REPORT_ROWS_SHOWN) lines.push(`and ${rows.length - REPORT_ROWS_SHOWN} more`);
  return lines.join('\n\n');
}

function safeParse(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

function namesOf(job: JobHeader): string[] {
  const names = job.groups ? safeParse(job.groups) : undefined;
  return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
}
