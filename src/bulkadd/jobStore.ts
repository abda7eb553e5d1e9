/**
 * Bulk add jobs in Table Storage (`bulkjobs`), the truth a job resumes from after a crash and that several
 * instances share:
 * - partition `job|<id>`: `job` (who, which tenant, counts), `lease` (the instance working on it, until when),
 *   `row|<0000000line>` (one per planned person: group, user, role; `state` pending or done, with the outcome).
 * - partition `open`: one row per unfinished job, for the instances' sweep.
 * The job id is a hash of the uploader and the planned rows: the same file confirmed twice is the same job.
 */
import { createHash } from 'node:crypto';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { isAlreadyExists, isNotFound, isPreconditionFailed } from '../storage/tables';
import type { MemberRole } from './addressList';

/** `skipped`: the dry run planned no add for the row (its reason is the dry run's), kept for the report. */
/** `not_welcomed`: added to the group, but Teams refused the welcome (so their posts would not reach them either). */
export type RowOutcome = 'added' | 'not_welcomed' | 'already_member' | 'removed' | 'not_reached' | 'failed' | 'skipped';

export interface JobRow {
  line: number;
  groupId: string;
  groupName: string;
  userId: string;
  /** The person's name from the directory (a skipped row's: the address, unless the dry run knew them). */
  name: string;
  /** The address as the list or file gave it (rows of older jobs have none). */
  address?: string;
  role: MemberRole;
  /** `adding`: its work began (a rerun after a crash knows an 'already a member' is its own doing). */
  state: 'pending' | 'adding' | 'done';
  outcome?: RowOutcome;
  /** Why, for the report (a reach failure's reason). */
  detail?: string;
}

/** A row the dry run planned no add for: the report shows it with its reason. */
export interface SkippedRow {
  line: number;
  groupName: string;
  /** The person's name where the dry run found them, else the address. */
  name: string;
  /** The address as the file or the list gave it. */
  address: string;
  detail: string;
  /** A member already: reported as such, not as a row that was not added. */
  outcome?: 'already_member';
}

export interface JobHeader {
  jobId: string;
  tenantId: string;
  createdById: string;
  createdByName: string;
  createdAt: string;
  total: number;
  /** Where the welcome messages go out (the admin's channel service URL). */
  serviceUrl: string;
  /** Opaque JSON: the creator's personal chat with the bot, where the report goes ('' when none). */
  reportTo?: string;
  /** The creator acted as an organization admin of the tenant (not as a group admin). */
  orgAdmin: boolean;
  status: 'running' | 'done';
  /** Rows done so far (skipped ones included), written after each chunk: the progress the tab and chat show. */
  done?: number;
  /** The groups the job adds to, as a JSON array of names (for the progress card). */
  groups?: string;
  /** The progress card in the creator's chat (its activity id), updated in place. */
  progressCardId?: string;
}

const OPEN = 'open';
const JOB_ROW = 'job';
const LEASE_ROW = 'lease';
const jobPartition = (jobId: string) => `job|${jobId}`;
const rowKey = (line: number) => `row|${String(line).padStart(7, '0')}`;

export function jobIdOf(createdById: string, rows: ReadonlyArray<Pick<JobRow, 'line' | 'groupId' | 'userId' | 'role'>>): string {
  const hash = createHash('sha256').update(createdById);
  for (const r of rows) hash.update(`\n${r.line}|${r.groupId}|${r.userId}|${r.role}`);
  return hash.digest('hex').slice(0, 32);
}

export class BulkJobStore {
  constructor(private readonly table: TableClient) {}

  /**
   * Writes the job and its rows; false when this job exists already (the same plan confirmed again). `skipped`:
   * rows the dry run planned no add for, written done with their reason, so the report has every row.
   */
  async create(
    header: Omit<JobHeader, 'status' | 'total' | 'done'>,
    rows: readonly Omit<JobRow, 'state'>[],
    skipped: readonly SkippedRow[] = [],
  ): Promise<boolean> {
    const partitionKey = jobPartition(header.jobId);
    const all: Array<Record<string, unknown> & { line: number }> = [
      ...rows.map((r) => ({ ...r, state: 'pending' })),
      ...skipped.map((r) => ({ groupId: '', userId: '', role: 'member', ...r, state: 'done', outcome: r.outcome ?? 'skipped' })),
    ];
    // The rows first, the header last: a job is only ever seen (and only ever opened) whole.
    for (let i = 0; i < all.length; i += 100) {
      const actions: TransactionAction[] = all
        .slice(i, i + 100)
        .map((r) => ['upsert', { partitionKey, rowKey: rowKey(r.line), ...r }, 'Replace']);
      if (await this.exists(header.jobId)) return false;
      await this.table.submitTransaction(actions);
    }
    try {
      await this.table.createEntity({
        partitionKey,
        rowKey: JOB_ROW,
        ...header,
        total: all.length,
        done: skipped.length,
        status: 'running',
      });
    } catch (err) {
      if (isAlreadyExists(err)) return false;
      throw err;
    }
    await this.table.upsertEntity({ partitionKey: OPEN, rowKey: header.jobId }, 'Replace');
    return true;
  }

