import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { startApp } from '../src/app';
import { freeLoopbackPort } from '../src/storage/embeddedAzurite';
import { FakeChannel } from '../test/helpers/fakeChannel';
import { messageActivity, testUser } from '../test/helpers/activities';
import { startEchoBot } from './echoBot';
import { startFloorBot } from './floorBot';
import { fmt, postJson, runConcurrent, startBenchAzurite, type RunStats } from './lib';
import { startCountingProxy } from './countingProxy';

const CONVERSATIONS = 10;
const WARM_UP = 1_000;

/**
 * Turn rate of this bot against a plain echo bot on the same stack, 10 conversations in flight. Our turn is a
 * real one that loads and saves dialog state on embedded Azurite: `new group` starts the create-group dialog
 * (state written), `cancel` ends it (state written again).
 */
export async function benchTurns(
  turns: number,
): Promise<{ echo: RunStats; floor: RunStats; bot: RunStats; ratio: number; floorRatio: number }> {
  const channel = await new FakeChannel().start();
  const echo = await startEchoBot();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kaizala-bench-'));
  const port = await freeLoopbackPort();
  const config = loadConfig({ PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const app = await startApp(config, { logger: createLogger({ level: 'silent' }) });
  const floor = await startFloorBot(app.tables);
  try {
    const users = Array.from({ length: CONVERSATIONS }, () => testUser());
    // Conversations of its own: the floor bot's state rows must not be the app's dialog state.
    const floorUsers = Array.from({ length: CONVERSATIONS }, () => testUser());
    const send = (url: string, text: string, worker: number, who = users) =>
      postJson(`${url}/api/messages`, messageActivity(channel.serviceUrl, who[worker]!, { text, id: randomUUID() }));

    // Warm all three up (JIT, connection pools, tables) before measuring. 100 turns each, as this bench once did,
    // left them still warming while measured: the echo bot, measured first, gained least, and the ratio read
    // 0.05-0.1 higher than in a steady state.
    await runConcurrent(WARM_UP, CONVERSATIONS, (i, w) => send(echo.url, `warm ${i}`, w).then(() => undefined));
    await runConcurrent(WARM_UP, CONVERSATIONS, (i, w) => send(floor.url, `warm ${i}`, w, floorUsers).then(() => undefined));
    await runConcurrent(WARM_UP, CONVERSATIONS, (i, w) => send(app.url, i % 2 ? 'cancel' : 'new group', w).then(() => undefined));

    const echoStats = await runConcurrent(turns, CONVERSATIONS, async (i, w) => {
      const status = await send(echo.url, `hello ${i}`, w);
      if (status !== 200) throw new Error(`echo bot answered ${status}`);
    });
    const floorStats = await runConcurrent(turns, CONVERSATIONS, async (i, w) => {
      const status = await send(floor.url, `hello ${i}`, w, floorUsers);
      if (status !== 200) throw new Error(`floor bot answered ${status}`);
    });
    // Each worker alternates, so every conversation's dialog state is written on every turn.
    const perWorker = new Array<number>(CONVERSATIONS).fill(0);
    const botStats = await runConcurrent(turns, CONVERSATIONS, async (_i, w) => {
      const text = perWorker[w]!++ % 2 === 0 ? 'new group' : 'cancel';
      const status = await send(app.url, text, w);
      if (status !== 200) throw new Error(`bot answered ${status}`);
    });
    console.log(`  echo bot (restify + CloudAdapter, no storage): ${fmt(echoStats)}`);
    console.log(`  floor (echo bot + the 4 storage calls every turn makes, nothing else): ${fmt(floorStats)}`);
    console.log(`  this bot (dialog turn, state on embedded Azurite): ${fmt(botStats)}`);
    const ratio = botStats.ratePerSecond / echoStats.ratePerSecond;
    const floorRatio = floorStats.ratePerSecond / echoStats.ratePerSecond;
    console.log(`  ratio floor / echo bot: ${floorRatio.toFixed(2)} (the most any turn with these storage calls can reach)`);
    console.log(
      `  ratio this bot / echo bot: ${ratio.toFixed(2)} (target >= 0.5); this bot / floor: ${(botStats.ratePerSecond / floorStats.ratePerSecond).toFixed(2)}`,
    );
    return { echo: echoStats, floor: floorStats, bot: botStats, ratio, floorRatio };
  } finally {
    await floor.stop();
    await app.stop();
    await echo.stop();
    await channel.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export interface LatencyFigures {
  delayMs: number;
  echo: RunStats;
  floor: { fast: RunStats; delayed: RunStats };
  bot: { fast: RunStats; delayed: RunStats };
  /** Storage round trips that stand in a row before the reply: the added p50 over the delay (rounded). */
  floorInARow: number;
  botInARow: number;
}

/**
 * Issue 21: what a storage round trip's network time does to a turn. On this machine every storage call is a
 * loopback call; on Azure each is several milliseconds, and what decides a reply's latency is how many stand in
 * a row. The counting proxy adds `delayMs` to each call; the turns run 4 in flight (latency, not throughput), with
 * no delay and then with it, so (p50 with - p50 without) / delay is the number of calls in a row.
 */
export async function benchTurnLatency(delayMs: number, turns: number): Promise<LatencyFigures> {
  const azurite = await startBenchAzurite();
  const proxy = await startCountingProxy(azurite.port, 'lat');
  const channel = await new FakeChannel().start();
  const echo = await startEchoBot();
  const port = await freeLoopbackPort();
  const connectionString = `${proxy.connectionString}QueueEndpoint=http://127.0.0.1:${azurite.queuePort}/devstoreaccount1;`;
  const config = loadConfig({ PORT: String(port), STORAGE_CONNECTION_STRING: connectionString, LOG_LEVEL: 'silent' });
  const app = await startApp(config, { logger: createLogger({ level: 'silent' }), tablePrefix: 'lat' });
  const floor = await startFloorBot(app.tables);
  const inFlight = 4;
  try {
    const users = Array.from({ length: inFlight }, () => testUser());
    const floorUsers = Array.from({ length: inFlight }, () => testUser());
    const send = (url: string, text: string, worker: number, who = users) =>
      postJson(`${url}/api/messages`, messageActivity(channel.serviceUrl, who[worker]!, { text, id: randomUUID() }));
    const perWorker = new Array<number>(inFlight).fill(0);
    const run = (what: 'echo' | 'floor' | 'bot', count: number) =>
      runConcurrent(count, inFlight, async (i, w) => {
        const status =
          what === 'echo'
            ? await send(echo.url, `hello ${i}`, w)
            : what === 'floor'
              ? await send(floor.url, `hello ${i}`, w, floorUsers)
              : await send(app.url, perWorker[w]!++ % 2 === 0 ? 'new group' : 'cancel', w);
        if (status !== 200) throw new Error(`${what} answered ${status}`);
      });
    for (const what of ['echo', 'floor', 'bot'] as const) await run(what, 300); // warm up
    const echoStats = await run('echo', turns);
    // Storage requests a turn, per operation (the done mark and the background work of the app included).
    const counted = async (what: 'floor' | 'bot') => {
      await proxy.snapshot(true);
      const stats = await run(what, turns);
      const counts = await proxy.snapshot(true);
      const perTurn = Object.entries(counts.byOperation)
        .map(([op, n]) => `${op} ${(n / turns).toFixed(2)}`)
        .join(', ');
      console.log(`  ${what} storage requests a turn: ${(counts.total / turns).toFixed(2)} (${perTurn})`);
      return stats;
    };
    const floorFast = await counted('floor');
    const botFast = await counted('bot');
    proxy.setDelay(delayMs);
    await run('floor', 50);
    await run('bot', 50);
    const floorDelayed = await run('floor', turns);
    const botDelayed = await run('bot', turns);
    const inARow = (fast: RunStats, delayed: RunStats) => Math.round((delayed.p50Ms - fast.p50Ms) / delayMs);
    const figures: LatencyFigures = {
      delayMs,
      echo: echoStats,
      floor: { fast: floorFast, delayed: floorDelayed },
      bot: { fast: botFast, delayed: botDelayed },
      floorInARow: inARow(floorFast, floorDelayed),
      botInARow: inARow(botFast, botDelayed),
    };
    console.log(`  echo bot: ${fmt(echoStats)}`);
    console.log(`  floor, no delay: ${fmt(floorFast)}; with ${delayMs} ms a call: ${fmt(floorDelayed)}`);
    console.log(`  this bot, no delay: ${fmt(botFast)}; with ${delayMs} ms a call: ${fmt(botDelayed)}`);
    console.log(
      `  storage calls in a row before the reply: floor ${figures.floorInARow}, this bot ${figures.botInARow}; ` +
        `this bot's p50 / floor's p50 with the delay: ${(botDelayed.p50Ms / floorDelayed.p50Ms).toFixed(2)} (target <= 1.15)`,
    );
    return figures;
  } finally {
    await floor.stop();
    await app.stop();
    await echo.stop();
    await channel.stop();
    await proxy.close();
    await azurite.stop();
  }
}
