/**
 * A bot instance working one import job, that stops dead after its second batch of rows (the parent test
 * SIGKILLs it there): test/import/importCrash.e2e.test.ts. Env: CONNECTION, PREFIX, TOKEN, LEASE_MS.
 */
import { ImportJobs } from '../../src/import/importJobs';
import { ImportService } from '../../src/import/importService';
import type { ImportStore } from '../../src/import/ports';
import { memberNamesFrom } from '../../src/import/senderMatch';
import { TableGroupStore } from '../../src/storage/tableGroupStore';
import { TableImportStore } from '../../src/storage/tableImportStore';
import { TablePendingUploads } from '../../src/storage/tablePendingUploads';
import { TablePostStore } from '../../src/storage/tablePostStore';
import { createTableClients } from '../../src/storage/tables';

const CRASH_AFTER = 200;

async function main(): Promise<void> {
  const tables = createTableClients({ connectionString: process.env.CONNECTION!, prefix: process.env.PREFIX! });
  const real = new TableImportStore(tables);
  const store: ImportStore = Object.assign(Object.create(real) as ImportStore, {
    write: (groupId: string, messages: Parameters<ImportStore['write']>[1], progress: Parameters<ImportStore['write']>[2]) =>
      real.write(groupId, messages, async (written, total) => {
        await progress?.(written, total);
        if (written >= CRASH_AFTER) {
          process.stdout.write(`stopped after ${written} of ${total}\n`);
          // Stuck, the lease held, until the parent kills it (a bare pending promise would let Node exit).
          setInterval(() => undefined, 1 << 30);
          await new Promise(() => undefined);
        }
      }),
  });
  const imports = new ImportService({
    store,
    posts: new TablePostStore(tables),
    members: memberNamesFrom(new TableGroupStore(tables)),
    announce: async () => {
      throw new Error('the crashing instance never gets this far');
    },
  });
  const jobs = new ImportJobs({
    pending: new TablePendingUploads(tables.importuploads),
    imports,
    holder: 'crashing',
    leaseMs: Number(process.env.LEASE_MS),
  });
  await jobs.run(process.env.TOKEN!);
}

void main();
