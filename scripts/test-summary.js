// Prints the totals of the last test run across packages: one line per package, then
// `tests: N passed, N failed, N skipped`. Exits 1 when any test or suite failed or nothing ran.
const fs = require('node:fs');
const path = require('node:path');

const dir = path.join(__dirname, '..', '.test-results');
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
const totals = { passed: 0, failed: 0, skipped: 0, suitesFailed: 0 };
for (const file of files.sort()) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  console.log(`  ${r.package.padEnd(28)} ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
  totals.passed += r.passed;
  totals.failed += r.failed;
  totals.skipped += r.skipped;
  totals.suitesFailed += r.suitesFailed + r.runtimeErrorSuites;
}
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 || totals.suitesFailed > 0 || totals.passed === 0 ? 1 : 0);
