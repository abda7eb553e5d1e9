import { fork } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BotFrameworkSender } from '../src/delivery/botFrameworkSender';
import { QueueDeliveryEngine } from '../src/delivery/engine';
import type { Recipient } from '../src/delivery/ports';
import type { WorkBody } from '../src/delivery/workBody';
import { WorkQueue } from '../src/delivery/workQueue';
import { createLogger } from '../src/logger';
import { startEmbeddedAzurite } from '../src/storage/embeddedAzurite';
import type { SupervisionOptions } from '../src/storage/azuriteSupervisor';
import { createTableClients, ensureTables, type TableClients } from '../src/storage/tables';
import { MemoryFanout } from '../test/helpers/memoryFanout';
import { startCountingProxy } from './countingProxy';
import type { Verdict } from './lib';
import { maxInWindow, RemoteChannel, type ChannelCall } from './remoteChannel';
import { burst, twoPosts } from './fanoutWaves';

/**
 * `npm run bench -- fanout`: the delivery engine against real Azurite (tables and queue, through counting
 * proxies) and a fake Teams channel that enforces a per-tenant token bucket and the per-conversation windows.
 * The fake channel and the counting proxies run on their own threads, so "CPU ms per copy" is close to the
 * bot's own (the Azurite children are separate processes).
 */
const TENANT = 'tenant-bench';
const TENANT_LIMIT = 200;
const BUDGET = 190;

export interface Env {
  channel: RemoteChannel;
  source: MemoryFanout;
  tables: TableClients;
  connectionString: string;
  queueName: string;
  snapshot(): Promise<number>;
  stop(): Promise<void>;
}

/** `supervision`: how patient the supervisor is with a busy storage child (an in-memory one replaced starts empty). */
export async function startEnv(supervision?: SupervisionOptions): Promise<Env> {
  const azurite = await startEmbeddedAzurite({ queue: true, supervision });
  const tableProxy = await startCountingProxy(azurite.port);
  const queueProxy = await startCountingProxy(azurite.queuePort!);
  const queuePort = /TableEndpoint=http:\/\/127\.0\.0\.1:(\d+)/.exec(queueProxy.connectionString)![1];
  const connectionString = `${tableProxy.connectionString}QueueEndpoint=http://127.0.0.1:${queuePort}/devstoreaccount1;`;
  const tables = createTableClients({ connectionString, prefix: 'fanout' });
  await ensureTables(tables);
  const channel = await RemoteChannel.start({ tenantRps: TENANT_LIMIT, retryAfterSeconds: 1 });
  return {
    channel,
    source: new MemoryFanout(),
    tables,
    connectionString,
    queueName: 'fanout-bench',
    async snapshot() {
      const [t, q] = await Promise.all([tableProxy.snapshot(), queueProxy.snapshot()]);
      return t.total + q.total;
    },
    async stop() {
      await channel.stop();
      await Promise.all([tableProxy.close(), queueProxy.close()]);
      await azurite.stop();
    },
  };
}

function engine(env: Env, name: string): QueueDeliveryEngine {
  const logger = createLogger({ level: 'error' });
  return new QueueDeliveryEngine({
    source: env.source,
    render: env.source.render,
    sender: new BotFrameworkSender({ allowedServiceUrlHosts: [], allowLoopback: true }),
    tables: { deliveries: env.tables.deliveries, outbox: env.tables.outbox, lanes: env.tables.lanes },
    queue: new WorkQueue<WorkBody>({ connectionString: env.connectionString, name: env.queueName, logger, visibilitySeconds: 30 }),
    logger,
    tenantBudgetRps: BUDGET,
    instanceId: name,
    pollMs: 200,
  });
}

export function addMembers(env: Env, groupId: string, count: number, tenant = TENANT): Recipient[] {
  const joinedAt = new Date(Date.now() - 3_600_000).toISOString();
  const out: Recipient[] = [];
  for (let i = 0; i < count; i++) {
    const userId = `${groupId}-u${String(i).padStart(6, '0')}`;
    const r = { userId, tenantId: tenant, conversationRef: env.channel.ref(userId, tenant), muted: false, joinedAt };
    env.source.addMember(groupId, r);
    out.push(r);
  }
  return out;
}

async function waitForCopies(env: Env, prefix: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await env.channel.count(prefix)) < count) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} copies of ${prefix}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function copies(calls: ChannelCall[], groupId: string, seq: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const call of calls) {
    if (call.method === 'POST' && call.text.startsWith(`${groupId}#${seq} `))
      counts.set(call.conversationId, (counts.get(call.conversationId) ?? 0) + 1);
  }
  return counts;
}

