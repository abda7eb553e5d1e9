/**
 * Works through bulk add jobs (issue 18): for each person of a job, reach them (install the app, find their
 * chat), add them to the group through the domain, and welcome them through the delivery engine. Each job is
 * worked by one instance at a time (a lease in its partition, renewed per chunk); when an instance dies its
 * lease runs out and another one goes on from the rows not done. Every step is idempotent per person (an
 * install made already answers 409, an add finds a member, a welcome is a one-off send by key), so a chunk that
 * was cut short is done again without adding or welcoming anyone twice.
 */
import { isAppError } from '../errors';
import type { GroupService } from '../groups/groupService';
import type { AdminAddResult } from '../groups/memberAdministration';
import type { Reach } from './graphInstaller';
import type { BulkJobStore, JobHeader, JobRow, RowOutcome } from './jobStore';

export interface Reacher {
  reach(userIds: readonly string[]): Promise<Map<string, Reach>>;
}

/** Tells the admin how the job went, once it is done (before it is closed: a crash between them tells again). */
export interface JobReporter {
  finished(job: JobHeader, rows: JobRow[]): Promise<void>;
  /** After each chunk: how many rows are done (the reporter decides how often to tell). Never fails the job. */
  progress?(job: JobHeader, done: number): Promise<void>;
}

export interface Welcomer {
  /** "<admin> added you to <group>": once per (group, person), however often it is asked. */
  welcome(job: JobHeader, row: JobRow, conversationRef: string): Promise<void>;
  /** How the welcomes of these added rows went: the rows Teams refused, and those still going out. */
  outcomes?(rows: readonly JobRow[]): Promise<{ refused: JobRow[]; pending: JobRow[] }>;
}

/** The row's reason when Teams refused the welcome: the person is in the group, but nothing reaches them yet. */
export const WELCOME_REFUSED =
  'Teams did not accept the welcome message: they are in the group, but its posts will not reach them until they open the app in Teams';

export interface BulkAddWorkerOptions {
  store: BulkJobStore;
  groups: Pick<GroupService, 'addManyByAdmin'>;
  /**
   * Per tenant: Graph for a real organization, or (without an app registration) chats created on the job's
   * channel service URL.
   */
  reacherFor(tenantId: string, serviceUrl: string): Reacher;
  welcomer: Welcomer;
  /** Optional: the admin's report when a job is done. */
  reporter?: JobReporter;
  /** This instance, in leases. */
  holder: string;
  /** The bot's own Teams id (`28:<app id>`), for the conversation references it stores. */
  botId: string;
  leaseMs?: number;
  chunk?: number;
  /** Welcomes sent at once within a chunk (the adds of a chunk go together). */
  parallel?: number;
  /** The report waits for the welcomes; it goes anyway once none has finished for this long. */
  welcomeSettleMs?: number;
  welcomePollMs?: number;
}

const DEFAULT_LEASE_MS = 60_000;
const DEFAULT_CHUNK = 100;
const DEFAULT_PARALLEL = 16;
const DEFAULT_WELCOME_SETTLE_MS = 90_000;
const DEFAULT_WELCOME_POLL_MS = 3_000;

export class BulkAddWorker {
  private running?: Promise<void>;
  private stopped = false;

  constructor(private readonly o: BulkAddWorkerOptions) {}

