import { randomUUID } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { JWTPayload } from 'jose';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { startApp, type RunningApp } from '../src/app';
import { freeLoopbackPort, type EmbeddedAzurite } from '../src/storage/embeddedAzurite';
import { emulatorIssuerCount } from '../src/auth/channelAuth';
import { FakeChannel } from '../test/helpers/fakeChannel';
import { FakeBotFramework } from '../test/helpers/fakeBotFramework';
import { newSigningKey, signJwt, type SigningKey } from '../test/helpers/fakeEntra';
import { messageActivity, testUser, type TestUser } from '../test/helpers/activities';
import { fmt, postJson, runConcurrent, startBenchAzurite, type RunStats } from './lib';

const IN_FLIGHT = 10;
const APP_ID = '00000000-0000-4000-8000-0000000b3c4e';
const APP_PASSWORD = 'bench-password-not-a-secret';
const HEAP_TARGET_BYTES = 1024 * 1024;

/** Two copies of the bot on one Azurite: `open` without an app id (auth off), `guarded` with channel auth on. */
export interface AuthBenchEnv {
  channel: FakeChannel;
  botFramework: FakeBotFramework;
  open: RunningApp;
  guarded: RunningApp;
  /** A valid channel token for the fake channel's serviceUrl, reused as Teams reuses one for its lifetime. */
  channelToken: string;
  stop(): Promise<void>;
}

export async function startAuthBench(): Promise<AuthBenchEnv> {
  const azurite: EmbeddedAzurite = await startBenchAzurite();
  const botFramework = await FakeBotFramework.start({ appId: APP_ID, appPassword: APP_PASSWORD });
  const channel = await new FakeChannel().start();
  const start = async (tablePrefix: string, env: Record<string, string>) =>
    startApp(
      loadConfig({
        PORT: String(await freeLoopbackPort()),
        STORAGE_CONNECTION_STRING: azurite.connectionString,
        LOG_LEVEL: 'silent',
        ...env,
      }),
      { logger: createLogger({ level: 'silent' }), tablePrefix },
    );
  const open = await start('open', {});
  const guarded = await start('guarded', { MicrosoftAppId: APP_ID, MicrosoftAppPassword: APP_PASSWORD, ...botFramework.endpoints });
  const channelToken = await botFramework.signChannelToken(botFramework.channelClaims({ serviceUrl: channel.serviceUrl, aud: APP_ID }));
  return {
    channel,
    botFramework,
    open,
    guarded,
    channelToken,
    async stop() {
      await open.stop();
      await guarded.stop();
      await channel.stop();
      await botFramework.close();
      await azurite.stop();
    },
  };
}

/** POST a `help` turn from one of the workers' users; headers carry the channel token for the guarded app. */
function helpTurn(env: AuthBenchEnv, app: RunningApp, user: TestUser, headers: Record<string, string>): Promise<number> {
  return postJson(`${app.url}/api/messages`, messageActivity(env.channel.serviceUrl, user, { text: 'help', id: randomUUID() }), headers);
}

async function turnRate(env: AuthBenchEnv, app: RunningApp, turns: number, headers: Record<string, string>): Promise<RunStats> {
  const users = Array.from({ length: IN_FLIGHT }, () => testUser());
  const repliesBefore = env.channel.sent.length;
  const stats = await runConcurrent(turns, IN_FLIGHT, async (_i, w) => {
    const status = await helpTurn(env, app, users[w]!, headers);
    if (status !== 200) throw new Error(`help turn answered ${status}`);
  });
  // Replies are sent before the turn's HTTP response, so all of them are in by now.
  const replies = env.channel.sent.length - repliesBefore;
  if (replies < turns) throw new Error(`${turns} help turns produced only ${replies} replies`);
  return stats;
}

/**
 * Issue 4, the price of authentication: the same `help` turn (dedup insert, state read and write, one reply to
 * the fake channel) without an app id, and with one and a valid RS256 channel token checked against the loopback
 * Bot Framework's JWKS (and the bot's outbound token for the reply, cached after the first).
 */