/** One post to `recipients` members: time, 429s, lost, duplicates, requests and CPU per copy. */
async function onePost(env: Env, groupId: string, recipients: number, engines: QueueDeliveryEngine[]) {
  const members = addMembers(env, groupId, recipients + 1);
  env.source.addPost({ groupId, seq: 1, senderUserId: members[0]!.userId, text: 'to everyone' });
  const throttledBefore = (await env.channel.dump()).throttled.length;
  const requestsBefore = await env.snapshot();
  const cpuBefore = process.cpuUsage();
  const t0 = performance.now();
  await engines[0]!.postAccepted(groupId, 1);
  await waitForCopies(env, `${groupId}#1 `, recipients, 600_000);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  // Let the last outcomes reach the tables before counting and checking for repeats.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const requests = (await env.snapshot()) - requestsBefore;
  const dump = await env.channel.dump();
  const got = copies(dump.accepted, groupId, 1);
  const duplicates = [...got.values()].reduce((sum, n) => sum + n - 1, 0);
  const throttled = dump.throttled.length - throttledBefore;
  const sends = [...got.values()].reduce((a, b) => a + b, 0) + throttled;
  const times = dump.accepted.filter((c) => c.text.startsWith(`${groupId}#1 `)).map((c) => c.at);
  const gaps = times
    .slice(1)
    .map((t, i) => t - times[i]!)
    .filter((g) => g >= 50);
  console.log(`    gaps of 50 ms or more between sends: ${gaps.length}, ${gaps.reduce((a, b) => a + b, 0)} ms in all`);
  return {
    seconds,
    floor: recipients / BUDGET,
    lost: recipients - got.size,
    duplicates,
    throttledShare: throttled / Math.max(1, sends),
    throttled,
    requestsPerCopy: requests / got.size,
    cpuMsPerCopy: (cpu.user + cpu.system) / 1000 / got.size,
    maxPerSecond: maxInWindow(dump.accepted, TENANT, 1_000),
  };
}

function child(env: Env, groupId: string, members: number, accept: boolean) {
  return fork(path.join(__dirname, 'fanoutChild.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      FANOUT_CS: env.connectionString,
      FANOUT_QUEUE: env.queueName,
      FANOUT_PREFIX: 'fanout',
      FANOUT_SERVICE_URL: env.channel.serviceUrl,
      FANOUT_GROUP: groupId,
      FANOUT_MEMBERS: String(members),
      FANOUT_TENANT: TENANT,
      FANOUT_BUDGET: String(BUDGET),
      FANOUT_ACCEPT: accept ? '1' : '0',
    },
  });
}

async function killAndRestart(env: Env, groupId: string, recipients: number) {
  const first = child(env, groupId, recipients + 1, true);
  await waitForCopies(env, `${groupId}#1 `, Math.floor(recipients / 2), 300_000);
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  const atKill = await env.channel.count(`${groupId}#1 `);
  const t0 = performance.now();
  const second = child(env, groupId, recipients + 1, false);
  try {
    await waitForCopies(env, `${groupId}#1 `, recipients, 300_000);
    const restartSeconds = (performance.now() - t0) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const got = copies((await env.channel.dump()).accepted, groupId, 1);
    return { atKill, restartSeconds, lost: recipients - got.size, duplicates: [...got.values()].reduce((sum, n) => sum + n - 1, 0) };
  } finally {
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));
  }
}

