// Browser benchmarks of Files (issue: Files, "Performance"):
//  - upload and download of a big file (1 GiB; CUBE_BENCH_MIB to change) in
//    Chromium on loopback, against the raw speed of the browser's AES-CTR
//    (WebCrypto) measured in the same page;
//  - the tab's memory (JS heap + wasm linear memory) sampled through both;
//  - the time to list a 10,000-entry folder and scroll to its end.
// Numbers go to test-results/bench-files.json; docs/BENCHMARKS.md records them.
// CUBE_BENCH_NO_LIST=1 leaves out the 10,000-entry folder.
import { test, expect, setupAdmin, signInFiles, admin, repoRoot } from './cube';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const MiB = 1 << 20;

// Keeps the page's wasm memory reachable: Go exports its linear memory as
// "mem"; the wrapper notes it when go-app instantiates the module.
const captureWasmMemory = () => {
  const keep = (r: any) => {
    const inst = r.instance ?? r;
    if (inst?.exports?.mem) (window as any).__wasmMem = inst.exports.mem;
    return r;
  };
  const is = WebAssembly.instantiateStreaming;
  WebAssembly.instantiateStreaming = (...a: any[]) => (is as any)(...a).then(keep);
  const i = WebAssembly.instantiate;
  WebAssembly.instantiate = (...a: any[]) => (i as any)(...a).then(keep);
};

function sha256(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(8 * MiB);
  for (;;) {
    const n = fs.readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
  }
  fs.closeSync(fd);
  return h.digest('hex');
}

function randomFile(file: string, bytes: number) {
  const fd = fs.openSync(file, 'w');
  for (let done = 0; done < bytes; done += 8 * MiB) fs.writeSync(fd, crypto.randomBytes(Math.min(8 * MiB, bytes - done)));
  fs.closeSync(fd);
}

// profilePage records the page thread's CPU profile for ms milliseconds
// (CUBE_BENCH_PROFILE=1) and prints where its time went: the functions
// with the most self time, and the share of idle time.
async function profilePage(cdp: any, what: string, ms: number) {
  await startProfile(cdp);
  await new Promise((r) => setTimeout(r, ms));
  await stopProfile(cdp, what);
}

async function startProfile(cdp: any) {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
  await cdp.send('Profiler.start');
}

