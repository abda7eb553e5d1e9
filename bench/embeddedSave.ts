import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import path from 'node:path';
import { TableClient } from '@azure/data-tables';
import { spawnAzuriteChild } from '../src/storage/azuriteChild';
import { azuriteConnectionString, freeLoopbackPort } from '../src/storage/embeddedAzurite';
import { fmt, runConcurrent } from './lib';

/**
 * What the embedded store's save interval costs and buys: the raw createEntity rate against a persisted Azurite
 * table child (16 in flight, 200-byte entities, on top of `preload` rows so each save writes a realistic file),
 * and the rows lost when that child is SIGKILLed in the middle of a write stream.
 * Intervals are measured in interleaved rounds (the machine's other load drifts); medians are printed.
 *   npx tsx bench/embeddedSave.ts [intervals ms, comma separated] [preload rows] [rounds]
 */
const intervals = (process.argv[2] ?? '5000,1000,500').split(',').map(Number);
const preload = Number(process.argv[3] ?? 20_000);
const rounds = Number(process.argv[4] ?? 3);
const PAYLOAD = 'x'.repeat(200);

async function measure(autosaveMs: number): Promise<{ rate: number; p99: number; lost: number; acked: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kaizala-save-'));
  const port = await freeLoopbackPort();
  try {
    let child = await spawnAzuriteChild('table', { port, location: dir, autosaveMs });
    const table = TableClient.fromConnectionString(azuriteConnectionString(port), 'bench', { allowInsecureConnection: true });
    await table.createTable();
    for (let start = 0; start < preload; start += 100) {
      await table.submitTransaction(
        Array.from(
          { length: Math.min(100, preload - start) },
          (_, i) => ['create', { partitionKey: `pre${start}`, rowKey: String(i), payload: PAYLOAD }] as const,
        ) as never,
      );
    }
    const stats = await runConcurrent(3000, 16, async (i) => {
      await table.createEntity({ partitionKey: 'p', rowKey: String(i), payload: PAYLOAD });
    });

    // Loss: write steadily, SIGKILL the child mid-stream, restart it on the same folder, count what is left.
    const acked: number[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        try {
          await table.createEntity({ partitionKey: 'loss', rowKey: String(i), payload: PAYLOAD });
          acked.push(i);
        } catch {
          return;
        }
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 3_000 + Math.random() * autosaveMs));
    await child.kill();
    writing = false;
    await writer;
    child = await spawnAzuriteChild('table', { port, location: dir, autosaveMs });
    let kept = 0;
    for await (const _ of table.listEntities({ queryOptions: { filter: "PartitionKey eq 'loss'" } })) kept++;
    await child.stop();
    console.log(
      `  autosave ${autosaveMs} ms: createEntity ${fmt(stats)}; SIGKILL mid-stream: ${acked.length - kept} of ${acked.length} acknowledged writes lost`,
    );
    return { rate: stats.ratePerSecond, p99: stats.p99Ms, lost: acked.length - kept, acked: acked.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What one save costs the storage process: Loki serializes the whole database to JSON (synchronously, on
 * Azurite's event loop) and writes the file. Timed here on a copy of the saved file.
 */
async function saveCost(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kaizala-save-'));
  const port = await freeLoopbackPort();
  try {
    const child = await spawnAzuriteChild('table', { port, location: dir, autosaveMs: 1000 });
    const table = TableClient.fromConnectionString(azuriteConnectionString(port), 'bench', { allowInsecureConnection: true });
    await table.createTable();
    for (let start = 0; start < preload; start += 100) {
      await table.submitTransaction(
        Array.from(
          { length: Math.min(100, preload - start) },
          (_, i) => ['create', { partitionKey: `pre${start}`, rowKey: String(i), payload: PAYLOAD }] as const,
        ) as never,
      );
    }
    await child.stop();
    const json = readFileSync(path.join(dir, '__azurite_db_table__.json'), 'utf8');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Loki = require('lokijs') as new () => { loadJSON(json: string): void; serialize(): string };
    const db = new Loki();
    db.loadJSON(json);
    const times: number[] = [];
    for (let i = 0; i < 9; i++) {
      const t0 = performance.now();
      db.serialize();
      times.push(performance.now() - t0);
    }
    const ms = times.sort((a, b) => a - b)[4]!;
    console.log(
      `one save serializes ${(json.length / 1e6).toFixed(1)} MB in ${ms.toFixed(0)} ms (median of 9): while writes go on, ${((ms / 5000) * 100).toFixed(1)}% of a core at 5000 ms, ${((ms / 1000) * 100).toFixed(1)}% at 1000 ms, ${((ms / 500) * 100).toFixed(1)}% at 500 ms`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`persisted Azurite table child, ${preload} rows preloaded`);
  await saveCost();
  if (process.env.SAVE_COST_ONLY) return;
  const results = new Map<number, Array<Awaited<ReturnType<typeof measure>>>>();
  for (let round = 0; round < rounds; round++) {
    for (const ms of intervals) results.set(ms, [...(results.get(ms) ?? []), await measure(ms)]);
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  for (const [ms, runs] of results) {
    console.log(
      `autosave ${ms} ms, median of ${runs.length}: createEntity ${median(runs.map((r) => r.rate)).toFixed(0)}/s, ` +
        `p99 ${median(runs.map((r) => r.p99)).toFixed(0)} ms; lost on SIGKILL ${runs.map((r) => `${r.lost}/${r.acked}`).join(', ')}`,
    );
  }
}

void main();