  async header(jobId: string): Promise<JobHeader | undefined> {
    try {
      const row = await this.table.getEntity<JobHeader>(jobPartition(jobId), JOB_ROW);
      return { ...row, jobId };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async openJobs(): Promise<string[]> {
    const ids: string[] = [];
    for await (const row of this.table.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${OPEN}`, select: ['RowKey'] } }))
      ids.push(row.rowKey!);
    return ids;
  }

  /** Every row in line order (the report), or only those still pending (the work). */
  async rows(jobId: string, onlyPending = false): Promise<JobRow[]> {
    const base = odata`PartitionKey eq ${jobPartition(jobId)} and RowKey ge ${'row|'} and RowKey lt ${'row}'}`;
    const filter = onlyPending ? `${base} and state ne 'done'` : base;
    const rows: JobRow[] = [];
    for await (const row of this.table.listEntities<JobRow>({ queryOptions: { filter } })) rows.push(row as JobRow);
    return rows;
  }

  async markAdding(jobId: string, lines: readonly number[]): Promise<void> {
    const partitionKey = jobPartition(jobId);
    for (let i = 0; i < lines.length; i += 100) {
      await this.table.submitTransaction(
        lines.slice(i, i + 100).map((line) => ['update', { partitionKey, rowKey: rowKey(line), state: 'adding' }, 'Merge']),
      );
    }
  }

  async finishRows(jobId: string, done: ReadonlyArray<Pick<JobRow, 'line' | 'outcome' | 'detail'>>): Promise<void> {
    const partitionKey = jobPartition(jobId);
    for (let i = 0; i < done.length; i += 100) {
      await this.table.submitTransaction(
        done
          .slice(i, i + 100)
          .map((r) => [
            'update',
            { partitionKey, rowKey: rowKey(r.line), state: 'done', outcome: r.outcome, detail: r.detail ?? '' },
            'Merge',
          ]),
      );
    }
  }

  /** How many rows are done: one merge per chunk, read by the progress the tab polls. */
  async progress(jobId: string, done: number): Promise<void> {
    await this.table.updateEntity({ partitionKey: jobPartition(jobId), rowKey: JOB_ROW, done }, 'Merge');
  }

  /** Remembers the progress card sent to the creator's chat, so that every instance updates that one card. */
  async setProgressCard(jobId: string, activityId: string): Promise<void> {
    await this.table.updateEntity({ partitionKey: jobPartition(jobId), rowKey: JOB_ROW, progressCardId: activityId }, 'Merge');
  }

  async finishJob(jobId: string): Promise<void> {
    await this.table.updateEntity({ partitionKey: jobPartition(jobId), rowKey: JOB_ROW, status: 'done' }, 'Merge');
    await this.table.deleteEntity(OPEN, jobId).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }

  /**
   * Takes or renews the job's lease for `holder` until `now + ms`: free, expired, or already ours. False when
   * another instance holds it (that instance is working on the job; it is not ours to touch).
   */
  async lease(jobId: string, holder: string, ms: number, now = Date.now()): Promise<boolean> {
    const partitionKey = jobPartition(jobId);
    let current: { holder: string; until: number; etag: string } | undefined;
    try {
      current = (await this.table.getEntity<{ holder: string; until: number }>(partitionKey, LEASE_ROW)) as typeof current;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const entity = { partitionKey, rowKey: LEASE_ROW, holder, until: now + ms };
    try {
      if (!current) await this.table.createEntity(entity);
      else if (current.holder === holder || current.until < now) await this.table.updateEntity(entity, 'Replace', { etag: current.etag });
      else return false;
      return true;
    } catch (err) {
      if (isAlreadyExists(err) || isPreconditionFailed(err)) return false; // another instance was quicker
      throw err;
    }
  }

  private async exists(jobId: string): Promise<boolean> {
    return (await this.header(jobId)) !== undefined;
  }
}
