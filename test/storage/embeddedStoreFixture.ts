import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EMBEDDED_AUTOSAVE_MS, freeLoopbackPort } from '../../src/storage/embeddedAzurite';
import { FakeChannel } from '../helpers/fakeChannel';
import { startBot, stopBot, type BotProcess } from '../helpers/botProcess';

/**
 * A write is on disk at most one save interval after it was acknowledged, plus the time a save takes (a few ms
 * for a store this small) and the lateness of a timer on a busy machine.
 */
export const SAVED_AFTER_MS = EMBEDDED_AUTOSAVE_MS + 1_000;
export const STORM = { joiners: 300, inFlight: 20 };

/** Set SHOW_FIGURES=1 to print what the crash tests measured (losses, restart times). */
export function figure(text: string): void {
  if (process.env.SHOW_FIGURES) console.log(`      ${text}`);
}

export interface EmbeddedStoreFixture {
  /** A fresh data folder for each test. */
  readonly dataDir: string;
  readonly channel: FakeChannel;
  /** A free port for the bot, the same for every start within a test. */
  readonly port: number;
  /** Processes a test stopped or must see gone: continued and killed after the test, whatever happened. */
  readonly leftovers: number[];
  /** `npm start` on the test's data folder and port; stopped after the test. */
  start(options?: { detached?: boolean }): Promise<BotProcess>;
}

/**
 * The process-level embedded store tests' fixture (the bot as npm start runs it, on a fresh data folder): call it
 * inside a describe; it registers the beforeEach/afterEach hooks. The tests are spread over several files so that
 * mocha's parallel workers share them out.
 */
export function embeddedStoreFixture(): EmbeddedStoreFixture {
  let dataDir = '';
  let channel: FakeChannel | undefined;
  let port = 0;
  const bots: BotProcess[] = [];
  const leftovers: number[] = [];

  beforeEach(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'kaizala-store-'));
    channel = await new FakeChannel().start();
    port = await freeLoopbackPort();
  });

  afterEach(async () => {
    for (const pid of leftovers.splice(0)) {
      for (const signal of ['SIGCONT', 'SIGKILL'] as const) {
        try {
          process.kill(pid, signal);
        } catch {
          // already gone
        }
      }
    }
    for (const bot of bots.splice(0)) await stopBot(bot);
    await channel?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  return {
    get dataDir() {
      return dataDir;
    },
    get channel() {
      return channel!;
    },
    get port() {
      return port;
    },
    leftovers,
    async start(options = {}) {
      const bot = await startBot(dataDir, port, options);
      bots.push(bot);
      return bot;
    },
  };
}