export async function benchFanout(recipients = 4_000): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  // Patient with a busy storage child, as load.ts is: on a loaded machine an in-memory child replaced would come
  // back empty (its tables gone) in the middle of a figure.
  const env = await startEnv({ intervalMs: 5_000, probeTimeoutMs: 5_000, failures: 12 });
  try {
    // 1. One instance, one post.
    const single = engine(env, 'one');
    await single.start();
    console.log(`  one post to ${recipients} members, tenant limit ${TENANT_LIMIT}/s, budget ${BUDGET}/s, one instance`);
    const a = await onePost(env, 'big1', recipients, [single]);
    const ratio = a.floor / a.seconds;
    console.log(
      `    ${a.seconds.toFixed(1)} s (floor ${a.floor.toFixed(1)} s, ratio ${ratio.toFixed(2)}); 429s ${a.throttled} (${(a.throttledShare * 100).toFixed(2)}%); lost ${a.lost}; duplicates ${a.duplicates}; peak ${a.maxPerSecond}/s`,
    );
    console.log(`    storage requests per copy ${a.requestsPerCopy.toFixed(3)}; bot CPU ms per copy ${a.cpuMsPerCopy.toFixed(2)}`);
    verdicts.push({
      section: 'fanout',
      figure: 'floor / actual, 4,000 members',
      value: ratio.toFixed(2),
      target: '>= 0.9',
      met: ratio >= 0.9,
    });
    verdicts.push({
      section: 'fanout',
      figure: '429s / sends',
      value: `${(a.throttledShare * 100).toFixed(2)}%`,
      target: '<= 1%',
      met: a.throttledShare <= 0.01,
    });
    verdicts.push({
      section: 'fanout',
      figure: 'lost / duplicates',
      value: `${a.lost} / ${a.duplicates}`,
      target: '0 / 0',
      met: a.lost === 0 && a.duplicates === 0,
    });
    verdicts.push({
      section: 'fanout',
      figure: 'table+queue requests per copy',
      value: a.requestsPerCopy.toFixed(3),
      target: '<= 1.5',
      met: a.requestsPerCopy <= 1.5,
    });
    verdicts.push({ section: 'fanout', figure: 'bot CPU ms per copy', value: a.cpuMsPerCopy.toFixed(2), target: '(none)', met: undefined });
    const tenK = 10_000 / 40 / Math.min(1, ratio);
    verdicts.push({
      section: 'fanout',
      figure: 'computed: 10,000 members at 40/s',
      value: `${(tenK / 60).toFixed(1)} min`,
      target: '(floor 4.2 min)',
      met: undefined,
    });

    // 2. Two instances on one storage.
    const second = engine(env, 'two');
    await second.start();
    console.log(`  the same with two instances on one storage`);
    const sendsBefore = [single.stats.sends, second.stats.sends];
    const b = await onePost(env, 'big2', recipients, [second, single]);
    console.log(
      `    sends by instance: ${single.stats.sends - sendsBefore[0]!} and ${second.stats.sends - sendsBefore[1]!} (one lane holder at a time)`,
    );
    const ratioB = b.floor / b.seconds;
    console.log(
      `    ${b.seconds.toFixed(1)} s (ratio ${ratioB.toFixed(2)}); 429s ${b.throttled}; lost ${b.lost}; duplicates ${b.duplicates}; peak ${b.maxPerSecond}/s (limit ${TENANT_LIMIT})`,
    );
    // The channel's limit is its token bucket (200/s, burst 20): a 429 is a send above it. The busiest 1 s window
    // is shown too; it is taken from arrival times at the channel, so it includes network and scheduling jitter.
    verdicts.push({
      section: 'fanout',
      figure: 'two instances: 429s (busiest 1 s window)',
      value: `${b.throttled} (${b.maxPerSecond}/s)`,
      target: `0 (bucket ${TENANT_LIMIT}/s)`,
      met: b.throttled === 0,
    });
    verdicts.push({
      section: 'fanout',
      figure: 'two instances: lost / duplicates',
      value: `${b.lost} / ${b.duplicates}`,
      target: '0 / 0',
      met: b.lost === 0 && b.duplicates === 0,
    });

    // 3. A burst in a small group, and two posts 2 s apart to a large one (issue 21: waves per recipient).
    const waves = {
      env,
      engine: single,
      budget: BUDGET,
      addMembers: (groupId: string, count: number) => addMembers(env, groupId, count),
      waitForCopies: (prefix: string, count: number, timeoutMs: number) => waitForCopies(env, prefix, count, timeoutMs),
    };
    verdicts.push(...(await burst(waves)));
    verdicts.push(...(await twoPosts(waves, recipients)));

    await Promise.all([single.stop(), second.stop()]);

    // 4. SIGKILL of the bot at about half of a fan-out, then a restart on the same storage.
    console.log(`  SIGKILL at about half of a ${recipients}-member fan-out, restart`);
    const k = await killAndRestart(env, 'killed', recipients);
    console.log(
      `    killed after ${k.atKill} copies; restart finished in ${k.restartSeconds.toFixed(1)} s; lost ${k.lost}; duplicates ${k.duplicates} (in flight or unrecorded at the kill: at most 32 + 25)`,
    );
    verdicts.push({
      section: 'fanout',
      figure: 'SIGKILL mid fan-out: lost / duplicates',
      value: `${k.lost} / ${k.duplicates}`,
      target: '0 / <= in flight',
      met: k.lost === 0 && k.duplicates <= 57,
    });
  } finally {
    await env.stop();
  }
  return verdicts;
}
