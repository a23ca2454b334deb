// Mocha reporter: mocha's "spec" output plus the closing line CI reads, "N passed, N failed".
'use strict';
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const label = (options && options.reporterOptions && options.reporterOptions.label) || process.env.NEX_TEST_LAYER || 'tests';
    runner.once('end', () => {
      const s = runner.stats || { passes: 0, failures: 0, pending: 0 };
      const skipped = s.pending ? `, ${s.pending} skipped` : '';
      // console.log reaches the terminal from the extension host too (via the test shim).
      console.log(`${label}: ${s.passes} passed, ${s.failures} failed${skipped}`);
    });
  }
}

module.exports = SummaryReporter;
