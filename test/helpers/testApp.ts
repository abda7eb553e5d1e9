import { Writable } from 'node:stream';
import { loadConfig, type AppConfig } from '../../src/config';
import { createLogger, type Logger } from '../../src/logger';
import { startApp, type AppOptions, type RunningApp } from '../../src/app';
import { freeLoopbackPort } from '../../src/storage/embeddedAzurite';
import { sharedAzurite, uniquePrefix } from './azurite';
import { FakeChannel } from './fakeChannel';

export interface TestApp {
  app: RunningApp;
  config: AppConfig;
  channel: FakeChannel;
  /** Every log line the app wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  post(activity: Record<string, unknown>, headers?: Record<string, string>): Promise<{ status: number; body: string; json?: unknown }>;
  stop(): Promise<void>;
}

/** A log destination that keeps lines in memory, so tests can read what was logged (and what was not). */
export function memoryLogger(): { logger: Logger; logs: Array<Record<string, unknown>> } {
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), logs };
}

/** What a test may pass to startApp besides the logger and table prefix (e.g. photoFetchOptions). */
export type TestAppOptions = Omit<AppOptions, 'logger' | 'tablePrefix'>;

/** The config of a bot in a test: a free loopback port, the shared Azurite, `env` on top. */
export async function testAppConfig(env: Record<string, string> = {}): Promise<AppConfig> {
  const azurite = await sharedAzurite();
  const port = await freeLoopbackPort();
  return loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    STORAGE_CONNECTION_STRING: azurite.connectionString,
    NODE_ENV: 'test',
    ...env,
  });
}

/**
 * The whole bot, in process, on the shared Azurite (own table prefix), listening on a free loopback port, with
 * a fake channel for its replies.
 */
export async function startTestApp(env: Record<string, string> = {}, appOptions: TestAppOptions = {}): Promise<TestApp> {
  const config = await testAppConfig({ LOG_LEVEL: 'debug', ...env });
  const { logger, logs } = memoryLogger();
  const channel = await new FakeChannel().start();
  const app = await startApp(config, { ...appOptions, logger, tablePrefix: uniquePrefix() });
  return {
    app,
    config,
    channel,
    logs,
    async post(activity, headers = {}) {
      const res = await fetch(`${app.url}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(activity),
      });
      const body = await res.text();
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, body, json };
    },
    async stop() {
      await app.stop();
      await channel.stop();
    },
  };
}
