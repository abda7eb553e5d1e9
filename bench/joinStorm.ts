import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RunStats } from './lib';

export interface StormRequest {
  appUrl: string;
  link: string;
  groupName: string;
  joiners: number;
  inFlight: number;
}

export interface StormResult {
  stats: RunStats;
  failures: string[];
  /** The joiners' AAD object ids, for checking the member list. */
  userIds: string[];
  /** Replies the joiners' channel received. */
  connectorCalls: number;
}

/** Runs the join storm's clients on a worker thread (see joinStorm.worker.ts) and waits for their figures. */
export function runJoinStorm(request: StormRequest): Promise<StormResult> {
  // tsx's loader hooks do not reach workers; its CommonJS hook, required first, does.
  const entry = path.join(__dirname, 'joinStorm.worker.ts');
  const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(entry)});`, { eval: true, workerData: request });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (message: { ok: true; result: StormResult } | { ok: false; error: string }) => {
      void worker.terminate();
      if (message.ok) resolve(message.result);
      else reject(new Error(`join storm worker: ${message.error}`));
    });
  });
}
