import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { BotFrameworkSender } from '../src/delivery/botFrameworkSender';
import { QueueDeliveryEngine } from '../src/delivery/engine';
import type { WorkBody } from '../src/delivery/workBody';
import { WorkQueue } from '../src/delivery/workQueue';
import { createLogger } from '../src/logger';
import { addMembers, startEnv } from './fanout';
import { percentile, type Verdict } from './lib';

export interface LoadOptions {
  posts: number;
  groups: number;
  /** Members per group (the sender included): each post makes `membersPerGroup - 1` copies. */
  membersPerGroup: number;
  tenants: number;
  /** Posts accepted per second, spread evenly. */
  postsPerSecond: number;
}

/**
 * `npm run bench -- load`: many small groups posting at once, as in issue 16's load run. Posts are accepted at a
 * steady rate (round-robin over the groups, each group's posts in sequence), copies go to a fake Teams channel
 * (Teams' per-conversation windows, 200/s per tenant) through real Azurite queues and tables, with Teams'
 * default tenant budget (40/s). Figures: every copy delivered once, the time from a post's acceptance to each of
 * its copies' arrival (p50, p99, max), and the engine's warnings, with the queue's pop-receipt races counted
 * apart (they are harmless and logged at info).
 */
export async function benchLoad(o: LoadOptions): Promise<Verdict[]> {
  // A loaded machine answers health probes late; a replaced in-memory child would start empty (queues gone).
  const env = await startEnv({ intervalMs: 5_000, probeTimeoutMs: 5_000, failures: 12 });
  const lines = { warn: 0, error: 0, receiptWarnings: 0, acceptRetries: 0, messages: new Map<string, number>() };
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split('\n')) {
        if (!text.trim()) continue;
        const line = JSON.parse(text) as { level: number; msg: string; err?: string };
        if (line.level >= 40) {
          lines[line.level >= 50 ? 'error' : 'warn']++;
          lines.messages.set(line.msg, (lines.messages.get(line.msg) ?? 0) + 1);
          if (/pop receipt/i.test(`${line.msg} ${line.err ?? ''}`)) lines.receiptWarnings++;
        }
      }
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const engine = new QueueDeliveryEngine({
    source: env.source,
    render: env.source.render,
    sender: new BotFrameworkSender({ allowedServiceUrlHosts: [], allowLoopback: true }),
    tables: { deliveries: env.tables.deliveries, outbox: env.tables.outbox, lanes: env.tables.lanes },
    queue: new WorkQueue<WorkBody>({ connectionString: env.connectionString, name: 'load-bench', logger, visibilitySeconds: 30 }),
    logger,
    tenantBudgetRps: 40,
    instanceId: 'load',
    pollMs: 200,
  });
  try {
    const groups = Array.from({ length: o.groups }, (_, i) => {
      const groupId = `lg${String(i).padStart(4, '0')}`;
      return { groupId, members: addMembers(env, groupId, o.membersPerGroup, `tenant-${i % o.tenants}`), seq: 0 };
    });
    await engine.start();
    const acceptedAt = new Map<string, number>();
    const copiesEach = o.membersPerGroup - 1;
    const expected = o.posts * copiesEach;
    console.log(
      `  ${o.posts} posts in ${o.groups} groups of ${o.membersPerGroup} (${expected} copies), ${o.tenants} tenants at 40/s each, ${o.postsPerSecond} posts/s`,
    );
    const t0 = performance.now();
    const accepting: Array<Promise<void>> = [];
    const inFlight = new Set<Promise<void>>();
    let maxLagMs = 0;
    for (let i = 0; i < o.posts; i++) {
      const due = t0 + (i * 1000) / o.postsPerSecond;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const group = groups[i % groups.length]!;
      const seq = ++group.seq;
      const sender = group.members[seq % group.members.length]!;
      env.source.addPost({ groupId: group.groupId, seq, senderUserId: sender.userId, text: `load ${i}` });
      // At most 16 acceptances in flight, as a bot's turns would be: a backlog is measured as latency, not piled on storage.
      while (inFlight.size >= 16) await Promise.race(inFlight);
      maxLagMs = Math.max(maxLagMs, performance.now() - due);
      acceptedAt.set(`${group.groupId}#${seq}`, Date.now());
      const accepted = acceptWithRetries(() => engine.postAccepted(group.groupId, seq), lines).finally(() => inFlight.delete(accepted));
      inFlight.add(accepted);
      accepting.push(accepted);
    }
    await Promise.all(accepting);
    const acceptSeconds = (performance.now() - t0) / 1000;
    const deadline = Date.now() + 15 * 60_000;
    while ((await env.channel.sends()) < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
    const drainSeconds = (performance.now() - t0) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const dump = await env.channel.dump();
    const seen = new Map<string, number>();
    const latencies: number[] = [];
    for (const call of dump.accepted) {
      if (call.method !== 'POST') continue;
      const key = /^(lg\d+#\d+) /.exec(call.text)?.[1];
      if (!key) continue;
      const copy = `${key}|${call.conversationId}`;
      seen.set(copy, (seen.get(copy) ?? 0) + 1);
      if (seen.get(copy) === 1) latencies.push(call.at - acceptedAt.get(key)!);
    }
    latencies.sort((a, b) => a - b);
    const lost = expected - seen.size;
    const duplicates = [...seen.values()].reduce((sum, n) => sum + n - 1, 0);
    const [p50, p99, max] = [percentile(latencies, 50), percentile(latencies, 99), latencies.at(-1) ?? NaN];
    const races = engine.health().receiptRaces;
    console.log(
      `    accepted in ${acceptSeconds.toFixed(1)} s; last copy at ${drainSeconds.toFixed(1)} s; lost ${lost}; duplicates ${duplicates}`,
    );
    console.log(
      `    acceptance -> copy: p50 ${(p50 / 1000).toFixed(2)} s, p99 ${(p99 / 1000).toFixed(2)} s, max ${(max / 1000).toFixed(2)} s`,
    );
    console.log(
      `    receipt races (harmless, info) ${races}; warnings ${lines.warn} (about pop receipts: ${lines.receiptWarnings}); errors ${lines.error}; 429s ${dump.throttled.length}`,
    );
    console.log(`    acceptance behind the offered rate by at most ${(maxLagMs / 1000).toFixed(1)} s (16 acceptances in flight at most)`);
    console.log(`    postAccepted calls retried after a storage timeout (as a turn would be): ${lines.acceptRetries}`);
    for (const [msg, n] of lines.messages) console.log(`      ${n} x ${msg}`);
    return [
      {
        section: 'load',
        figure: 'lost / duplicates',
        value: `${lost} / ${duplicates}`,
        target: '0 / 0',
        met: lost === 0 && duplicates === 0,
      },
      {
        section: 'load',
        figure: 'acceptance -> copy p50 / p99',
        value: `${(p50 / 1000).toFixed(2)} s / ${(p99 / 1000).toFixed(2)} s`,
        target: 'p99 < 10 s',
        met: p99 < 10_000,
      },
      {
        section: 'load',
        figure: 'pop-receipt warnings (races counted at info)',
        value: `${lines.receiptWarnings} (${races})`,
        target: '0 (counted)',
        met: lines.receiptWarnings === 0,
      },
    ];
  } finally {
    await engine.stop();
    await env.stop();
  }
}

/** The caller of postAccepted (a turn) tries again when storage did not answer; the work is idempotent. */
async function acceptWithRetries(accept: () => Promise<void>, counts: { acceptRetries: number }): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await accept();
    } catch (err) {
      if (attempt >= 20) throw err;
      counts.acceptRetries++;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}
