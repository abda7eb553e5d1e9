import { randomUUID } from 'node:crypto';
import { ImportJobs, type ImportReporter } from '../import/importJobs';
import type { ImportService } from '../import/importService';
import type { Logger } from '../logger';
import { TablePendingUploads } from '../storage/tablePendingUploads';
import type { TableClients } from '../storage/tables';

/** How often each instance sweeps expired uploads and looks for imports a crashed instance left open. */
const TICK_MS = 10_000;

/**
 * Import jobs (issue 20): uploads waiting for Import, and the jobs they become, in storage shared by every
 * instance; each instance resumes jobs whose lease ran out (a crash mid-import) and sweeps expired uploads.
 * A job confirmed in chat is told to its admin there when it ends (`reporter`), whichever instance ends it.
 */
export function wireImportJobs(
  tables: Pick<TableClients, 'importuploads'>,
  imports: ImportService,
  logger: Logger,
  options: { reporter?: ImportReporter; leaseMs?: number } = {},
) {
  const pending = new TablePendingUploads(tables.importuploads);
  const jobs = new ImportJobs({
    pending,
    imports,
    holder: randomUUID(),
    ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
    ...(options.reporter ? { reporter: options.reporter } : {}),
    onError: (token, err) => logger.warn({ err: (err as Error).message, job: token.slice(0, 4) }, 'import job failed; retried next tick'),
  });
  const tick = () =>
    void jobs.resumeOpen().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'import sweep failed; retried next tick'));
  let timer: NodeJS.Timeout | undefined;
  return {
    pending,
    jobs,
    start() {
      tick();
      timer ??= setInterval(tick, TICK_MS);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await jobs.stop();
    },
  };
}

export type ImportJobsWiring = ReturnType<typeof wireImportJobs>;
