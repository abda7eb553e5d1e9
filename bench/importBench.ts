import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Group, UserRef } from '../src/groups/model';
import { ImportService } from '../src/import/importService';
import type { StoredImport } from '../src/import/ports';
import { ImportJobs } from '../src/import/importJobs';
import { chatFileOf } from '../src/import/readExport';
import { unpackChunk } from '../src/import/packedExport';
import { submitEntityBatch, type BatchRow } from '../src/storage/entityBatch';
import { TablePendingUploads } from '../src/storage/tablePendingUploads';
import { memberNamesFrom } from '../src/import/senderMatch';
import { TableGroupStore } from '../src/storage/tableGroupStore';
import { importedPartition, importedRowKey, TableImportStore } from '../src/storage/tableImportStore';
import { TablePostStore } from '../src/storage/tablePostStore';
import { createTableClients, ensureTables } from '../src/storage/tables';
import { createLogger } from '../src/logger';
import { startEmbeddedAzurite } from '../src/storage/embeddedAzurite';
import type { Verdict } from './lib';

/*
 * `npm run bench -- import`: a 40,000-line WhatsApp export (WhatsApp's own cap without media; IMPORT_BENCH_LINES
 * sets another size) previewed and imported into a group on the embedded Azurite the way the bot does it (the
 * preview keeps the upload and its packed export in `importuploads`; Import is the job, with its lease and
 * progress), against raw batched inserts of the same rows by the same batch writer in the same run; the peak RSS
 * while the preview and the import run, and the whole process's peak (maxRSS, the bench's own work included);
 * history's first and last page after the import.
 */

const ZONE = 'Europe/Berlin';
const owner: UserRef = { id: 'aad-bench-owner', name: 'Ann Lee' };
const SENDERS = ['Ann Lee', 'Bob Stone', 'Cy Park', 'Dana Ortiz', 'Eli Novak', 'Farid Haddad', '~\u202fGus', 'Hana Ito'];

/** 40,000 lines: mostly one-line messages, some of two lines, media and system lines, in time order. */
export function syntheticExport(lines: number): string {
  const out: string[] = [];
  let t = Date.UTC(2023, 0, 2, 7, 0);
  for (let i = 0; out.length < lines; i++) {
    t += 60_000 * (1 + (i % 7));
    const d = new Date(t);
    const stamp = `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${String(d.getUTCFullYear()).slice(2)}, ${((d.getUTCHours() + 11) % 12) + 1}:${String(d.getUTCMinutes()).padStart(2, '0')}\u202f${d.getUTCHours() < 12 ? 'AM' : 'PM'}`;
    const sender = SENDERS[i % SENDERS.length]!;
    if (i % 500 === 0) out.push(`${stamp} - ${sender} added ${SENDERS[(i + 1) % SENDERS.length]}`);
    else if (i % 50 === 0) out.push(`${stamp} - ${sender}: <Media omitted>`);
    else if (i % 10 === 0)
      out.push(`${stamp} - ${sender}: Delivery ${i} is at bay ${i % 12}.`, `Gate code ${1000 + (i % 9000)}, please close it after you.`);
    else out.push(`${stamp} - ${sender}: Message ${i}: truck ${i % 40} leaves at ${(i % 12) + 1} o'clock, call me if it is late *urgent*`);
  }
  return out.slice(0, lines).join('\n');
}

