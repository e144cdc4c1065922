import { test, expect, setupAdmin, CubeNode } from './cube';
import type { APIRequestContext, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { signInFirst, upload, item, waitWorker, fixtures, e2eFixtures } from './unlock';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cube-preview-'));
}

// randomUpload signs in with the service worker in control and uploads a
// file of n random bytes named name (in a new temporary dir).
async function randomUpload(page: Page, node: CubeNode, request: APIRequestContext, name: string, n: number) {
  await setupAdmin(request, node);
  await signInFirst(page, node);
  await waitWorker(page);
  const dir = tmpDir();
  const file = path.join(dir, name);
  const data = crypto.randomBytes(n);
  fs.writeFileSync(file, data);
  await upload(page, [file]);
  return { dir, data };
}

test('previews an image, Markdown, a video with seeking and a PDF; arrows move, Esc closes', async ({ page, node, request }) => {
  await setupAdmin(request, node);
  await signInFirst(page, node);
  await waitWorker(page);
  const dir = tmpDir();
  const md = path.join(dir, 'readme.md');
  fs.writeFileSync(md, '# Hello\n\nSome **bold** text and [a link](javascript:alert(1)).\n\n- one\n- two\n');
  await upload(page, [path.join(fixtures, 'png-rotated.png'), path.join(e2eFixtures, 'clip.webm'), path.join(fixtures, 'pdf-gs.pdf'), md]);

  // Image: decoded from the verified, decrypted bytes.
  await item(page, 'png-rotated.png').dblclick();
  await expect(page.locator('#preview')).toBeVisible();
  await expect(page.locator('#preview-name')).toHaveText('png-rotated.png');
  await expect(page.locator('#preview-info')).toContainText(/Secure|Standard/);
  await expect.poll(() => page.locator('#preview-image').evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBeGreaterThan(0);
  await page.keyboard.press('Escape');
  await expect(page.locator('#preview')).toHaveCount(0);

  // Markdown: rendered, no script link.
  await item(page, 'readme.md').dblclick();
  await expect(page.locator('#preview-text h1')).toHaveText('Hello');
  await expect(page.locator('#preview-text strong')).toHaveText('bold');
  await expect(page.locator('#preview-text li')).toHaveCount(2);
  await expect(page.locator('#preview-text a')).toHaveCount(0);
  // Arrow keys move to the neighbours (whatever they are) and back.
  const name = await page.locator('#preview-name').textContent();
  await page.keyboard.press('ArrowLeft');
  await expect(page.locator('#preview-name')).not.toHaveText(name!);
  await page.keyboard.press('ArrowRight');
  await expect(page.locator('#preview-name')).toHaveText(name!);
  await page.locator('#preview-close').click();
  await expect(page.locator('#preview')).toHaveCount(0);

  // Video: streamed through the service worker, with seeking (Range).
  await item(page, 'clip.webm').dblclick();
  const video = page.locator('video#preview-media');
  await expect(video).toHaveAttribute('src', /^\/stream\//);
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState)).toBeGreaterThanOrEqual(1);
  const seeked = await video.evaluate((v: HTMLVideoElement) => new Promise<number>((resolve) => {
    v.addEventListener('seeked', () => resolve(v.currentTime), { once: true });
    v.currentTime = 4;
  }));
  expect(seeked).toBeGreaterThan(3.5);
  const ranged = await video.evaluate(async (v: HTMLVideoElement) => {
    const r = await fetch(v.src, { headers: { Range: 'bytes=4-7' } });
    return { status: r.status, range: r.headers.get('Content-Range'), bytes: Array.from(new Uint8Array(await r.arrayBuffer())) };
  });
  expect(ranged.status).toBe(206);
  expect(ranged.range).toMatch(/^bytes 4-7\/\d+$/);
  expect(ranged.bytes.length).toBe(4);
  await page.keyboard.press('Escape');

  // PDF: in a frame, from a stream.
  await item(page, 'pdf-gs.pdf').dblclick();
  const frame = page.locator('iframe#preview-media');
  await expect(frame).toHaveAttribute('src', /^\/stream\//);
  const head = await frame.evaluate(async (f: HTMLIFrameElement) => {
    const r = await fetch(f.src, { headers: { Range: 'bytes=0-3' } });
    return { status: r.status, type: r.headers.get('Content-Type'), text: await r.text() };
  });
  expect(head).toEqual({ status: 206, type: 'application/pdf', text: '%PDF' });
  await page.keyboard.press('Escape');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('downloads a file streamed through the service worker, byte for byte', async ({ page, node, request }) => {
  const { dir, data } = await randomUpload(page, node, request, 'random.bin', 3 * 1024 * 1024 + 12345);
  await item(page, 'random.bin').click();
  const dl = page.waitForEvent('download');
  await page.locator('#action-download').click();
  const download = await dl;
  expect(download.suggestedFilename()).toBe('random.bin');
  expect(await download.failure()).toBeNull();
  const got = fs.readFileSync((await download.path())!);
  expect(got.length).toBe(data.length);
  expect(got.equals(data)).toBe(true);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a folder downloads as one zip built in the browser', async ({ page, node, request }) => {
  await setupAdmin(request, node);
  await signInFirst(page, node);
  await waitWorker(page);
  const dir = tmpDir();
  const root = path.join(dir, 'album');
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(root, 'a.txt'), 'first file\n');
  fs.writeFileSync(path.join(root, 'sub', 'b.txt'), 'second file\n');
  await page.locator('#upload-folder').setInputFiles(root);
  await expect(item(page, 'album')).toBeVisible({ timeout: 60_000 });
  // Both uploads finish before zipping.
  for (const n of ['a.txt', 'b.txt']) {
    await expect(page.locator(`[data-testid=upload-item][data-name="${n}"]`)).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  }
  await item(page, 'album').click();
  const dl = page.waitForEvent('download');
  await page.locator('#action-download').click();
  const download = await dl;
  expect(download.suggestedFilename()).toBe('album.zip');
  expect(await download.failure()).toBeNull();
  const zip = (await download.path())!;
  const list = execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  expect(list).toEqual(['album/a.txt', 'album/sub/b.txt']);
  expect(execFileSync('unzip', ['-p', zip, 'album/sub/b.txt'], { encoding: 'utf8' })).toBe('second file\n');
  execFileSync('unzip', ['-tq', zip]); // CRCs
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a JPEG with GPS comes back without it', async ({ page, node, request }) => {
  await setupAdmin(request, node);
  await signInFirst(page, node);
  await waitWorker(page);
  const src = path.join(fixtures, 'jpeg-progressive.jpg');
  await upload(page, [src]);
  await item(page, 'jpeg-progressive.jpg').click();
  const dl = page.waitForEvent('download');
  await page.locator('#action-download').click();
  const download = await dl;
  expect(await download.failure()).toBeNull();
  const got = (await download.path())!;
  const bytes = fs.readFileSync(got);
  expect(bytes.subarray(0, 2).equals(Buffer.from([0xff, 0xd8]))).toBe(true);
  let exiftool = true;
  try {
    execFileSync('exiftool', ['-ver']);
  } catch {
    exiftool = false;
  }
  if (exiftool) {
    const before = JSON.parse(execFileSync('exiftool', ['-json', '-n', src], { encoding: 'utf8' }))[0];
    expect(before.GPSLatitude).toBeDefined();
    const tags = JSON.parse(execFileSync('exiftool', ['-json', '-n', got], { encoding: 'utf8' }))[0];
    expect(Object.keys(tags).filter((k) => k.startsWith('GPS'))).toEqual([]);
  } else {
    // The GPS IFD pointer tag (0x8825), in either byte order.
    expect(bytes.includes(Buffer.from([0x88, 0x25, 0x00, 0x04]))).toBe(false);
    expect(bytes.includes(Buffer.from([0x25, 0x88, 0x04, 0x00]))).toBe(false);
  }
  expect(bytes.includes(Buffer.from('SCRUBME'))).toBe(false);
});

test('a tampered file shows a clear error, never garbage, and is not saved', async ({ browser, node, request }) => {
  // Request interception needs the service worker out of the way; the
  // previewer and the downloader then work from memory.
  const ctx = await browser.newContext({ serviceWorkers: 'block', acceptDownloads: true });
  const page = await ctx.newPage();
  await setupAdmin(request, node);
  await signInFirst(page, node);
  const dir = tmpDir();
  const file = path.join(dir, 'secret.txt');
  fs.writeFileSync(file, 'the real content '.repeat(1000));
  await upload(page, [file]);

  await page.route('**/api/v1/versions/*/content*', async (route) => {
    const resp = await route.fetch();
    const body = Buffer.from(await resp.body());
    if (body.length > 0) body[Math.floor(body.length / 2)] ^= 0x40;
    await route.fulfill({ response: resp, body });
  });
  await item(page, 'secret.txt').dblclick();
  await expect(page.locator('#preview-error')).toContainText('failed verification');
  await expect(page.locator('#preview-text')).toHaveCount(0);
  await page.keyboard.press('Escape');

  let downloaded = false;
  page.on('download', () => { downloaded = true; });
  await item(page, 'secret.txt').click();
  await page.locator('#action-download').click();
  await expect(page.locator('#cube-toasts [role=alert]')).toContainText('failed verification');
  expect(downloaded).toBe(false);
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a streamed download that breaks is marked failed, not saved as complete', async ({ page, node, request }) => {
  test.setTimeout(180_000);
  const { dir } = await randomUpload(page, node, request, 'big.bin', 24 * 1024 * 1024);
  // The node goes away in the middle: the first response ends after 5 MiB
  // of the file and the node is stopped, so the worker's retries find no
  // one; it errors the body and the browser gives up on the download.
  // (Stopping the node after a fixed delay raced the download: 24 MiB can
  // be done in a third of a second.)
  let cut = false;
  await page.context().route('**/api/v1/versions/*/content*', async (route) => {
    if (cut) return route.continue();
    cut = true;
    const resp = await route.fetch();
    const body = (await resp.body()).subarray(0, 5 * 1024 * 1024);
    await node.stop();
    await route.fulfill({ response: resp, body });
  });
  await item(page, 'big.bin').click();
  const dl = page.waitForEvent('download');
  await page.locator('#action-download').click();
  const download = await dl;
  expect(await download.failure()).not.toBeNull();
  expect(cut).toBe(true);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the service worker fetches, checks and decrypts a download itself; a tampered segment fails it', async ({ page, node, request }) => {
  test.setTimeout(180_000);
  const { dir, data } = await randomUpload(page, node, request, 'direct.bin', 3 * 1024 * 1024 + 12345);

  // Who fetches the ciphertext: the worker (a direct stream), not the page.
  const content: { fromWorker: boolean; range: string }[] = [];
  page.context().on('request', (r) => {
    if (/\/api\/v1\/versions\/[^/]+\/content/.test(r.url())) content.push({ fromWorker: r.serviceWorker() !== null, range: r.headers()['range'] || '' });
  });
  await item(page, 'direct.bin').click();
  let [download] = await Promise.all([page.waitForEvent('download'), page.locator('#action-download').click()]);
  const saved = path.join(dir, 'saved.bin');
  await download.saveAs(saved);
  expect(fs.readFileSync(saved).equals(data)).toBe(true);
  expect(content.length).toBeGreaterThanOrEqual(1);
  expect(content.every((c) => c.fromWorker && /^bytes=\d+-\d+$/.test(c.range))).toBe(true);

  // One flipped bit in the second segment as it comes from the node: the
  // download fails and the page says why.
  await page.context().route('**/api/v1/versions/*/content*', async (route) => {
    const resp = await route.fetch();
    const body = Buffer.from(await resp.body());
    const from = Number((/^bytes=(\d+)-/.exec(route.request().headers()['range'] || '') || [])[1]);
    const at = 1048576 + 100 - from;
    if (at >= 0 && at < body.length) body[at] ^= 0x01;
    await route.fulfill({ response: resp, body });
  });
  [download] = await Promise.all([page.waitForEvent('download'), page.locator('#action-download').click()]);
  expect(await download.failure()).not.toBeNull();
  await expect(page.locator('#cube-toasts [role=alert]')).toContainText('failed verification');
  fs.rmSync(dir, { recursive: true, force: true });
});
