// Browser benchmarks of Sharing (issue: Sharing, "Performance"):
//  - the time from opening a link to a shared 50-photo folder to the first
//    previewed image, in a fresh browser context (cold: the app is not
//    cached yet) and again in the same context (warm: the service worker
//    serves the app);
//  - the download of a shared 1 GiB file (CUBE_BENCH_MIB to change) by a
//    visitor without an account, against the raw speed of the browser's
//    AES-CTR (WebCrypto) measured in the same page.
// The owner's side is set up with the CLI (faster than the browser, and not
// what is measured). Numbers go to test-results/bench-share.json;
// docs/BENCHMARKS.md records them.
import { test, expect, admin, setupAdmin, repoRoot, CubeNode } from './cube';
import { waitWorker, item } from './unlock';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Browser } from '@playwright/test';

const MiB = 1 << 20;

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

// shareURL returns the link `cube share` printed (the first line that is one).
function shareURL(out: string): string {
  const m = out.match(/https?:\/\/\S+\/s\/[a-z2-7]{26}#\S+/);
  if (!m) throw new Error('no link in:\n' + out);
  return m[0];
}

async function firstPreview(browser: Browser, url: string, ctx?: any): Promise<{ ms: number; ctx: any }> {
  ctx = ctx ?? (await browser.newContext());
  const page = await ctx.newPage();
  const t0 = Date.now();
  await page.goto(url);
  await item(page, 'photo-001.jpg').locator('.item-name').click({ timeout: 120_000 });
  await expect
    .poll(() => page.locator('#preview-image').evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth), { timeout: 120_000, intervals: [20] })
    .toBeGreaterThan(0);
  const ms = Date.now() - t0;
  await page.close();
  return { ms, ctx };
}

test('Sharing: first preview of a shared 50-photo folder; a shared big download against raw AES-CTR', async ({ node, request, browser }) => {
  test.setTimeout(3_600_000);
  const mib = Number(process.env.CUBE_BENCH_MIB || 1024);
  const results: Record<string, number | string> = { sizeMiB: mib };
  await setupAdmin(request, node);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cube-share-bench-'));
  try {
    const cfg = path.join(dir, 'config');
    const pw = path.join(dir, 'password');
    fs.writeFileSync(pw, admin.password + '\n', { mode: 0o600 });
    node.cli('login', '--server', node.url, '--user', admin.name, '--password-file', pw, '--config', cfg);

    // 50 photos of ~0.9 MB (2400×1800 JPEG) in a shared folder.
    const photos = path.join(dir, 'photos');
    execFileSync('go', ['run', './e2e/tools/photos', '--dir', photos, '--count', '50'], { cwd: repoRoot });
    node.cli('mkdir', '--config', cfg, '/photos');
    for (const f of fs.readdirSync(photos).sort()) node.cli('put', '--config', cfg, path.join(photos, f), '/photos/' + f);
    const folderURL = shareURL(node.cli('share', '--config', cfg, '/photos'));

    const cold = await firstPreview(browser, folderURL);
    const warm = [];
    for (let i = 0; i < 3; i++) warm.push((await firstPreview(browser, folderURL, cold.ctx)).ms);
    await cold.ctx.close();
    results.firstPreviewColdMs = cold.ms;
    results.firstPreviewWarmMs = warm.sort((a, b) => a - b)[1];

    // The big file: uploaded and shared with the CLI, downloaded by a visitor.
    const big = path.join(dir, 'big.bin');
    randomFile(big, mib * MiB);
    const want = sha256(big);
    node.cli('put', '--config', cfg, big, '/big.bin');
    const bigURL = shareURL(node.cli('share', '--config', cfg, '/big.bin'));
    const ctx = await browser.newContext({ acceptDownloads: true });
    const page = await ctx.newPage();
    await page.goto(bigURL);
    await expect(page.locator('#share-name')).toHaveText('big.bin', { timeout: 120_000 });
    await waitWorker(page);
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
    const dl = page.waitForEvent('download', { timeout: 600_000 });
    const t0 = Date.now();
    await page.locator('#share-download').click();
    const download = await dl;
    const saved = (await download.path())!;
    const secs = (Date.now() - t0) / 1000;
    expect(await download.failure()).toBeNull();
    expect(sha256(saved)).toBe(want);
    results.downloadMBps = (mib * MiB) / 1e6 / secs;
    results.downloadVsAes = (results.downloadMBps as number) / (results.rawAesCtrMBps as number);
    await ctx.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.mkdirSync(path.join(repoRoot, 'test-results'), { recursive: true });
  fs.writeFileSync(path.join(repoRoot, 'test-results', 'bench-share.json'), JSON.stringify(results, null, 2));
  console.log(JSON.stringify(results, null, 2));
});