/** A full collection, without starting node with --expose-gc (the flag is set, then gc is taken from a fresh context). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await run();
  return { value, ms: performance.now() - start };
}

export async function benchImport(lines: number): Promise<Verdict[]> {
  // In memory, as the tests run it: the figure compares the import with raw inserts on the same store, and a
  // persisted store's periodic full saves of a 40,000-row table would weigh on both alike.
  const azurite = await startEmbeddedAzurite({ logger: createLogger({ level: 'warn' }) });
  // Sampled while the preview and the import run (what a bot process does with an upload), not while the
  // bench builds its export or writes the raw baseline.
  let peakRss = 0;
  let measuring = false;
  const sampler = setInterval(() => {
    if (measuring) peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  try {
    const tables = createTableClients({ connectionString: azurite.connectionString, prefix: 'import' });
    await ensureTables(tables);
    const groups = new TableGroupStore(tables);
    const posts = new TablePostStore(tables);
    const store = new TableImportStore(tables);
    const groupId = 'gbenchimport';
    const at = new Date().toISOString();
    const group: Group = { id: groupId, name: 'Depot North', createdBy: owner, createdAt: at, status: 'private', memberCount: 1 };
    await groups.insertGroup({
      group,
      linkNonce: 'n',
      creator: { groupId, user: owner, role: 'admin', joinedAt: at },
      audit: { groupId, at, action: 'created', actor: owner },
    });
    let announced = 0;
    const imports = new ImportService({
      store,
      posts,
      members: memberNamesFrom(groups),
      announce: async () => void announced++,
    });
    const text = syntheticExport(lines);
    const upload = { name: 'WhatsApp Chat with Depot North.txt', bytes: Buffer.from(text) };
    console.log(`  export: ${lines.toLocaleString('en-US')} lines, ${(upload.bytes.length / 1024 / 1024).toFixed(1)} MB`);
    const pending = new TablePendingUploads(tables.importuploads);
    const jobs = new ImportJobs({ pending, imports, holder: 'bench' });

    // The bench's own garbage (the export it built, the group) collected first, and again between the preview and
    // the import, which in the bot are two requests seconds or minutes apart, not one breath.
    collectGarbage();
    const rssBefore = process.memoryUsage().rss;
    measuring = true;
    // What the tab's upload (and a file sent in chat) does: the chat file out of the upload, its preview, the
    // upload kept for Import. Then Import: the job the bot runs, from the kept upload, with its lease and progress.
    const preview = await timed(async () => {
      const file = await chatFileOf(upload.name, upload.bytes);
      const shown = await imports.preview(groupId, owner, file, { timeZone: ZONE });
      const token = await pending.put({ groupId, userId: owner.id, file, timeZone: shown.timeZone });
      const packed = await shown.packed();
      await pending.keepPacked(token, packed);
      return { ...shown, token, packed };
    });
    const previewPeak = Math.max(peakRss, process.memoryUsage().rss);
    collectGarbage();
    console.log(
      `  preview: ${preview.ms.toFixed(0)} ms (${preview.value.found.toLocaleString('en-US')} messages, ${preview.value.importable.toLocaleString('en-US')} to import)`,
    );
    const actor = { userId: owner.id, name: owner.name, tenantId: 'bench' };
    const imported = await timed(async () => {
      const run = await jobs.start(preview.value.token, { actor, timeZone: ZONE, senders: {} });
      if (run.kind !== 'done') throw new Error(`the import job ended ${run.kind}`);
      return run.outcome;
    });
    measuring = false;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    console.log(
      `  RSS: ${(rssBefore / 1024 / 1024).toFixed(0)} MB before the preview, peak ${(peakRss / 1024 / 1024).toFixed(0)} MB during preview and import (${(previewPeak / 1024 / 1024).toFixed(0)} MB by the end of the preview)`,
    );
    const count = imported.value.record.count;
    const importRate = count / (imported.ms / 1000);
    console.log(
      `  import: ${imported.ms.toFixed(0)} ms, ${importRate.toFixed(0)} messages/s (the job: packed chunks read, rows, lease and progress, the announcement)`,
    );

    // The same rows, written raw: transactions of up to 100 inserts into the same day partitions (a transaction
    // is one partition), by the same batch writer the import uses; no parsing, no records, no lock, no progress.
    // The rows come from the preview's packed export a chunk at a time (only the writes are timed): the bench's
    // own baseline holds no more than the import does.
    const rows: StoredImport[] = [];
    let rawCount = 0;
    let rawMs = 0;
    for (const chunk of preview.value.packed.chunks) {
      const batchRows = (await unpackChunk(chunk))
        .filter((m) => m.kind === 'text' || m.kind === 'media')
        .map((m, i) => ({ ...m, importId: 'raw', index: rawCount + i, source: 'whatsapp' as const }));
      if (rows.length < 21) rows.push(...batchRows.slice(0, 21 - rows.length));
      rawCount += batchRows.length;
      const written = await timed(async () => {
        for (let i = 0; i < batchRows.length;) {
          const partitionKey = importedPartition('gbenchraw', batchRows[i]!.at);
          const batch: BatchRow[] = [];
          for (; i < batchRows.length && batch.length < 100 && importedPartition('gbenchraw', batchRows[i]!.at) === partitionKey; i++) {
            const m = batchRows[i]!;
            batch.push({ partitionKey, rowKey: importedRowKey(m), at: m.at, sender: m.sender, text: m.text, kind: m.kind });
          }
          await submitEntityBatch(tables.groups, batch, 'create');
        }
      });
      rawMs += written.ms;
    }
    const raw = { ms: rawMs };
    const rawRate = rawCount / (raw.ms / 1000);
    console.log(`  raw batched inserts: ${raw.ms.toFixed(0)} ms, ${rawRate.toFixed(0)} rows/s`);
    const maxRss = process.resourceUsage().maxRSS / 1024;
    console.log(`  the whole process's peak RSS so far (the bench's baseline writes included): ${maxRss.toFixed(0)} MB`);

    const first = await timed(() => imports.history(groupId, owner.id));
    const oldest20 = rows.slice(0, 21).at(-1)!;
    const last = await timed(() =>
      imports.history(groupId, owner.id, importedRowKey({ ...oldest20, importId: imported.value.record.importId })),
    );
    console.log(
      `  history: first page ${first.ms.toFixed(0)} ms, last page ${last.ms.toFixed(0)} ms (${last.value.messages.length} messages)`,
    );
    if (announced !== 1) throw new Error(`expected one announcement, got ${announced}`);
    if (first.value.messages.length !== 20 || last.value.messages[0]?.at !== rows[0]!.at) throw new Error('history pages are wrong');

    const ratio = importRate / rawRate;
    const rssMb = peakRss / 1024 / 1024;
    return [
      {
        section: 'import',
        figure: `preview of ${lines.toLocaleString('en-US')} lines`,
        value: `${preview.ms.toFixed(0)} ms`,
        target: '(none)',
        met: undefined,
      },
      {
        section: 'import',
        figure: 'import messages/s / raw batched inserts/s',
        value: ratio.toFixed(2),
        target: '>= 0.5',
        met: ratio >= 0.5,
      },
      {
        section: 'import',
        figure: 'peak RSS during preview + import',
        value: `${rssMb.toFixed(0)} MB`,
        target: '< 300 MB',
        met: rssMb < 300,
      },
      {
        section: 'import',
        figure: 'peak RSS of the whole run (process maxRSS)',
        value: `${maxRss.toFixed(0)} MB`,
        target: '(< 300 MB)',
        met: undefined,
      },
      {
        section: 'import',
        figure: 'history first / last page',
        value: `${first.ms.toFixed(0)} / ${last.ms.toFixed(0)} ms`,
        target: '(none)',
        met: undefined,
      },
    ];
  } finally {
    clearInterval(sampler);
    await azurite.stop();
  }
}
