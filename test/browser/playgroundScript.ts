import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { networkNamespaceProblem } from './networkNamespace';

const ROOT = path.join(__dirname, '..', '..');

/** Why `npm run playground` cannot run here as users run it (it uses a network namespace only as root on Linux). */
export function playgroundScriptProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'the playground script uses a network namespace only as root on Linux';
  return networkNamespaceProblem();
}

/** `npm run playground` as a user runs it, until it prints a line matching `ready`; stop() ends it by its PID. */
export class PlaygroundScript {
  private output = '';

  private constructor(private readonly child: ChildProcess) {}

  static async start(options: { dataDir: string; env?: Record<string, string>; ready: RegExp; timeoutMs?: number }) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/playground.ts', '--data-dir', options.dataDir], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const script = new PlaygroundScript(child);
    const timeoutMs = options.timeoutMs ?? 120_000;
    const match = await new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the playground was not ready in ${timeoutMs / 1000} s:\n${script.output}`)),
        timeoutMs,
      );
      const onData = (chunk: Buffer) => {
        script.output = (script.output + chunk.toString('utf8')).slice(-20_000);
        const found = options.ready.exec(script.output);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`the playground script exited (${code}):\n${script.output}`)));
    }).catch(async (err: unknown) => {
      await script.stop();
      throw err;
    });
    return { script, match };
  }

  /** What the script printed so far (the last 20,000 characters). */
  get printed(): string {
    return this.output;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => child.pid && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
