// Prints the closing line CI reads, `N passed, N failed[, N skipped]`, from vitest's JSON
// report. A test file that failed to load (so none of its tests ran) counts as one failure,
// so a broken file can never make the suite look greener.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  console.log(`vitest wrote no readable report (${err.message})`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
let passed = 0;
let failed = 0;
let skipped = 0;
for (const suite of report.testResults ?? []) {
  const tests = suite.assertionResults ?? [];
  if (tests.length === 0 && suite.status === 'failed') {
    console.log(`failed to run: ${suite.name}: ${(suite.message ?? '').split('\n')[0]}`);
    failed++;
  }
  for (const t of tests) {
    if (t.status === 'passed') passed++;
    else if (t.status === 'failed') failed++;
    else skipped++;
  }
}
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''));
process.exit(failed > 0 ? 1 : 0);
