import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEmbeddedAzurite, type EmbeddedAzurite } from '../src/storage/embeddedAzurite';

export interface RunStats {
  count: number;
  seconds: number;
  ratePerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

/** Runs `total` operations with `inFlight` workers, each taking the next index; returns rate and latency. */
export async function runConcurrent(
  total: number,
  inFlight: number,
  op: (index: number, worker: number) => Promise<void>,
): Promise<RunStats> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async (_, worker) => {
      while (next < total) {
        const index = next++;
        const t0 = performance.now();
        await op(index, worker);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { count: total, seconds, ratePerSecond: total / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

export function fmt(stats: RunStats): string {
  return `${stats.ratePerSecond.toFixed(0)}/s  p50 ${stats.p50Ms.toFixed(1)} ms  p99 ${stats.p99Ms.toFixed(1)} ms  (${stats.count} in ${stats.seconds.toFixed(2)} s)`;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

/** One line of the closing summary: a figure, its target and whether this run met it (undefined: no target). */
export interface Verdict {
  section: string;
  figure: string;
  value: string;
  target: string;
  met: boolean | undefined;
}

export function printSummary(verdicts: readonly Verdict[]): void {
  const rows = verdicts.map((v) => [v.section, v.figure, v.value, v.target, v.met === undefined ? '-' : v.met ? 'met' : 'BELOW TARGET']);
  const header = ['section', 'figure', 'this run', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  console.log('\nSummary (figures from this run only)');
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
}

/** Polls `condition` every 20 ms; rejects with `what` after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Azurite's table and queue services started the way the app starts it when no connection string is configured (a child
 * process, data persisted to a folder), but by the bench, so that a counting proxy can stand in front of it.
 */
export async function startBenchAzurite(): Promise<EmbeddedAzurite> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kaizala-bench-'));
  const azurite = await startEmbeddedAzurite({ location: path.join(dataDir, 'azurite'), queue: true });
  return {
    ...azurite,
    async stop() {
      await azurite.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
