'use strict';
// Preloaded into each Azurite child (node --require, before Azurite's own main). Three jobs:
// 1. When the bot is gone (even by SIGKILL), close Azurite gracefully, which saves its data, and exit within
//    about 2 s, so no orphan keeps the port or the data folder. The IPC channel's `disconnect` is one signal;
//    the parent pid changing (the child is reparented when its parent dies) is the other, polled every 250 ms,
//    because a channel can stay open when another process inherited its end.
// 2. Exit once Azurite says it has closed (its timers would otherwise keep the process alive, and the parent
//    would have to kill it after the save) and no save is still writing its file, and close only once however
//    many close requests arrive.
// 3. Save more often than Azurite's 5 s (AZURITE_AUTOSAVE_MS): its Loki stores autosave on a fixed interval,
//    and whatever was written since the last save is lost if the process is killed. (lokijs 1.5's
//    autosaveEnable, rewritten with an interval that adapts to what a save costs.)
const path = require('node:path');

const PARENT_POLL_MS = 250;
/** A close that takes longer than this is given up: the previous save stays on disk (Loki renames into place). */
const CLOSE_DEADLINE_MS = 8_000;

const expectedParent = Number(process.env.AZURITE_PARENT_PID) || process.ppid;
/** Loki saves still writing their file (see the autosave below), and what waits for none to be left. */
let savesInFlight = 0;
const whenSaved = [];

/** Exits once no save is writing: exiting mid-write leaves the previous file, without what that save held. */
function exitOnceSaved(code) {
  if (savesInFlight === 0) process.exit(code);
  else whenSaved.push(() => process.exit(code));
}
let ready = false;
let closeStarted = false;

const log = console.log.bind(console);
console.log = (...args) => {
  log(...args);
  const line = String(args[0]);
  if (/successfully (started|listens)/.test(line)) ready = true;
  if (line.includes('successfully closed')) setImmediate(() => exitOnceSaved(0));
};

// Azurite closes (and saves) on an IPC "shutdown", SIGINT or (queue) SIGTERM, each registered with
// process.once. Ctrl+C signals the bot and its children together, and the bot then asks for "shutdown" too: a
// second close throws while the first is saving and the unhandled rejection ends the process before the save.
// So only the first of them closes; later ones, and repeated signals, are ignored.
// A SIGINT while the bot is alive and connected is the terminal's Ctrl+C reaching the whole process group: the
// bot is stopping and still needs its storage to finish its work, then asks for "shutdown" itself. So such a
// SIGINT is ignored; it closes only when the parent is gone or can no longer ask over IPC.
const CLOSE_EVENTS = new Set(['message', 'SIGINT', 'SIGTERM']);
let parentGone = false;
const mayCloseOnSigint = () => parentGone || !process.connected || process.ppid !== expectedParent;
const once = process.once;
process.once = function (event, listener) {
  if (!CLOSE_EVENTS.has(event)) return once.call(this, event, listener);
  const guarded = (...args) => {
    if (event === 'message' && args[0] !== 'shutdown') return listener(...args);
    if (event === 'SIGINT' && !mayCloseOnSigint()) return undefined;
    if (closeStarted) return undefined;
    closeStarted = true;
    setTimeout(() => process.exit(1), CLOSE_DEADLINE_MS).unref();
    return listener(...args);
  };
  // SIGINT stays registered: an ignored Ctrl+C must not use up the handler a later close needs.
  return event === 'SIGINT' ? process.on(event, guarded) : once.call(this, event, guarded);
};
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);

function closeBecauseParentIsGone() {
  if (closeStarted) return;
  parentGone = true;
  // Before Azurite listens there is nothing unsaved; once it does, its SIGINT handler closes and saves.
  if (ready && process.listenerCount('SIGINT') > 1) process.emit('SIGINT', 'SIGINT');
  else process.exit(0);
}

process.on('disconnect', closeBecauseParentIsGone);
const poll = setInterval(() => {
  if (process.ppid !== expectedParent) closeBecauseParentIsGone();
}, PARENT_POLL_MS);
poll.unref();
if (process.ppid !== expectedParent) closeBecauseParentIsGone();

const autosaveMs = Number(process.env.AZURITE_AUTOSAVE_MS);
if (autosaveMs > 0) {
  // The lokijs that Azurite itself loads (resolved from Azurite's main script).
  const Loki = require(require.resolve('lokijs', { paths: [path.dirname(process.argv[1] || __dirname)] }));
  const { performance } = require('node:perf_hooks');
  // A save serializes the whole database on Azurite's event loop (about 4 ms for 2,000 rows, 90 ms for 20,000,
  // 700 ms for 100,000). To keep that under a tenth of the process's time, the interval grows to ten times the
  // last save, but never beyond Azurite's own 5 s.
  // Loki clears its dirty flags when a save begins and writes the file afterwards (to `<name>~`, then renames).
  // When nothing changed since an autosave began, Loki's close has nothing to save and Azurite reports closed at
  // once: exiting then would cut that save's write short, losing what it held. So saves in flight are counted.
  const saveDatabase = Loki.prototype.saveDatabase;
  Loki.prototype.saveDatabase = function (callback) {
    savesInFlight++;
    return saveDatabase.call(this, (err) => {
      savesInFlight--;
      if (savesInFlight === 0) for (const done of whenSaved.splice(0)) done();
      if (typeof callback === 'function') callback(err);
      else if (err) throw err;
    });
  };
  const SAVE_SHARE = 10;
  const AZURITE_DEFAULT_MS = 5_000;
  Loki.prototype.autosaveEnable = function (_options, callback) {
    this.autosave = true;
    this.autosaveInterval = autosaveMs;
    const tick = () => {
      if (this.autosaveDirty() && !this.ignoreAutosave) {
        const started = performance.now();
        this.saveDatabase(callback);
        const took = performance.now() - started;
        this.autosaveInterval = Math.min(AZURITE_DEFAULT_MS, Math.max(autosaveMs, Math.round(took * SAVE_SHARE)));
      }
      // autosaveDisable (on close) clears the handle: then no further save is scheduled.
      if (this.autosaveHandle) this.autosaveHandle = setTimeout(tick, this.autosaveInterval);
    };
    this.autosaveHandle = setTimeout(tick, this.autosaveInterval);
  };
}
