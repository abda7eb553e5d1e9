import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger';

/** The one line a bot prints when another live bot holds its data folder. */
export class DataFolderInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(`Data folder ${dataDir} is in use by another bot (pid ${holderPid}). Stop it or set DATA_DIR to another folder.`);
    this.name = 'DataFolderInUseError';
  }
}

export interface DataFolderLock {
  readonly dataDir: string;
  release(): void;
}

export interface DataFolderLockOptions {
  /** How long to wait for a holder that is going away (stopping, or its storage child still saving). */
  waitMs?: number;
  pollMs?: number;
  /** Files holding pids of storage processes a previous holder may have left running (they must be gone first). */
  childPidFiles?: string[];
  logger?: Logger;
}

/** `DATA_DIR/azurite.lock/`: one entry per live contender, named `<pid>-<start time>`. */
export function lockDirOf(dataDir: string): string {
  return path.join(dataDir, 'azurite.lock');
}

/**
 * Takes the data folder for this process, so that only one bot (and so one Azurite) ever works on it.
 *
 * Each contender writes its own entry into the lock folder, then lists it: it holds the lock when its entry is
 * the only live one, otherwise it withdraws and tries again. Two contenders can never both see themselves alone
 * (each writes before it lists), and there is nothing to "take over": entries of dead processes (killed, even by
 * SIGKILL) are simply removed by whoever sees them, so a crashed holder never blocks a start. An entry names the
 * process by pid and start time, so a reused pid is not mistaken for the old holder.
 *
 * A live holder may be on its way out (a bot stopping, or the storage child of a killed bot saving before it
 * exits), so this waits up to `waitMs` before refusing with DataFolderInUseError.
 */
export async function acquireDataFolderLock(dataDir: string, options: DataFolderLockOptions = {}): Promise<DataFolderLock> {
  const waitMs = options.waitMs ?? 10_000;
  const pollMs = options.pollMs ?? 200;
  const lockDir = lockDirOf(dataDir);
  mkdirSync(lockDir, { recursive: true });
  const self = identityOf(process.pid);
  const entry = path.join(lockDir, entryName(self));
  const deadline = Date.now() + waitMs;
  let logged = false;

  let holding = false;
  for (;;) {
    let holder: number | undefined;
    if (!holding) {
      holder = tryHold(lockDir, entry, self);
      // Our own entry is already there: this very process holds the folder (a second start in one process).
      if (holder === process.pid) throw new DataFolderInUseError(dataDir, holder);
      holding = holder === undefined;
    }
    if (holding) holder = liveChild(options.childPidFiles ?? []);
    if (holder === undefined) {
      let released = false;
      return {
        dataDir,
        release() {
          if (released) return;
          released = true;
          heldHere.delete(entry);
          rmSync(entry, { force: true });
        },
      };
    }
    if (Date.now() >= deadline) {
      if (holding) {
        heldHere.delete(entry);
        rmSync(entry, { force: true });
      }
      throw new DataFolderInUseError(dataDir, holder);
    }
    if (!logged) {
      logged = true;
      options.logger?.warn({ dataDir, holderPid: holder, waitMs }, 'data folder in use; waiting for its holder to go away');
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs + Math.floor(Math.random() * pollMs)));
  }
}

/** A process as a lock entry names it: pid and, where /proc has it, start time (so a reused pid is not it). */
export interface Identity {
  pid: number;
  startTime?: string;
}

/** Entries this process holds. */
const heldHere = new Set<string>();

/** Undefined when this process now holds the lock (its entry is the only live one); else another holder's pid. */
function tryHold(lockDir: string, entry: string, self: Identity): number | undefined {
  try {
    writeFileSync(entry, JSON.stringify(self), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (heldHere.has(entry)) return self.pid;
    // Left by an earlier process with our pid (only possible where start times cannot be read).
    rmSync(entry, { force: true });
    return tryHold(lockDir, entry, self);
  }
  for (const name of readdirSync(lockDir)) {
    const file = path.join(lockDir, name);
    if (file === entry) continue;
    const other = readIdentity(file, name);
    if (other && isSameProcessAlive(other)) {
      rmSync(entry, { force: true }); // withdraw, so that the other can see itself alone
      return other.pid;
    }
    rmSync(file, { force: true }); // a dead contender's entry
  }
  heldHere.add(entry);
  return undefined;
}

/** A storage child left running by a previous holder (a killed bot's child still saving), if any. */
function liveChild(pidFiles: string[]): number | undefined {
  for (const file of pidFiles) {
    let pid: number;
    try {
      pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    } catch {
      continue;
    }
    if (pid > 0 && isProcessAlive(pid) && looksLikeAzurite(pid)) return pid;
  }
  return undefined;
}

export function entryName(identity: Identity): string {
  return identity.startTime ? `${identity.pid}-${identity.startTime}` : String(identity.pid);
}

function readIdentity(file: string, name: string): Identity | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Identity;
    if (Number.isInteger(parsed.pid)) return parsed;
  } catch {
    // Written and read at the same moment: the name says the same.
  }
  const [pid, startTime] = name.split('-');
  return Number(pid) > 0 ? { pid: Number(pid), startTime } : undefined;
}

export function identityOf(pid: number): Identity {
  const startTime = procStat(pid)?.[19];
  return startTime ? { pid, startTime } : { pid };
}

function isSameProcessAlive(identity: Identity): boolean {
  if (!isProcessAlive(identity.pid)) return false;
  const now = identityOf(identity.pid).startTime;
  return !identity.startTime || !now || now === identity.startTime;
}

/** True while the process runs (a stopped process counts; a zombie, dead but not yet reaped, does not). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return procStat(pid)?.[0] !== 'Z';
}

/** True when the process is stopped (SIGSTOP, or stopped by a debugger): it cannot close by itself. */
export function isProcessStopped(pid: number): boolean {
  const state = procStat(pid)?.[0];
  return state === 'T' || state === 't';
}

function looksLikeAzurite(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('azurite');
  } catch {
    return true; // no /proc (not Linux): the pid alone has to do
  }
}

/** The fields of /proc/<pid>/stat after the command name: [0] state, [19] start time. Undefined without /proc. */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
