import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  acquireDataFolderLock,
  DataFolderInUseError,
  entryName,
  identityOf,
  isProcessStopped,
  lockDirOf,
} from '../../src/storage/dataFolderLock';

/** A process that only sleeps; `azurite` in its arguments makes it look like a storage child. */
function sleeper(...args: string[]): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', ...args], { stdio: 'ignore' });
}

function gone(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Writes the lock entry `pid` would write, as if that process held the folder. */
function holdFor(dataDir: string, pid: number): void {
  mkdirSync(lockDirOf(dataDir), { recursive: true });
  const identity = identityOf(pid);
  writeFileSync(path.join(lockDirOf(dataDir), entryName(identity)), JSON.stringify(identity));
}

describe('The data folder lock', () => {
  let dataDir: string;
  const children: ChildProcess[] = [];
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'kaizala-lock-'));
  });
  afterEach(async () => {
    for (const child of children.splice(0)) await gone(child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('takes a free folder and gives it back on release', async () => {
    const lock = await acquireDataFolderLock(dataDir);
    assert.deepEqual(readdirSync(lockDirOf(dataDir)), [entryName(identityOf(process.pid))]);
    lock.release();
    assert.deepEqual(readdirSync(lockDirOf(dataDir)), []);
  });

  it('refuses a second holder in the same process at once, in one line naming the folder and the pid', async () => {
    const lock = await acquireDataFolderLock(dataDir);
    try {
      await assert.rejects(acquireDataFolderLock(dataDir), (err: Error) => {
        assert.ok(err instanceof DataFolderInUseError);
        assert.equal(
          err.message,
          `Data folder ${dataDir} is in use by another bot (pid ${process.pid}). Stop it or set DATA_DIR to another folder.`,
        );
        return true;
      });
    } finally {
      lock.release();
    }
  });

  it('is not blocked by the entry of a process that has died, and removes it', async () => {
    const dead = sleeper();
    children.push(dead);
    await new Promise((resolve) => dead.once('spawn', resolve));
    holdFor(dataDir, dead.pid!);
    await gone(dead);
    const lock = await acquireDataFolderLock(dataDir, { waitMs: 0 });
    assert.deepEqual(readdirSync(lockDirOf(dataDir)), [entryName(identityOf(process.pid))]);
    lock.release();
  });

  it('waits for a live holder, and refuses naming it when it stays', async () => {
    const holder = sleeper();
    children.push(holder);
    await new Promise((resolve) => holder.once('spawn', resolve));
    holdFor(dataDir, holder.pid!);
    await assert.rejects(acquireDataFolderLock(dataDir, { waitMs: 500 }), new DataFolderInUseError(dataDir, holder.pid!));
    assert.equal(
      existsSync(path.join(lockDirOf(dataDir), entryName(identityOf(process.pid)))),
      false,
      'the refused contender leaves no entry',
    );
  });

  it('takes the folder once a live holder goes away within the wait', async () => {
    const holder = sleeper();
    children.push(holder);
    await new Promise((resolve) => holder.once('spawn', resolve));
    holdFor(dataDir, holder.pid!);
    setTimeout(() => holder.kill('SIGKILL'), 300);
    const lock = await acquireDataFolderLock(dataDir, { waitMs: 5_000 });
    lock.release();
  });

  it('waits for a storage child a killed holder left running (its pid file), and refuses naming it when it stays', async () => {
    const storage = sleeper('azurite');
    children.push(storage);
    await new Promise((resolve) => storage.once('spawn', resolve));
    const pidFile = path.join(dataDir, 'azurite-table.pid');
    writeFileSync(pidFile, `${storage.pid}\n`);
    await assert.rejects(
      acquireDataFolderLock(dataDir, { waitMs: 500, childPidFiles: [pidFile] }),
      new DataFolderInUseError(dataDir, storage.pid!),
    );
    await gone(storage);
    const lock = await acquireDataFolderLock(dataDir, { waitMs: 0, childPidFiles: [pidFile] });
    lock.release();
  });
});

describe('isProcessStopped: what the storage supervisor asks before it closes a child that stopped answering', () => {
  it('tells a stopped process (it cannot close by itself: killed at once) from a running one (given time to save)', async function () {
    if (!existsSync('/proc/self/stat')) this.skip();
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise<void>((resolve) => sleeper.once('spawn', () => resolve()));
      const pid = sleeper.pid!;
      assert.equal(isProcessStopped(pid), false, 'running');
      process.kill(pid, 'SIGSTOP');
      await waitUntil(() => isProcessStopped(pid));
      process.kill(pid, 'SIGCONT');
      await waitUntil(() => !isProcessStopped(pid));
    } finally {
      sleeper.kill('SIGKILL');
    }
    assert.equal(isProcessStopped(999_999_999), false, 'a pid that does not exist is not stopped');
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition());
}
