/**
 * What the playground walks (playgroundWalkthrough.ts, playgroundConversationWalk.ts, playgroundBulkAddWalk.ts) start with: the bot in
 * process on a loopback port with an in-memory Azurite and a log that records its warnings and errors, the Agents
 * Playground in front of it, and a Chromium page that records the page's errors and failed requests. Plus the
 * helpers each walk drives the chat with.
 */
import { createWriteStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser, Locator, Page } from 'playwright-core';
import { createLogger } from '../../src/logger';
import { startApp, type RunningApp } from '../../src/app';
import { stopSharedAzurite, uniquePrefix } from '../helpers/azurite';
import { testAppConfig } from '../helpers/testApp';
import { launchChromium } from './chromium';
import { startPlayground, stopPlayground } from './playgroundProcess';

const ROOT = path.join(__dirname, '..', '..');

/** What a walk records as it goes (its result file holds these). */
export interface WalkRecord {
  steps: Array<{ name: string; screenshot: string; atMs: number }>;
  botProblems: string[];
  pageProblems: string[];
}

/** What a walk's clean-up must stop, filled in as soon as each part is running. */
export interface HeldParts {
  app?: RunningApp;
  browser?: Browser;
}

export interface PlaygroundSessionOptions {
  record: WalkRecord;
  held: HeldParts;
  /** The bot's log file. */
  botLogFile: string;
  screenshots: string;
  /** Screenshot names start with this (a walk clears only its own). */
  screenshotPrefix?: string;
  stepTimeoutMs: number;
  startedAt: number;
  log: (message: string) => void;
}

export interface PlaygroundSession {
  app: RunningApp;
  page: Page;
  pgPort: number;
  pgUrl: string;
  /** Every Adaptive Card the chat shows. */
  cards: Locator;
  /** A numbered screenshot, recorded as a step. */
  screenshot(name: string): Promise<void>;
  /** Waits until a new card containing `text` is shown after `before` cards. */
  newCardWith(before: number, text: string | RegExp): Promise<Locator>;
  /** Types a message in the composer and sends it. */
  say(text: string): Promise<void>;
}

export async function openPlaygroundSession(options: PlaygroundSessionOptions): Promise<PlaygroundSession> {
  const { record, held, log } = options;
  const config = await testAppConfig({ LOG_LEVEL: 'info' });
  const botLog = createWriteStream(options.botLogFile);
  const logger = createLogger({
    level: 'info',
    destination: {
      write(line: string) {
        botLog.write(line);
        try {
          const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
          if ((entry.level ?? 0) >= 40) record.botProblems.push(`${entry.msg ?? ''} ${entry.err?.message ?? ''}`.trim());
        } catch {
          // not JSON
        }
      },
    },
  });
  const app = await startApp(config, { logger, tablePrefix: uniquePrefix() });
  held.app = app;
  log(`bot on ${app.url}`);

  const pgPort = await startPlayground(app.url, log);
  const pgUrl = `http://127.0.0.1:${pgPort}`;
  log(`playground on ${pgUrl}`);
  const browser = await launchChromium();
  held.browser = browser;
  const context = await browser.newContext({ viewport: { width: 1360, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(options.stepTimeoutMs);
  page.on('console', (m) => {
    const where = m.location().url;
    if (
      m.type() === 'error' &&
      !/cdn\.office\.net|ERR_INTERNET_DISCONNECTED|ERR_NAME_NOT_RESOLVED|favicon\.ico/.test(`${m.text()} ${where}`)
    ) {
      record.pageProblems.push(`${m.text()}${where ? ` (${where})` : ''}`);
    }
  });
  page.on('pageerror', (err) => record.pageProblems.push(err.message));
  page.on('response', (r) => {
    if (r.status() >= 400) record.pageProblems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
  });

  let shot = 0;
  const cards = page.locator('.ac-adaptiveCard');
  return {
    app,
    page,
    pgPort,
    pgUrl,
    cards,
    async screenshot(name) {
      const file = path.join(options.screenshots, `${options.screenshotPrefix ?? ''}${String(++shot).padStart(2, '0')}-${name}.png`);
      await page.screenshot({ path: file });
      record.steps.push({ name, screenshot: path.relative(ROOT, file), atMs: Date.now() - options.startedAt });
      log(`step ${name}`);
    },
    async newCardWith(before, text) {
      const card = cards.filter({ hasText: text }).last();
      await card.waitFor();
      await page.waitForFunction((n) => document.querySelectorAll('.ac-adaptiveCard').length > n, before);
      return card;
    },
    async say(text) {
      const composer = page.locator('[role=textbox], [contenteditable=true]').first();
      await composer.click();
      await page.keyboard.type(text);
      await page.keyboard.press('Enter');
    },
  };
}

/** What a walk's result file holds beyond its record: whether it got to the end, and how long it took. */
export interface WalkOutcome extends WalkRecord {
  ok: boolean;
  error?: string;
  durationMs: number;
}

/** What runWalkProcess hands a walk: its arguments, the parts to stop, and its log. */
export interface WalkProcess {
  args: { screenshots?: string; result?: string };
  held: HeldParts;
  started: number;
  log(message: string): void;
}

/**
 * A walk as the process the browser tests spawn inside `unshare -n` (see networkNamespace.ts): its arguments
 * (`--screenshots`, `--result`, `--watch-stdin`: stop when the test that spawned it goes away), the clean-up of
 * whatever it started (also on SIGTERM/SIGINT), and the result file written whether the walk ends or fails.
 */
export function runWalkProcess(name: string, resultFile: string, result: WalkOutcome, walk: (p: WalkProcess) => Promise<void>): void {
  const { values: args } = parseArgs({
    options: {
      screenshots: { type: 'string', default: path.join(ROOT, 'build', 'screenshots') },
      result: { type: 'string', default: path.join(ROOT, 'build', 'playground', resultFile) },
      'watch-stdin': { type: 'boolean', default: false },
    },
  });
  const started = Date.now();
  /** What the clean-up stops, filled in as each part starts. */
  const held: HeldParts = {};
  const log = (message: string) => process.stderr.write(`[${name} +${Date.now() - started}ms] ${message}\n`);
  let cleaning: Promise<void> | undefined;
  const cleanUp = (): Promise<void> =>
    (cleaning ??= (async () => {
      await held.browser?.close().catch(() => undefined);
      await stopPlayground().catch(() => undefined);
      await held.app?.stop().catch(() => undefined);
      await stopSharedAzurite().catch(() => undefined);
    })());
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void cleanUp().then(() => process.exit(1)));
  if (args['watch-stdin']) {
    process.stdin.on('end', () => void cleanUp().then(() => process.exit(1))); // the test went away
    process.stdin.resume();
  }
  walk({ args, held, started, log })
    .catch((err: unknown) => {
      result.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      log(`failed: ${result.error}`);
    })
    .finally(async () => {
      result.durationMs = Date.now() - started;
      try {
        writeFileSync(args.result!, JSON.stringify(result, null, 2));
      } catch (err) {
        log(`cannot write the result: ${String(err)}`);
        process.exitCode = 2;
      }
      await cleanUp();
      process.exit(process.exitCode ?? 0);
    });
}
