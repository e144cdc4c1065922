// The page's upload worker (assets/upload-worker.js, docs/files.md "Direct
// uploads"): its segment hashes against Node's, and an upload that goes
// through it, chunks sent by the worker, the file downloaded byte-identical.
import { Page } from '@playwright/test';
import { test, expect, setupAdmin, repoRoot } from './cube';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { signInFirst, upload, item, waitWorker } from './unlock';

// The worker script's SegmentHasher class, run in Node (with Node's
// WebCrypto).
function workerSegmentHasher(): any {
  const src = fs.readFileSync(path.join(repoRoot, 'assets', 'upload-worker.js'), 'utf8');
  return vm.runInNewContext(src + '\n;SegmentHasher', { self: {}, crypto: globalThis.crypto });
}

// countPatches (an init script) counts the page's PATCH requests: those
// its proxy for the upload worker makes (upload-page.js, by the caller's
// stack) in __proxied, the others (Go sending by itself) in __ownPatches.
function countPatches() {
  const f = window.fetch;
  const w = window as any;
  w.__proxied = 0;
  w.__ownPatches = 0;
  window.fetch = function (input: any, init?: any) {
    if (init && init.method === 'PATCH') {
      if (/upload-page\.js/.test(new Error().stack || '')) w.__proxied++;
      else w.__ownPatches++;
    }
    return f.apply(this, arguments as any);
  } as any;
}

// randomFile writes size random bytes to a new temporary directory.
function randomFile(name: string, size: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cube-upw-'));
  const file = path.join(dir, name);
  const data = crypto.randomBytes(size);
  fs.writeFileSync(file, data);
  return { dir, file, data };
}

// expectDownload downloads item name and compares it with data.
async function expectDownload(page: Page, name: string, data: Buffer, dir: string) {
  await item(page, name).click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#action-download').click()]);
  const saved = path.join(dir, 'saved-' + name);
  await download.saveAs(saved);
  expect(fs.readFileSync(saved).equals(data)).toBe(true);
}

test('the upload worker hashes each segment as Node does, whatever the pieces', async () => {
  const SegmentHasher = workerSegmentHasher();
  const prefix = Buffer.from('30:allmydata_crypttext_segment_v1,');
  const cases: [number, number][] = [[56, 1], [100, 7], [10_000, 1000], [10_000, 1002], [3 << 20, 1 << 20], [(3 << 20) + 5, 1 << 20], [1 << 20, 4 << 20]];
  for (const [size, seg] of cases) {
    const data = crypto.randomBytes(size);
    const want: string[] = [];
    for (let off = 0; off < size; off += seg) {
      want.push(crypto.createHash('sha256').update(prefix).update(data.subarray(off, Math.min(off + seg, size))).digest('hex'));
    }
    // Whole, and in random pieces (a chunk may end inside a segment or
    // hold several).
    for (const pieces of [false, true]) {
      const h = new SegmentHasher(new Uint8Array(prefix), seg, size);
      for (let i = 0; i < size;) {
        const k = pieces ? Math.min(size - i, 1 + Math.floor(Math.random() * 3 * seg)) : size;
        h.update(new Uint8Array(data.subarray(i, i + k)));
        i += k;
      }
      const out: Uint8Array = await h.finish();
      const got: string[] = [];
      for (let i = 0; i < out.length; i += 32) got.push(Buffer.from(out.subarray(i, i + 32)).toString('hex'));
      expect(got, `size ${size}, segments of ${seg}, pieces ${pieces}`).toEqual(want);
    }
  }
});

test('an upload is sent by the upload worker, and comes back byte-identical', async ({ page, node, request }) => {
  test.setTimeout(180_000);
  // Every chunk goes through the page's fetch: those of the upload worker
  // are made by the page's proxy for it (upload-page.js), any other would
  // be the page's Go sending by itself. Count both.
  await page.addInitScript(countPatches);
  await setupAdmin(request, node);
  await signInFirst(page, node);
  await waitWorker(page);
  const { dir, file, data } = randomFile('worker.bin', 9 * 1024 * 1024 + 4321);
  // Who sends the chunks: a dedicated worker of the page, not the page.
  // It hashed the segments: the upload is finished by the crypttext root
  // hash, not the whole-file hash.
  let chunks = 0;
  let finish: any = null;
  page.on('request', (r) => {
    if (r.method() === 'PATCH' && /\/api\/v1\/uploads\//.test(r.url())) chunks++;
    if (r.method() === 'POST' && /\/api\/v1\/uploads\/[^/]+\/finish$/.test(r.url())) finish = r.postDataJSON();
  });
  // None of the upload's requests reaches the service worker (it keeps
  // request bodies in memory, and uploads stopped at 2 GiB): count the
  // fetch events it sees for /api/.
  const sw = page.context().serviceWorkers()[0] ?? await page.context().waitForEvent('serviceworker');
  await sw.evaluate(() => {
    const g = self as any;
    g.__apiEvents = 0;
    g.addEventListener('fetch', (e: any) => { if (new URL(e.request.url).pathname.startsWith('/api/')) g.__apiEvents++; });
  });
  await upload(page, [file]);
  expect(page.workers().some((w) => w.url().endsWith('/web/upload-worker.js'))).toBe(true);
  expect(chunks).toBeGreaterThanOrEqual(3); // 4 MiB each
  expect(finish?.crypttext_root_hash).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  expect(finish?.crypttext_hash).toBeUndefined();
  expect(await page.evaluate(() => (window as any).__proxied)).toBe(chunks);
  expect(await page.evaluate(() => (window as any).__ownPatches)).toBe(0);
  expect(await sw.evaluate(() => (self as any).__apiEvents)).toBe(0);

  await expectDownload(page, 'worker.bin', data, dir);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('without the page half of the worker, the page sends by itself, and the file still arrives whole', async ({ page, node, request }) => {
  test.setTimeout(180_000);
  // upload-page.js cannot define its function (the property is taken and
  // read-only, so its strict-mode assignment throws): no worker may start.
  await page.addInitScript(() => {
    Object.defineProperty(window, 'cubeUploadProxy', { value: undefined, writable: false });
  });
  await page.addInitScript(countPatches);
  await setupAdmin(request, node);
  await signInFirst(page, node);
  await waitWorker(page);
  const { dir, file, data } = randomFile('by-page.bin', 5 * 1024 * 1024 + 17);
  await upload(page, [file]);
  expect(page.workers().some((w) => w.url().endsWith('/web/upload-worker.js'))).toBe(false);
  expect(await page.evaluate(() => (window as any).__proxied)).toBe(0);
  expect(await page.evaluate(() => (window as any).__ownPatches)).toBeGreaterThanOrEqual(2); // 4 MiB each
  await expectDownload(page, 'by-page.bin', data, dir);
  fs.rmSync(dir, { recursive: true, force: true });
});