export async function benchAuthTurns(env: AuthBenchEnv, turns: number): Promise<{ open: RunStats; guarded: RunStats; ratio: number }> {
  const bearer = { authorization: `Bearer ${env.channelToken}` };
  await turnRate(env, env.open, 100, {});
  await turnRate(env, env.guarded, 100, bearer);
  const open = await turnRate(env, env.open, turns, {});
  const guarded = await turnRate(env, env.guarded, turns, bearer);
  const ratio = guarded.ratePerSecond / open.ratePerSecond;
  console.log(`  unauthenticated (no MicrosoftAppId): ${fmt(open)}`);
  console.log(`  authenticated (RS256 channel token, loopback JWKS): ${fmt(guarded)}`);
  console.log(`  ratio authenticated / unauthenticated: ${ratio.toFixed(2)}`);
  return { open, guarded, ratio };
}

// ---------------------------------------------------------------------------------------------------------------
// Forged tokens

export interface ForgedResult {
  heapBefore: number;
  heapAfter: number;
  heapGrowthBytes: number;
  issuersBefore: number;
  issuersAfter: number;
}

type Forgery = (key: SigningKey) => Promise<string>;

/**
 * The emulator-issuer attack: an unverified token whose `iss` is a v1 tenant issuer, with a new random tenant
 * every time. Without the gate, the SDK's emulator check appends 4 issuers to a module-global list per new tid.
 */
function emulatorForgery(): Forgery {
  return (key) => {
    const tid = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const claims: JWTPayload = {
      iss: `https://sts.windows.net/${tid}/`,
      tid,
      aud: APP_ID,
      appid: randomUUID(),
      ver: '1.0',
      nbf: now - 60,
      exp: now + 3600,
    };
    return signJwt(claims, key.privateKey, { kid: key.kid });
  };
}

/**
 * The channel issuer with a forged signature and a random tid: passes the gate, so the SDK verifies it. Every
 * other one names the published key's kid (the SDK runs the RSA check and fails it), the rest an unknown kid.
 */
function channelForgery(env: AuthBenchEnv): Forgery {
  let n = 0;
  return (key) => {
    const claims = env.botFramework.channelClaims({ serviceUrl: env.channel.serviceUrl, aud: APP_ID, extra: { tid: randomUUID() } });
    const kid = n++ % 2 === 0 ? env.botFramework.published.kid : key.kid;
    return signJwt(claims, key.privateKey, { kid });
  };
}

/**
 * `global.gc` under --expose-gc; otherwise the flag is switched on now and gc taken from a new context (V8 exposes
 * it to contexts created after the flag is set), so `npm run bench` needs no extra node flag.
 */
function collectGarbage(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

interface HeapFigures {
  used: number;
  /** space_used_size of old_space, code_space and large_object_space: retention shows in the first, JIT in the second. */
  bySpace: Record<string, number>;
}

const WATCHED_SPACES = ['old_space', 'code_space', 'large_object_space'];

/** heapUsed after full collections, with a macrotask between them so that pending finalizers run. */
async function settledHeap(gc: () => void): Promise<HeapFigures> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const bySpace = Object.fromEntries(
    v8
      .getHeapSpaceStatistics()
      .filter((s) => WATCHED_SPACES.includes(s.space_name))
      .map((s) => [s.space_name, s.space_used_size]),
  );
  return { used: process.memoryUsage().heapUsed, bySpace };
}

/**
 * Issue 4, abuse: 10,000 emulator-issuer forgeries and 10,000 channel-issuer forgeries against the guarded app,
 * interleaved, 10 in flight, each signed by one of a few random keys that were never published. Every one must
 * be answered 401. Heap (after forced GC) and the SDK's emulator issuer list are measured before, half-way and
 * after: a leak grows both halves alike, warm-up (JIT code, pools) only the first.
 */
