'use strict';
/**
 * mocha's configuration. The files run in parallel worker processes (the shared Azurite is started once, in the
 * main process: see test/helpers/globalFixtures.ts). Every test file runs; the slowest ones are handed out first,
 * so that no long file starts last and runs alone at the end.
 */
const fs = require('node:fs');
const path = require('node:path');

/**
 * Slowest first, those that mostly wait (a lease, a lock) beside those that mostly compute, and the heaviest
 * process-level tests not all at once; files not listed follow in name order.
 */
const SLOW_FIRST = [
  'test/redelivery.e2e.test.ts',
  'test/storage/embeddedAzuriteFolderInUse.e2e.test.ts',
  'test/delivery/engine.test.ts',
  'test/storage/embeddedAzurite.e2e.test.ts',
  'test/browser/playground.browser.test.ts',
  'test/storage/embeddedAzuriteChildReplaced.e2e.test.ts',
  'test/conversationDelivery.e2e.test.ts',
  'test/browser/playgroundConversation.browser.test.ts',
  'test/restart.e2e.test.ts',
  'test/groups.e2e.test.ts',
  'test/browser/playgroundLinks.browser.test.ts',
  'test/browser/tabConversation.browser.test.ts',
  'test/delivery/edits.test.ts',
  'test/posts.e2e.test.ts',
  'test/browser/landing.browser.test.ts',
  'test/storageStalled.e2e.test.ts',
  'test/userText.e2e.test.ts',
  'test/racesAndBans.e2e.test.ts',
  'test/organization.e2e.test.ts',
  'test/browser/tab.browser.test.ts',
];

function testFiles(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : testFiles(file);
      return entry.name.endsWith('.test.ts') ? [file.split(path.sep).join('/')] : [];
    })
    .sort();
}

const all = testFiles('test');
const first = SLOW_FIRST.filter((file) => all.includes(file));

module.exports = {
  spec: [...first, ...all.filter((file) => !first.includes(file))],
  require: ['tsx/cjs', 'test/helpers/globalFixtures.ts'],
  extension: ['ts'],
  timeout: 20000,
  reporter: 'spec',
  parallel: true,
  // Two workers on two cores. A third was ~15% faster (112 s vs 132 s here), but the machine was then so busy
  // that a bot under test let a storage call pass its deadline (a delivery retried, logged as a warning the
  // playground walk refuses). MOCHA_JOBS overrides it.
  jobs: Number(process.env.MOCHA_JOBS) || 2,
};
