'use strict';
/**
 * mocha's spec reporter, plus a machine-readable summary for .ci/run: when MOCHA_SUMMARY_FILE is set, the
 * counts are written there as JSON when the run ends. The file is written only at the very end, so a run that
 * crashed or hung leaves no file (or a stale one removed beforehand by .ci/run), never a misleading count.
 *
 *   MOCHA_SUMMARY_FILE=build/test-summary.json mocha --reporter ./test/helpers/summaryReporter.cjs
 */
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');

const { EVENT_RUN_END, EVENT_TEST_FAIL } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const file = process.env.MOCHA_SUMMARY_FILE;
    if (!file) return;
    const failed = [];
    runner.on(EVENT_TEST_FAIL, (test, err) => {
      failed.push({ title: test.fullTitle(), error: String((err && err.message) || err).slice(0, 500) });
    });
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || {};
      const summary = {
        passes: s.passes || 0,
        // Hook failures ("before all" hook ...) count as failures too: they are in stats.failures.
        failures: s.failures || 0,
        pending: s.pending || 0,
        tests: s.tests || 0,
        suites: s.suites || 0,
        durationMs: s.duration || 0,
        failed,
      };
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      const tmp = `${file}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(summary, null, 2) + '\n');
      fs.renameSync(tmp, file);
    });
  }
}

module.exports = SummaryReporter;
