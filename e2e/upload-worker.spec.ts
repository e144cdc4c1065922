// The page's upload worker (assets/upload-worker.js, docs/files.md "Direct
// uploads"): its SHA-256 against Node's, and an upload that goes through
// it, chunks sent by the worker, the file downloaded byte-identical.
import { test, expect, setupAdmin, repoRoot } from './cube';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { signInFirst, upload, item, waitWorker } from './unlock';

// The worker script's SHA256 class, run in Node.
function workerSHA256(): any {
  const src = fs.readFileSync(path.join(repoRoot, 'assets', 'upload-worker.js'), 'utf8');
  return vm.runInNewContext(src + '\n;SHA256', { self: {} });
}

test('the upload worker\'s SHA-256 agrees with Node\'s, in any pieces, past 2^32 bits', async () => {
  test.setTimeout(120_000);
  const SHA256 = workerSHA256();
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 4096 + 17, 1 << 20]) {
    const data = crypto.randomBytes(n);
    const whole = new SHA256();
    whole.update(new Uint8Array(data));
    expect(hex(whole.digest())).toBe(crypto.createHash('sha256').update(data).digest('hex'));
    // The same bytes in random pieces.
    const pieces = new SHA256();
    for (let i = 0; i < n;) {
      const k = Math.min(n - i, 1 + Math.floor(Math.random() * 200));
      pieces.update(new Uint8Array(data.subarray(i, i + k)));
      i += k;
    }
    expect(hex(pieces.digest())).toBe(crypto.createHash('sha256').update(data).digest('hex'));
  }
  // More than 512 MiB: the length field's high word is used.
  const block = new Uint8Array(crypto.randomBytes(1 << 20));
  const big = new SHA256();
  const ref = crypto.createHash('sha256');
  for (let i = 0; i < 513; i++) {
    big.update(block);
    ref.update(block);
  }
  big.update(block.subarray(0, 3));
  ref.update(block.subarray(0, 3));
  expect(hex(big.digest())).toBe(ref.digest('hex'));
});

test('an upload is sent by the upload worker, and comes back byte-identical', async ({ page, node, request }) => {
  test.setTimeout(180_000);
  // Chunks the page itself sends go through its fetch: count them.
  await page.addInitScript(() => {
    const f = window.fetch;
    (window as any).__pagePatches = 0;
    window.fetch = function (input: any, init?: any) {
      if (init && init.method === 'PATCH') (window as any).__pagePatches++;
      return f.apply(this, arguments as any);
    } as any;
  });
  await setupAdmin(request, node);
  await signInFirst(page, node);
  await waitWorker(page);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cube-upw-'));
  const file = path.join(dir, 'worker.bin');
  const data = crypto.randomBytes(5 * 1024 * 1024 + 4321);
  fs.writeFileSync(file, data);
  // Who sends the chunks: a dedicated worker of the page, not the page.
  let chunks = 0;
  page.on('request', (r) => {
    if (r.method() === 'PATCH' && /\/api\/v1\/uploads\//.test(r.url())) chunks++;
  });
  await upload(page, [file]);
  expect(page.workers().some((w) => w.url().endsWith('/web/upload-worker.js'))).toBe(true);
  expect(chunks).toBeGreaterThanOrEqual(6);
  expect(await page.evaluate(() => (window as any).__pagePatches)).toBe(0);

  await item(page, 'worker.bin').click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#action-download').click()]);
  const saved = path.join(dir, 'saved.bin');
  await download.saveAs(saved);
  expect(fs.readFileSync(saved).equals(data)).toBe(true);
  fs.rmSync(dir, { recursive: true, force: true });
});