async function stopProfile(cdp: any, what: string) {
  const { profile } = await cdp.send('Profiler.stop');
  // The whole profile, for a closer look (chrome://inspect, or by script).
  fs.writeFileSync(path.join(repoRoot, 'test-results', `profile-${what.replace(/\W+/g, '-')}.cpuprofile`), JSON.stringify(profile));
  const self = new Map<number, number>();
  const dt: number[] = profile.timeDeltas;
  profile.samples.forEach((id: number, i: number) => self.set(id, (self.get(id) ?? 0) + (dt[i + 1] ?? 0)));
  const byName = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const t = self.get(n.id) ?? 0;
    total += t;
    const f = n.callFrame;
    const k = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber}`;
    byName.set(k, (byName.get(k) ?? 0) + t);
  }
  const top = [...byName].sort((a, b) => b[1] - a[1]).slice(0, 25);
  console.log(`page thread during ${what}, ${(total / 1000).toFixed(0)} ms sampled:`);
  for (const [k, t] of top) console.log(`  ${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`);
}

test('Files: big upload and download against raw AES-CTR; memory; a 10,000-entry folder', async ({ page, node, request }) => {
  test.setTimeout(3_600_000);
  const mib = Number(process.env.CUBE_BENCH_MIB || 1024);
  const results: Record<string, number | string> = { sizeMiB: mib };
  await setupAdmin(request, node);
  await page.addInitScript(captureWasmMemory);
  await signInFiles(page, node);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');

  // Raw AES-CTR in this page: 256 MiB through crypto.subtle in 4 MiB calls,
  // the chunk size the upload engine hands to WebCrypto.
  results.rawAesCtrMBps = await page.evaluate(async () => {
    const key = await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(16)), 'AES-CTR', false, ['encrypt']);
    const buf = new Uint8Array(4 << 20);
    const t0 = performance.now();
    for (let i = 0; i < 64; i++) {
      const counter = new Uint8Array(16);
      new DataView(counter.buffer).setUint32(12, i * (buf.length / 16));
      await crypto.subtle.encrypt({ name: 'AES-CTR', counter, length: 64 }, key, buf);
    }
    return (64 * buf.length) / 1e6 / ((performance.now() - t0) / 1000);
  });

  // Memory sampler: JS heap (CDP) + wasm linear memory, every 500 ms.
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        const m = await cdp.send('Performance.getMetrics');
        const heap = m.metrics.find((x) => x.name === 'JSHeapUsedSize')?.value ?? 0;
        const wasm = await page.evaluate(() => (window as any).__wasmMem?.buffer.byteLength ?? 0);
        peak = Math.max(peak, heap + wasm);
      } catch {
        // the page may be navigating
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cube-bench-'));
  try {
    const src = path.join(dir, 'big.bin');
    randomFile(src, mib * MiB);
    const want = sha256(src);

    // Upload: from choosing the file to the row appearing (stored and listed).
    let t0 = Date.now();
    await page.locator('#upload-files').setInputFiles(src);
    const row = page.locator('[data-testid=item][data-name="big.bin"]');
    if (process.env.CUBE_BENCH_PROFILE) await profilePage(cdp, 'upload', 10_000);
    await expect(row).toBeVisible({ timeout: 3_000_000 });
    results.uploadMBps = (mib * MiB) / 1e6 / ((Date.now() - t0) / 1000);
    results.uploadPeakMemMiB = peak / MiB;

    // Download: from the click to the browser having the whole file.
    peak = 0;
    await row.locator('.col-size, .tile-meta').first().click();
    t0 = Date.now();
    const dl = page.waitForEvent('download', { timeout: 3_000_000 });
    await page.locator('#action-download').click();
    const download = await dl;
    const got = (await download.path())!;
    results.downloadMBps = (mib * MiB) / 1e6 / ((Date.now() - t0) / 1000);
    results.downloadPeakMemMiB = peak / MiB;
    expect(sha256(got)).toBe(want);
    results.uploadVsAes = (results.uploadMBps as number) / (results.rawAesCtrMBps as number);
    results.downloadVsAes = (results.downloadMBps as number) / (results.rawAesCtrMBps as number);
  } finally {
    sampling = false;
    await sampler;
    fs.rmSync(dir, { recursive: true, force: true });
  }

  fs.writeFileSync(path.join(repoRoot, 'test-results', 'bench-files.json'), JSON.stringify(results, null, 2));
  console.log(results);

  if (process.env.CUBE_BENCH_NO_LIST) return; // transfers only (quick runs)

  // A folder of 10,000 entries, made through the API by a small Go tool.
  const pw = path.join(os.tmpdir(), `cube-bench-pw-${process.pid}`);
  fs.writeFileSync(pw, admin.password);
  try {
    const t = Date.now();
    execFileSync('go', ['run', './e2e/tools/populate', '--server', node.url, '--user', admin.name, '--password-file', pw, '--folder', 'many', '--count', '10000'], { cwd: repoRoot, stdio: 'pipe' });
    results.populate10kSeconds = (Date.now() - t) / 1000;
  } finally {
    fs.rmSync(pw, { force: true });
  }
  await page.reload();
  const many = page.locator('[data-testid=item][data-name="many"]');
  await expect(many).toBeVisible({ timeout: 60_000 });
  const listCDP = process.env.CUBE_BENCH_PROFILE ? await page.context().newCDPSession(page) : null;
  if (listCDP) await startProfile(listCDP);
  let t0 = Date.now();
  await many.dblclick();
  await expect(page.locator('[data-testid=item][data-name="file-00000.txt"]')).toBeVisible({ timeout: 120_000 });
  results.list10kFirstRowsMs = Date.now() - t0;
  if (listCDP) await stopProfile(listCDP, 'listing 10,000 entries');
  // Scroll to the end: the last entry must come into view (the list draws
  // the rows near the screen as it scrolls).
  t0 = Date.now();
  const last = page.locator('[data-testid=item][data-name="file-09999.txt"]');
  for (let i = 0; i < 400 && !(await last.isVisible()); i++) {
    await page.keyboard.press('End');
    await page.mouse.wheel(0, 20000);
    await page.waitForTimeout(50);
  }
  await expect(last).toBeVisible({ timeout: 120_000 });
  results.scroll10kToEndMs = Date.now() - t0;
  results.domRowsAtEnd = await page.locator('[data-testid=item]').count();

  fs.writeFileSync(path.join(repoRoot, 'test-results', 'bench-files.json'), JSON.stringify(results, null, 2));
  console.log(results);
});
