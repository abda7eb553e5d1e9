/**
 * Issue 21 measuring aid, apart from `npm run bench -- turns`: the floor bot's turns and this bot's, in one process
 * with the app on embedded Azurite, as in the bench.
 *
 * - `npx tsx bench/turnsCpu.ts ratio [rounds] [turns]`: the two kinds interleaved in rounds (order alternating), so
 *   that a shared machine's changing load falls on both; prints the rate ratio and this process's CPU per turn.
 * - `npx tsx bench/turnsCpu.ts profile floor|bot [turns] [file]`: one kind only, with a V8 CPU profile of the
 *   measured turns written to `file` (warm-up left out), and the CPU per turn of this process and of its children.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { startApp } from '../src/app';
import { freeLoopbackPort } from '../src/storage/embeddedAzurite';
import { FakeChannel } from '../test/helpers/fakeChannel';
import { messageActivity, testUser } from '../test/helpers/activities';
import { startFloorBot } from './floorBot';
import { fmt, postJson, runConcurrent } from './lib';

type Kind = 'floor' | 'bot';
const IN_FLIGHT = 10;

/** CPU seconds used so far by this process's children (the Azurite processes), from /proc. */
function childCpuSeconds(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended meanwhile.
    }
  }
  return ticks / 100;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

async function withBots(run: (send: (kind: Kind) => (i: number, worker: number) => Promise<void>) => Promise<void>): Promise<void> {
  const channel = await new FakeChannel().start();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kaizala-turns-cpu-'));
  const config = loadConfig({ PORT: String(await freeLoopbackPort()), DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const app = await startApp(config, { logger: createLogger({ level: 'silent' }) });
  const floor = await startFloorBot(app.tables);
  const users = { floor: Array.from({ length: IN_FLIGHT }, () => testUser()), bot: Array.from({ length: IN_FLIGHT }, () => testUser()) };
  const perWorker = new Array<number>(IN_FLIGHT).fill(0);
  try {
    // As in the bench: this bot's conversations alternate `new group` and `cancel`, so every turn writes state.
    await run((kind) => async (_i, worker) => {
      const text = kind === 'floor' ? 'hello' : perWorker[worker]!++ % 2 === 0 ? 'new group' : 'cancel';
      const url = kind === 'floor' ? floor.url : app.url;
      const activity = messageActivity(channel.serviceUrl, users[kind][worker]!, { text, id: randomUUID() });
      const status = await postJson(`${url}/api/messages`, activity);
      if (status !== 200) throw new Error(`${kind} answered ${status}`);
    });
  } finally {
    await floor.stop();
    await app.stop();
    await channel.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function ratio(rounds: number, perRound: number): Promise<void> {
  await withBots(async (send) => {
    await runConcurrent(1_000, IN_FLIGHT, send('floor'));
    await runConcurrent(1_000, IN_FLIGHT, send('bot'));
    const total = { floor: { ms: 0, cpu: 0 }, bot: { ms: 0, cpu: 0 } };
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const rate = { floor: 0, bot: 0 };
      for (const kind of round % 2 ? (['bot', 'floor'] as const) : (['floor', 'bot'] as const)) {
        const cpu = process.cpuUsage();
        const started = performance.now();
        await runConcurrent(perRound, IN_FLIGHT, send(kind));
        const ms = performance.now() - started;
        total[kind].ms += ms;
        total[kind].cpu += cpuMs(cpu);
        rate[kind] = perRound / ms;
      }
      ratios.push(rate.bot / rate.floor);
    }
    const turns = rounds * perRound;
    const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!;
    console.log(`bot/floor turns/s ${(total.floor.ms / total.bot.ms).toFixed(3)} (median round ${median.toFixed(3)})`);
    console.log(
      `CPU of this process a turn: floor ${(total.floor.cpu / turns).toFixed(3)} ms, bot ${(total.bot.cpu / turns).toFixed(3)} ms ` +
        `(floor / bot ${(total.floor.cpu / total.bot.cpu).toFixed(3)})`,
    );
  });
}

async function profile(kind: Kind, turns: number, file: string | undefined): Promise<void> {
  await withBots(async (send) => {
    await runConcurrent(1_500, IN_FLIGHT, send(kind));
    const session = file ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 250 });
      await session.post('Profiler.start');
    }
    const cpu = process.cpuUsage();
    const children = childCpuSeconds();
    const stats = await runConcurrent(turns, IN_FLIGHT, send(kind));
    const ms = cpuMs(cpu);
    const childMs = (childCpuSeconds() - children) * 1000;
    if (session && file) writeFileSync(file, JSON.stringify((await session.post('Profiler.stop')).profile));
    console.log(`${kind}: ${fmt(stats)}`);
    console.log(`CPU a turn: this process ${(ms / turns).toFixed(3)} ms, Azurite ${(childMs / turns).toFixed(3)} ms`);
  });
}

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'ratio') void ratio(Number(a ?? 8), Number(b ?? 400));
else if (mode === 'profile' && (a === 'floor' || a === 'bot')) void profile(a, Number(b ?? 4_000), c);
else console.error('usage: bench/turnsCpu.ts ratio [rounds] [turns] | profile floor|bot [turns] [file]');
