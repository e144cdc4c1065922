import { defineConfig } from '@playwright/test';

// Debian's Chromium, with the flags this sandbox needs (and that keep the
// browser from phoning home, which the privacy test would flag).
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const bench = !!process.env.CUBE_BENCH;

export default defineConfig({
  testDir: './e2e',
  outputDir: './test-results',
  timeout: 90_000,
  expect: { timeout: 20_000 },
  // Each test starts its own cube node; two at a time fit a 2-core machine.
  workers: 2,
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  // The failures reporter repeats each failure's error at the end of the
  // run, where a CI log's tail shows it.
  reporter: process.env.CI ? [['list'], ['./e2e/failures-reporter.ts']] : [['list'], ['html', { open: 'never' }], ['./e2e/failures-reporter.ts']],
  use: {
    browserName: 'chromium',
    launchOptions: { executablePath: '/usr/bin/chromium', args: chromiumArgs },
    trace: 'retain-on-failure',
  },
  projects: bench
    // No trace while measuring: recording one (screencast frames,
    // snapshots) took a third of the page's thread and most of the
    // browser process, and halved the upload speed measured.
    ? [{ name: 'bench', testMatch: /.*\.bench\.ts/, workers: 1, fullyParallel: false, timeout: 600_000, use: { trace: 'off' } } as any]
    : [{ name: 'e2e', testMatch: /.*\.spec\.ts/ }],
});
