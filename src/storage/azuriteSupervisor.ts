import http from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import type { Logger } from '../logger';
import { spawnAzuriteChild, type AzuriteChild, type AzuriteChildOptions, type AzuriteService } from './azuriteChild';
import { isProcessStopped } from './dataFolderLock';

export interface SupervisionOptions {
  /** Time between health probes. */
  intervalMs?: number;
  /** A probe without an HTTP answer within this time has failed (a stopped process accepts, never answers). */
  probeTimeoutMs?: number;
  /** Consecutive failed probes before the child is replaced. */
  failures?: number;
}

export interface AzuriteSupervisorOptions extends AzuriteChildOptions {
  service: AzuriteService;
  /** The child's pid is kept in this file while it runs. */
  pidFile?: string;
  logger?: Logger;
  supervision?: SupervisionOptions;
  /** Called after a replacement child is up (the new process may lack the last unsaved writes). */
  onRestart?: (service: AzuriteService) => void;
}

const RESTART_DELAYS_MS = [500, 1_000, 2_000, 5_000];
/**
 * How long a child that stopped answering gets to close (and save) before it is killed. A running child that
 * is only slow (a busy machine) gets the time to save what it was told; a stopped one cannot close at all.
 */
const SLOW_CHILD_CLOSE_MS = 10_000;
const STOPPED_CHILD_CLOSE_MS = 0;

/**
 * Keeps one Azurite service alive on one port and folder: probes it over HTTP, and when it has died or has not
 * answered a few probes in a row, closes it (a stopped one is killed at once; a running one has 10 s to save and
 * close before it is killed) and starts a new one on the same port and folder. `healthy` is false from the first sign of
 * trouble until the replacement is up.
 */
export class AzuriteSupervisor {
  private child: AzuriteChild;
  private failed = 0;
  private replacing = false;
  private stopped = false;
  /** The bot is shutting down: a child that closes now (Ctrl+C reaches it too) is not replaced. */
  private closing = false;
  private timer?: NodeJS.Timeout;
  private replacement?: Promise<void>;
  private replaced = 0;

  private constructor(
    private readonly options: AzuriteSupervisorOptions,
    first: AzuriteChild,
  ) {
    this.child = first;
    this.watch(first);
    this.scheduleProbe();
  }

  static async start(options: AzuriteSupervisorOptions): Promise<AzuriteSupervisor> {
    const child = await spawnAzuriteChild(options.service, options);
    writePidFile(options.pidFile, child.pid);
    return new AzuriteSupervisor(options, child);
  }

  get pid(): number {
    return this.child.pid;
  }

  get port(): number {
    return this.options.port;
  }

  /** How many times the child was replaced. */
  get restarts(): number {
    return this.replaced;
  }

  get healthy(): boolean {
    return !this.stopped && !this.replacing && this.failed === 0 && !this.child.hasExited;
  }

  /**
   * Stop replacing children, at once. Ctrl+C signals the bot and its storage together; the storage closes (and
   * saves) while the bot still drains its work, and a replacement started in that gap would race the shutdown.
   */
  shuttingDown(): void {
    this.closing = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.replacement;
    await this.child.stop();
    if (this.options.pidFile) rmSync(this.options.pidFile, { force: true });
  }

  private watch(child: AzuriteChild): void {
    void child.exited.then(() => {
      if (this.stopped || this.closing || this.replacing || child !== this.child) return;
      this.options.logger?.warn({ service: this.options.service, pid: child.pid }, 'embedded Azurite exited; starting a new one');
      this.replacement = this.replace();
    });
  }

  private scheduleProbe(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.probeOnce(), this.options.supervision?.intervalMs ?? 1_000);
    this.timer.unref();
  }

  private async probeOnce(): Promise<void> {
    if (this.stopped || this.closing || this.replacing) return;
    const ok = await answers(this.options.port, this.options.supervision?.probeTimeoutMs ?? 1_000);
    if (this.stopped || this.replacing) return;
    if (ok) {
      this.failed = 0;
    } else {
      this.failed++;
      this.options.logger?.warn(
        { service: this.options.service, pid: this.child.pid, failed: this.failed },
        'embedded Azurite did not answer a health probe',
      );
      if (this.failed >= (this.options.supervision?.failures ?? 3)) {
        if (!this.replacing) this.replacement = this.replace();
        return;
      }
    }
    this.scheduleProbe();
  }

  private async replace(): Promise<void> {
    if (this.replacing || this.stopped || this.closing) return;
    this.replacing = true;
    const old = this.child;
    // A child that is only slow saves on a graceful close (killing it would lose its writes since the last
    // save); a stopped one is killed at once, and a hung one after the deadline.
    await old.stop(isProcessStopped(old.pid) ? STOPPED_CHILD_CLOSE_MS : SLOW_CHILD_CLOSE_MS);
    for (let attempt = 0; !this.stopped; attempt++) {
      // A pause before each start: a child that crashes at once does not spin the CPU.
      await sleep(RESTART_DELAYS_MS[Math.min(attempt, RESTART_DELAYS_MS.length - 1)]!);
      if (this.stopped) break;
      try {
        const child = await spawnAzuriteChild(this.options.service, this.options);
        if (this.stopped) {
          await child.stop();
          break;
        }
        this.child = child;
        this.replaced++;
        writePidFile(this.options.pidFile, child.pid);
        this.failed = 0;
        this.replacing = false;
        this.watch(child);
        this.options.logger?.warn(
          { service: this.options.service, oldPid: old.pid, pid: child.pid, port: this.options.port },
          'embedded Azurite replaced',
        );
        this.options.onRestart?.(this.options.service);
        this.scheduleProbe();
        return;
      } catch (err) {
        this.options.logger?.error(
          { service: this.options.service, err: (err as Error).message },
          'embedded Azurite failed to start again; retrying',
        );
      }
    }
  }
}

/** True when an HTTP answer (any status) comes back within the timeout. */
function answers(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy(new Error('probe timed out')));
    req.on('error', () => resolve(false));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function writePidFile(file: string | undefined, pid: number): void {
  if (file) writeFileSync(file, `${pid}\n`);
}
