// A reporter that repeats, at the very end of a run, each failed test's
// error in a few lines: the list reporter prints errors where they happen,
// long before the end, and a CI log is often read from its tail only.
import type { Reporter, TestCase, TestResult } from '@playwright/test/reporter';

const maxLines = 12;

export default class FailuresReporter implements Reporter {
  private failed: { test: TestCase; result: TestResult }[] = [];

  onTestEnd(test: TestCase, result: TestResult) {
    if (result.status !== 'passed' && result.status !== 'skipped' && result.status !== test.expectedStatus) {
      this.failed.push({ test, result });
    }
  }

  onEnd() {
    if (this.failed.length === 0) return;
    const strip = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
    console.log(`\nFailed (${this.failed.length}), in short:`);
    for (const { test, result } of this.failed) {
      console.log(`- ${test.location.file.split('/').pop()}:${test.location.line} ${test.title} [${result.status}, ${(result.duration / 1000).toFixed(1)} s]`);
      for (const err of result.errors) {
        const lines = strip(err.message ?? String(err.value ?? '')).split('\n').filter((l) => l.trim() !== '');
        for (const l of lines.slice(0, maxLines)) console.log(`    ${l}`);
        if (err.location) console.log(`    at ${err.location.file.split('/').pop()}:${err.location.line}`);
      }
    }
  }
}
