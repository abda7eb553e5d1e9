'use strict';
// Preloaded into each Azurite child (node --require, before Azurite's own main). Three jobs:
// 1. When the bot is gone (even by SIGKILL), close Azurite gracefully, which saves its data, and exit within
//    about 2 s, so no orphan keeps the port or the data folder. The IPC channel's `disconnect` is one signal;
//    the parent pid changing (the child is reparented when its parent dies) is the other, polled every 250 ms,
//    because a channel can stay open when another process inherited its end.
// 2. Exit once Azurite says it has closed: its timers would otherwise keep the process alive, and the parent
//    would have to kill it after the save.
// 3. Save more often than Azurite's 5 s (AZURITE_AUTOSAVE_MS): its Loki stores autosave on a fixed interval,
//    and whatever was written since the last save is lost if the process is killed.
const path = require('node:path');

const PARENT_POLL_MS = 250;
/** A save that takes longer than this is given up: the previous save stays on disk (Loki renames into place). */
const CLOSE_DEADLINE_MS = 3_000;

const expectedParent = Number(process.env.AZURITE_PARENT_PID) || process.ppid;
let ready = false;
let closing = false;

const log = console.log.bind(console);
console.log = (...args) => {
  log(...args);
  const line = String(args[0]);
  if (/successfully (started|listens)/.test(line)) ready = true;
  if (line.includes('successfully closed')) setImmediate(() => process.exit(0));
};

// Azurite's own graceful closes: remember them so that a parent death during one does not start a second.
process.on('message', (message) => {
  if (message === 'shutdown') closing = true;
});
process.on('SIGINT', () => {
  closing = true;
});

function closeBecauseParentIsGone() {
  if (closing) return;
  closing = true;
  setTimeout(() => process.exit(0), CLOSE_DEADLINE_MS);
  // Before Azurite listens there is nothing unsaved; once it does, its SIGINT handler closes and saves.
  if (ready) process.emit('SIGINT', 'SIGINT');
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
  const configure = Loki.prototype.configureOptions;
  Loki.prototype.configureOptions = function (options, initialConfig) {
    const changed = options && options.autosave ? { ...options, autosaveInterval: autosaveMs } : options;
    return configure.call(this, changed, initialConfig);
  };
}
