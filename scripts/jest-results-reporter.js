// Jest reporter: records each package's totals in <repo>/.test-results/, so one line can sum up a
// turbo run that spans many packages (see scripts/test-summary.js).
const fs = require('node:fs');
const path = require('node:path');

class ResultsReporter {
  onRunComplete(_contexts, results) {
    const dir = path.join(__dirname, '..', '.test-results');
    fs.mkdirSync(dir, { recursive: true });
    const pkg = require(path.join(process.cwd(), 'package.json')).name.replace(/[@/]/g, '_');
    const summary = {
      package: pkg,
      passed: results.numPassedTests,
      failed: results.numFailedTests,
      skipped: results.numPendingTests + results.numTodoTests,
      suitesFailed: results.numFailedTestSuites,
      runtimeErrorSuites: results.numRuntimeErrorTestSuites,
    };
    fs.writeFileSync(path.join(dir, `${pkg}.json`), `${JSON.stringify(summary)}\n`);
  }
}

module.exports = ResultsReporter;
