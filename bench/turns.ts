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
import { fmt, postJson, runConcurrent, type RunStats } from './lib';

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
