// Browser benchmark: how much a cold first load transfers, and how soon the
// app is interactive on a warm (service-worker) start. Numbers go to
// test-results/bench-load.json; docs/BENCHMARKS.md records them.
import { test, expect, setupAdmin } from './cube';
import * as fs from 'node:fs';

function bodyBytesFromLog(log: string): number {
  let n = 0;
  for (const m of log.matchAll(/msg=request .*? bytes=(\d+)/g)) n += Number(m[1]);
  return n;
}

// formSeen records, in the page, when the sign-in form first appears: polling
// from the test would add its own latency to the measurement.
const formSeen = () => {
  new MutationObserver((_, obs) => {
    if (document.getElementById('login-form')) {
      (window as any).__formAt = performance.now();
      obs.disconnect();
    }
  }).observe(document, { subtree: true, childList: true });
};

test('first load and warm start', async ({ browser, node, request }) => {
  await setupAdmin(request, node);
  const results: Record<string, number> = {};

  // Cold: a new profile, nothing cached.
  const ctx = await browser.newContext();
  let browserBytes = 0;
  ctx.on('requestfinished', async (r) => {
    // A request of a service worker that has since stopped has no sizes
    // any more; the node's log counts its bytes anyway.
    const s = await r.sizes().catch(() => null);
    if (s) browserBytes += s.responseBodySize + s.responseHeadersSize;
  });
  const before = bodyBytesFromLog(node.logs());
  const page = await ctx.newPage();
  await page.addInitScript(formSeen);
  await page.goto(node.url + '/login');
  await page.locator('#login-form').waitFor();
  results.coldInteractiveMs = await page.evaluate(() => (window as any).__formAt);
  // Let the service worker finish installing (it fetches the shell too).
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await page.waitForTimeout(500);
  results.coldServerBodyBytes = bodyBytesFromLog(node.logs()) - before;
  results.coldBrowserBytes = browserBytes;
  await page.close();

  // Warm: same profile, the service worker serves the shell.
  const warm: number[] = [];
  for (let i = 0; i < 7; i++) {
    const p = await ctx.newPage();
    await p.addInitScript(formSeen);
    await p.goto(node.url + '/login');
    await p.locator('#login-form').waitFor();
    warm.push(await p.evaluate(() => (window as any).__formAt));
    await p.close();
  }
  warm.sort((a, b) => a - b);
  results.warmInteractiveMedianMs = warm[Math.floor(warm.length / 2)];
  results.warmInteractiveMaxMs = warm[warm.length - 1];
  await ctx.close();

  const wasmBr = fs.statSync('server/web/dist/app.wasm.br').size;
  const wasmGz = fs.statSync('server/web/dist/app.wasm.gz').size;
  const wasmRaw = Number(fs.readFileSync('server/web/dist/app.wasm.sha256', 'utf8').split(/\s+/)[1]);
  Object.assign(results, { wasmRawBytes: wasmRaw, wasmBrotliBytes: wasmBr, wasmGzipBytes: wasmGz });
  console.log(JSON.stringify(results, null, 2));
  fs.mkdirSync('test-results', { recursive: true });
  fs.writeFileSync('test-results/bench-load.json', JSON.stringify(results, null, 2));
  expect(results.coldServerBodyBytes).toBeGreaterThan(wasmBr);
});
