import { isAppError } from '../errors';
import type { ImportOutcome, ImportService } from './importService';
import { packedFor } from './packedExport';
import type { ImportJobOrder, PendingUploadStore } from './pendingUploads';

/*
 * An import the admin confirmed is a job in storage (pendingUploads.ts): whichever instance took the click
 * works it under a lease renewed per batch of rows; if that instance dies, its lease runs out and any
 * instance's sweep resumes it. Resuming is safe: the import's rows are keyed by (import, index), a resumed
 * import clears what the first try wrote before writing again, and the announcement is one post by key.
 */

export const IMPORT_LEASE_MS = 60_000;

export interface ImportJobsOptions {
  pending: PendingUploadStore;
  imports: Pick<ImportService, 'importFile' | 'importPacked'>;
  /** This instance, in leases. */
  holder: string;
  leaseMs?: number;
  /** Tells the admin who confirmed how the job ended, when the order says where (a chat upload). */
  reporter?: ImportReporter;
  onError?(token: string, err: unknown): void;
}

/** How a job ended, told where the order says; called before the job is closed, so a crash in between tells it again (by key, once). */
export interface ImportReporter {
  ended(
    order: ImportJobOrder & { report: NonNullable<ImportJobOrder['report']> },
    run: Exclude<JobRun, { kind: 'elsewhere' }>,
  ): Promise<void>;
}

export type JobRun =
  | { kind: 'done'; outcome: ImportOutcome }
  /** Another instance holds the job (it is being worked), or it is gone (done already). */
  | { kind: 'elsewhere' }
  /** Refused at import time (a chosen member left, ...): the upload is pending again, nothing stored. */
  | { kind: 'refused'; message: string };

export class ImportJobs {
  private sweeping?: Promise<void>;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: ImportJobsOptions) {}

  /** The admin confirmed: the upload becomes a job; then this instance works it. */
  async start(token: string, order: ImportJobOrder): Promise<JobRun> {
    await this.o.pending.order(token, order);
    return this.run(token);
  }

  /**
   * The admin confirmed in a chat turn: the upload becomes a job and the turn answers at once; this instance works
   * the job after it (the reporter tells the admin how it ended). A crash meanwhile is resumed by a sweep.
   */
  async startInBackground(token: string, order: ImportJobOrder): Promise<void> {
    await this.o.pending.order(token, order);
    const work: Promise<void> = this.run(token)
      .then(
        () => undefined,
        (err: unknown) => this.o.onError?.(token, err),
      )
      .finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  /** Works one job if this instance can lease it. */
  async run(token: string): Promise<JobRun> {
    const leaseMs = this.o.leaseMs ?? IMPORT_LEASE_MS;
    const { pending, holder } = this.o;
    if (!(await pending.lease(token, holder, leaseMs))) return { kind: 'elsewhere' };
    const job = await pending.job(token);
    if (!job) return { kind: 'elsewhere' };
    const { upload, order } = job;
    const progress = async (written: number, total: number) => {
      // Lost (another instance took over after a stall): stop; that one finishes the job. One write a batch: the
      // lease renewed and the progress recorded together.
      if (this.stopped || !(await pending.renew(token, holder, leaseMs, { written, total }))) throw new LeaseLost();
    };
    try {
      const read = { timeZone: order.timeZone, ...(order.dateOrder ? { dateOrder: order.dateOrder } : {}) };
      // The export as the preview read it, when Import asks for the same reading; otherwise the file again.
      const packed = await pending.packed(token);
      const outcome =
        packed && packedFor(packed, read)
          ? await this.o.imports.importPacked(upload.groupId, order.actor, packed, order.senders, progress)
          : await this.o.imports.importFile(upload.groupId, order.actor, await job.file(), read, order.senders, progress);
      const done: JobRun = { kind: 'done', outcome };
      await this.report(token, order, done);
      await pending.delete(token);
      return done;
    } catch (err) {
      if (err instanceof LeaseLost) return { kind: 'elsewhere' };
      if (!isAppError(err)) throw err;
      await pending.reopen(token, err.userMessage);
      const refused: JobRun = { kind: 'refused', message: err.userMessage };
      await this.report(token, order, refused);
      return refused;
    }
  }

  /** A report that fails is logged, never a reason to redo an import that is done. */
  private async report(token: string, order: ImportJobOrder, run: Exclude<JobRun, { kind: 'elsewhere' }>): Promise<void> {
    const { report } = order;
    if (!report || !this.o.reporter) return;
    await this.o.reporter.ended({ ...order, report }, run).catch((err: unknown) => this.o.onError?.(token, err));
  }

  /** Every open job whose lease is free or ran out (a crashed instance's); overlapping calls share one sweep. */
  resumeOpen(): Promise<void> {
    this.sweeping ??= (async () => {
      try {
        await this.o.pending.sweep();
        for (const token of await this.o.pending.openJobs()) {
          if (this.stopped) return;
          await this.run(token).catch((err: unknown) => this.o.onError?.(token, err));
        }
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }

  /** Shutdown: the batch in progress ends the job's work here; the lease runs out and another instance goes on. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.sweeping?.catch(() => undefined);
    await Promise.all([...this.inFlight]);
  }
}

class LeaseLost extends Error {
  constructor() {
    super('import lease lost');
  }
}
