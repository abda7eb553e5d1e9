/**
 * The playground listens on every interface and its telemetry SDK tries to reach out, so what runs it runs inside
 * `unshare -n`: a network namespace with only loopback. Whether that is possible here, and how a test runs a
 * walk script (bot, playground and Chromium in one process) there and reads the JSON result it writes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** Why `unshare -n` cannot be used here, or undefined when it can. */
export function networkNamespaceProblem(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  const probe = spawnSync('unshare', ['-n', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore', timeout: 5000 });
  if (probe.error) return `unshare or ip is not available (${probe.error.message})`;
  if (probe.status !== 0) return 'unshare -n is not permitted here (needs root or user namespaces)';
  return undefined;
}

/**
 * Runs a walk script inside `unshare -n` with `--screenshots` and `--result`, stops it by PID if it overruns
 * `budgetMs` (SIGTERM: it stops its playground and browser; SIGKILL 5 s later), and answers the result it wrote
 * with the tail of its output. Fails the calling hook when no result was written.
 */
export async function runWalkInNetworkNamespace<R>(walk: {
  script: string;
  screenshots: string;
  result: string;
  budgetMs: number;
}): Promise<{ result: R; output: string }> {
  rmSync(walk.result, { force: true });
  const command = `ip link set lo up && exec "${process.execPath}" --import tsx "${walk.script}" --watch-stdin --screenshots "${walk.screenshots}" --result "${walk.result}"`;
  const child = spawn('unshare', ['-n', 'bash', '-c', command], { cwd: ROOT, stdio: ['pipe', 'ignore', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  });
  const exitCode = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      if (child.pid) process.kill(child.pid, 'SIGTERM');
      setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
      }, 5000);
    }, walk.budgetMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  child.stdin!.destroy();
  assert.ok(existsSync(walk.result), `the walk wrote no result (exit ${exitCode}); its output:\n${output}`);
  return { result: JSON.parse(readFileSync(walk.result, 'utf8')) as R, output };
}
