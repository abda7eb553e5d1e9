import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freeLoopbackPort } from '../../src/storage/embeddedAzurite';

const ROOT = path.join(__dirname, '..', '..');
const PLAYGROUND_BIN = path.join(ROOT, 'node_modules', '.bin', 'agentsplayground');

let playground: ChildProcess | undefined;

/**
 * Starts the Agents Playground against the bot (telemetry off; the walks run it inside `unshare -n`) on a free
 * port, and answers that port once it says it is listening. One playground per walk process.
 */
export async function startPlayground(botUrl: string, log: (message: string) => void): Promise<number> {
  const port = await freeLoopbackPort();
  const child = spawn(PLAYGROUND_BIN, ['-e', `${botUrl}/api/messages`, '-c', 'msteams', '--disable-telemetry', '-p', String(port)], {
    cwd: ROOT,
    env: { ...process.env, APPLICATION_INSIGHTS_NO_STATSBEAT: 'true', TEAMSAPPTESTER_BROWSER: 'none' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  playground = child;
  log(`playground pid ${child.pid}`);
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('the playground printed no "Listening on" line in 20 s')), 20_000);
    child.once('exit', (code) => reject(new Error(`the playground exited (${code}) before listening`)));
    child.stderr!.on('data', () => undefined);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered = (buffered + chunk.toString('utf8')).slice(-4096);
      const match = /Listening on (\d+)/.exec(buffered);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
}

export async function stopPlayground(): Promise<void> {
  const child = playground;
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  }, 3000);
  await exited;
  clearTimeout(timer);
}