  /** Works every open job this instance can lease; overlapping calls share one run. */
  runOnce(): Promise<void> {
    this.running ??= (async () => {
      try {
        for (const jobId of await this.o.store.openJobs()) if (!this.stopped) await this.work(jobId);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Shutdown: the chunk in progress finishes (its rows recorded); the rest waits for the next instance's lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  private async work(jobId: string): Promise<void> {
    const leaseMs = this.o.leaseMs ?? DEFAULT_LEASE_MS;
    if (!(await this.o.store.lease(jobId, this.o.holder, leaseMs))) return;
    const job = await this.o.store.header(jobId);
    if (!job) return; // rows without a header: a creation cut short, never confirmed
    const pending = await this.o.store.rows(jobId, true);
    const size = this.o.chunk ?? DEFAULT_CHUNK;
    const chunks: JobRow[][] = [];
    for (let i = 0; i < pending.length; i += size) chunks.push(pending.slice(i, i + size));
    // A pipeline: the next chunk's Graph calls go out while chunks are written, and two chunks are written at
    // once (one's adds go out while the last one's "my groups" rows, welcomes and row records do).
    let prepared = chunks.length > 0 ? this.prepare(job, chunks[0]!) : undefined;
    let writing: Promise<void> | undefined;
    let doneSoFar = job.total - pending.length;
    try {
      for (let c = 0; c < chunks.length; c++) {
        // Renewed per chunk: a chunk that outlives the lease may be done again by another instance, harmlessly.
        if (this.stopped || !(await this.o.store.lease(jobId, this.o.holder, leaseMs))) return;
        const reach = await prepared!;
        prepared = c + 1 < chunks.length ? this.prepare(job, chunks[c + 1]!) : undefined;
        prepared?.catch(() => undefined); // awaited in the next round; a failure surfaces there
        const previous = writing;
        writing = this.chunk(job, chunks[c]!, reach);
        writing.catch(() => undefined); // awaited in the next round, or at the end
        if (previous) {
          await previous;
          doneSoFar += chunks[c - 1]!.length;
          await this.o.store.progress(jobId, doneSoFar);
          await this.o.reporter?.progress?.(job, doneSoFar).catch(() => undefined);
        }
      }
      await writing;
    } finally {
      // Nothing of ours goes on writing once we leave (stopping, the lease lost, a failure).
      await Promise.allSettled([writing, prepared]);
    }
    if (!(await this.awaitWelcomes(jobId, leaseMs))) return;
    // The report is a keyed one-off send: told before the job closes, it is told once even after a crash.
    if (this.o.reporter) await this.o.reporter.finished(job, await this.o.store.rows(jobId));
    await this.o.store.finishJob(jobId);
  }

  /**
   * Before the report: until every welcome has gone out or been refused, so that the report says who was really
   * reached. A refused welcome turns its row into "added, not reached" with the reason. Welcomes that are still
   * retrying when none has finished for a while are reported as added (the delivery engine goes on with them).
   * False: the lease was lost or the worker is stopping (the job is finished by whoever holds it next).
   */
  private async awaitWelcomes(jobId: string, leaseMs: number): Promise<boolean> {
    const outcomes = this.o.welcomer.outcomes?.bind(this.o.welcomer);
    if (!outcomes) return true;
    let waiting = (await this.o.store.rows(jobId)).filter((r) => r.state === 'done' && r.outcome === 'added');
    let lastChange = Date.now();
    for (;;) {
      const { refused, pending } = await outcomes(waiting);
      if (refused.length > 0) {
        await this.o.store.finishRows(
          jobId,
          refused.map((r) => ({ line: r.line, outcome: 'not_welcomed' as const, detail: WELCOME_REFUSED })),
        );
      }
      if (pending.length === 0) return true;
      if (pending.length < waiting.length) lastChange = Date.now();
      waiting = pending;
      if (Date.now() - lastChange > (this.o.welcomeSettleMs ?? DEFAULT_WELCOME_SETTLE_MS)) return true;
      if (this.stopped || !(await this.o.store.lease(jobId, this.o.holder, leaseMs))) return false;
      await new Promise((resolve) => setTimeout(resolve, this.o.welcomePollMs ?? DEFAULT_WELCOME_POLL_MS));
    }
  }

  /** Marks the chunk's rows begun (a rerun after a crash knows its own adds), then reaches its people. */
  private async prepare(job: JobHeader, rows: JobRow[]): Promise<Map<string, Reach>> {
    await this.o.store.markAdding(
      job.jobId,
      rows.filter((r) => r.state === 'pending').map((r) => r.line),
    );
    return this.o.reacherFor(job.tenantId, job.serviceUrl).reach([...new Set(rows.map((r) => r.userId))]);
  }

  /**
   * Adds the chunk's reached people through the domain, a whole group's share at once (a few storage round trips
   * for the lot, not several a person), then welcomes those added and records every row's outcome.
   */
  private async chunk(job: JobHeader, rows: JobRow[], reach: Map<string, Reach>): Promise<void> {
    const resumed = new Set(rows.filter((r) => r.state === 'adding').map((r) => r.line));
    const actor = { user: { id: job.createdById, name: job.createdByName }, ...(job.orgAdmin ? { orgAdminOfTenant: job.tenantId } : {}) };
    const done: Array<Pick<JobRow, 'line' | 'outcome' | 'detail'>> = [];
    const byGroup = new Map<string, Array<{ row: JobRow; conversationRef: string }>>();
    for (const row of rows) {
      const reached = reach.get(row.userId);
      if (!reached || 'failed' in reached) {
        done.push({ line: row.line, outcome: 'not_reached', detail: reached && 'failed' in reached ? reached.detail : 'not reached' });
        continue;
      }
      const adds = byGroup.get(row.groupId) ?? [];
      adds.push({ row, conversationRef: this.conversationRef(job, row, reached.chatId) });
      byGroup.set(row.groupId, adds);
    }
    const welcomes: Array<{ row: JobRow; conversationRef: string }> = [];
    await Promise.all(
      [...byGroup].map(async ([groupId, adds]) => {
        let results: AdminAddResult[];
        try {
          results = await this.o.groups.addManyByAdmin(
            groupId,
            actor,
            adds.map(({ row, conversationRef }) => ({ user: { id: row.userId, name: row.name }, role: row.role, conversationRef })),
          );
        } catch (err) {
          // A refusal of the whole group (no longer an admin, the group deleted) is each of its rows' outcome;
          // anything else (storage down) stops the chunk, which is done again later.
          if (!isAppError(err)) throw err;
          results = adds.map(() => ({ refused: err }));
        }
        adds.forEach(({ row, conversationRef }, i) => {
          const result = results[i]!;
          if (typeof result === 'object') {
            done.push({ line: row.line, outcome: 'failed', detail: result.refused.userMessage });
            return;
          }
          // A member already, after a chunk of ours was cut short: our own add.
          const outcome: RowOutcome = result === 'already_member' && resumed.has(row.line) ? 'added' : result;
          done.push({ line: row.line, outcome, detail: '' });
          if (outcome === 'added') welcomes.push({ row, conversationRef });
        });
      }),
    );
    // A few at a time: each welcome is a one-off send of the delivery engine (a write of its own).
    let next = 0;
    const lanes = Array.from({ length: Math.min(this.o.parallel ?? DEFAULT_PARALLEL, welcomes.length) }, async () => {
      while (next < welcomes.length) {
        const { row, conversationRef } = welcomes[next++]!;
        await this.o.welcomer.welcome(job, row, conversationRef);
      }
    });
    await Promise.all(lanes);
    await this.o.store.finishRows(job.jobId, done);
  }

  /** Where the person's posts and welcome go: the bot's personal chat with them. */
  private conversationRef(job: JobHeader, row: JobRow, chatId: string): string {
    return JSON.stringify({
      channelId: 'msteams',
      serviceUrl: job.serviceUrl,
      conversation: { id: chatId, conversationType: 'personal', tenantId: job.tenantId },
      bot: { id: this.o.botId },
      user: { id: row.userId, aadObjectId: row.userId, name: row.name },
    });
  }
}