export async function benchForgedTokens(env: AuthBenchEnv, perKind: number): Promise<ForgedResult> {
  const gc = collectGarbage();
  const keys = await Promise.all(Array.from({ length: 4 }, () => newSigningKey()));
  const kinds: Forgery[] = [emulatorForgery(), channelForgery(env)];
  const user = testUser('Forger');
  const unexpected = new Map<number, number>();
  let peakIssuers = emulatorIssuerCount();
  let sent = 0;

  const forge = async (i: number) => {
    const token = await kinds[i % 2]!(keys[i % keys.length]!);
    const status = await postJson(`${env.guarded.url}/api/messages`, messageActivity(env.channel.serviceUrl, user, { text: 'help' }), {
      authorization: `Bearer ${token}`,
    });
    peakIssuers = Math.max(peakIssuers, emulatorIssuerCount());
    sent++;
    if (status !== 401) unexpected.set(status, (unexpected.get(status) ?? 0) + 1);
  };

  // CloudAdapter console.error()s every refused request it sees, bypassing the app's logger; count them instead.
  const consoleError = console.error;
  let sdkErrorLines = 0;
  console.error = () => void sdkErrorLines++;
  try {
    // The refusal paths run hot before the baseline. Measured here: heap keeps growing for the first ~10,000
    // requests of ANY kind (no Authorization header too: optimized code, feedback vectors, pools), then stays
    // flat; without this warm-up that one-off growth (~1 MiB) would be counted against the forgeries.
    await runConcurrent(5_000, IN_FLIGHT, forge);
    const before = await settledHeap(gc);
    const issuersBefore = emulatorIssuerCount();
    sdkErrorLines = 0;
    const first = await runConcurrent(perKind, IN_FLIGHT, forge);
    const half = await settledHeap(gc);
    const second = await runConcurrent(perKind, IN_FLIGHT, (i) => forge(perKind + i));
    const after = await settledHeap(gc);
    const issuersAfter = emulatorIssuerCount();
    const result = {
      heapBefore: before.used,
      heapAfter: after.used,
      heapGrowthBytes: after.used - before.used,
      issuersBefore,
      issuersAfter,
    };
    report(result, [before, half, after], [first, second], peakIssuers, sdkErrorLines);
    const refused = sent - [...unexpected.values()].reduce((a, b) => a + b, 0);
    console.log(`  answered 401: ${refused} of ${sent} (warm-up included)`);
    if (unexpected.size > 0) {
      throw new Error(`forged tokens not answered 401: ${[...unexpected].map(([status, n]) => `${n} x ${status}`).join(', ')}`);
    }
    return result;
  } finally {
    console.error = consoleError;
  }
}

function report(r: ForgedResult, heaps: HeapFigures[], halves: RunStats[], peakIssuers: number, sdkErrorLines: number): void {
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
  const kib = (bytes: number) => `${bytes >= 0 ? '+' : ''}${(bytes / 1024).toFixed(0)} KiB`;
  const [before, half, after] = heaps as [HeapFigures, HeapFigures, HeapFigures];
  const spaces = (a: HeapFigures, b: HeapFigures) =>
    WATCHED_SPACES.map((s) => `${s} ${kib((b.bySpace[s] ?? 0) - (a.bySpace[s] ?? 0))}`).join(', ');
  halves.forEach((h, i) => console.log(`  ${i === 0 ? 'first' : 'second'} half (both kinds interleaved): ${fmt(h)}`));
  console.log(`  heapUsed after GC: ${mib(r.heapBefore)} -> ${mib(half.used)} -> ${mib(r.heapAfter)}`);
  console.log(`    first half  ${kib(half.used - before.used)} (${spaces(before, half)})`);
  console.log(`    second half ${kib(after.used - half.used)} (${spaces(half, after)})`);
  console.log(
    `  heap growth over all ${halves.reduce((n, h) => n + h.count, 0)}: ${kib(r.heapGrowthBytes)} (target < 1024 KiB): ${r.heapGrowthBytes < HEAP_TARGET_BYTES ? 'target met' : 'below target'}`,
  );
  console.log(
    `  SDK emulator issuer list: ${r.issuersBefore} -> ${r.issuersAfter} (largest seen between requests ${peakIssuers}): ${r.issuersAfter === r.issuersBefore ? 'unchanged' : 'GREW'}`,
  );
  console.log(`  console.error lines the SDK wrote for these requests (swallowed here): ${sdkErrorLines}`);
}
