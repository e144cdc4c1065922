// Thumbnails made in the browser at upload (a canvas re-encode, EXIF
// orientation applied), sealed with the version, shown in the grid, the
// list and the gallery from blob: URLs.
import { test, expect, setupAdmin, signInFiles, repoRoot } from './cube';
import type { Page, Locator } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

const item = (page: Page, name: string): Locator => page.locator(`[data-testid=item][data-name="${name}"]`);

// png makes a w×h RGB gradient PNG.
function png(w: number, h: number): Buffer {
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = table[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    const row = y * (w * 3 + 1);
    for (let x = 0; x < w; x++) {
      raw[row + 1 + x * 3] = (x * 255) / w;
      raw[row + 2 + x * 3] = (y * 255) / h;
      raw[row + 3 + x * 3] = 128;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// withOrientation inserts an EXIF block with Orientation o after a JPEG's SOI.
function withOrientation(jpeg: Buffer, o: number): Buffer {
  const tiff = Buffer.from([0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0, 0, 0, 0, 0]);
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length + 2);
  return Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0xff, 0xe1]), len, body, jpeg.subarray(2)]);
}

// bigJPEG has the browser encode a w×h noise JPEG (several MB).
async function bigJPEG(page: Page, w: number, h: number): Promise<Buffer> {
  const bytes = await page.evaluate(
    async ([w, h]) => {
      const c = new OffscreenCanvas(w, h);
      const g = c.getContext('2d')!;
      const img = g.createImageData(w, h);
      for (let i = 0; i < img.data.length; i++) img.data[i] = i % 4 === 3 ? 255 : (Math.random() * 256) | 0;
      g.putImageData(img, 0, 0);
      const b = await c.convertToBlob({ type: 'image/jpeg', quality: 0.95 });
      return Array.from(new Uint8Array(await b.arrayBuffer()));
    },
    [w, h],
  );
  return Buffer.from(bytes);
}

async function natural(img: Locator): Promise<{ w: number; h: number; src: string }> {
  await expect
    .poll(async () => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), { timeout: 20_000 })
    .toBeGreaterThan(0);
  return img.evaluate((el: HTMLImageElement) => ({ w: el.naturalWidth, h: el.naturalHeight, src: el.src }));
}

test('uploaded images get thumbnails: grid, list and gallery', async ({ page, node, request }) => {
  test.setTimeout(120_000);
  const cspErrors: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
  });
  await setupAdmin(request, node);
  await signInFiles(page, node);
  await expect(page.locator('#files-empty, #file-list, #file-grid').first()).toBeVisible();

  // jpeg-rotated.jpg: 64×48 pixels with EXIF Orientation 6 (shown 48×64)
  // and SCRUBME metadata.
  const jpeg = fs.readFileSync(path.join(repoRoot, 'shared/scrub/testdata/jpeg-rotated.jpg'));
  // A large photo (decoded straight to a small size), rotated by EXIF too;
  // noise compresses badly, so the first tries are over 24 KiB.
  const big = withOrientation(await bigJPEG(page, 1280, 960), 6);
  expect(big.length).toBeGreaterThan(1 << 20);
  await page.locator('#upload-files').setInputFiles([
    { name: 'rotated.jpg', mimeType: 'image/jpeg', buffer: jpeg },
    { name: 'wide.png', mimeType: 'image/png', buffer: png(600, 300) },
    { name: 'big.jpg', mimeType: 'image/jpeg', buffer: big },
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('no picture here') },
  ]);
  await expect(page.locator('[data-testid=upload-item][data-state=done]')).toHaveCount(4, { timeout: 60_000 });
  await expect(item(page, 'wide.png')).toBeVisible();

  // The list shows a small one.
  if (!(await page.locator('#file-list').isVisible())) await page.locator('#view-toggle').click();
  await expect(page.locator('#file-list')).toBeVisible();
  await expect(item(page, 'wide.png').locator('.item-icon.has-thumb image')).toHaveAttribute('href', /^blob:/);
  await expect(item(page, 'notes.txt').locator('.has-thumb')).toHaveCount(0);

  // The grid.
  await page.locator('#view-toggle').click();
  await expect(page.locator('#file-grid')).toBeVisible();
  const wide = await natural(item(page, 'wide.png').locator('img.thumb-img'));
  expect(wide.src).toMatch(/^blob:/);
  expect(wide).toMatchObject({ w: 256, h: 128 }); // fit in 256×256
  const rot = await natural(item(page, 'rotated.jpg').locator('img.thumb-img'));
  expect(rot.src).toMatch(/^blob:/);
  expect(rot).toMatchObject({ w: 48, h: 64 }); // the EXIF orientation applied, not enlarged
  const b = await natural(item(page, 'big.jpg').locator('img.thumb-img'));
  expect(b.h).toBeLessThanOrEqual(256);
  expect(b.w / b.h).toBeCloseTo(0.75, 1); // 960×1280 once rotated
  await expect(item(page, 'notes.txt').locator('img')).toHaveCount(0);
  await expect(item(page, 'notes.txt').locator('.thumb.thumb-text')).toBeVisible();

  // Reloaded from the node (another listing), the thumbnails are still there.
  await page.reload();
  await expect(page.locator('#file-grid, #unlock-prompt').first()).toBeVisible({ timeout: 60_000 });
  if (await page.locator('#unlock-prompt').isVisible()) {
    await page.locator('#unlock-password').fill('Quartz-Lantern-Meadow-71');
    await page.locator('#unlock-submit').click();
  }
  await expect(item(page, 'wide.png').locator('img.thumb-img')).toHaveAttribute('src', /^blob:/, { timeout: 60_000 });

  // The gallery uses the sealed thumbnails (256 wide, not the 600 px
  // image decrypted).
  await page.getByRole('link', { name: 'Gallery' }).click();
  await expect(page.locator('[data-testid=gallery-item]')).toHaveCount(3);
  const g = await natural(page.locator('[data-testid=gallery-item][data-name="wide.png"] img.thumb-img'));
  expect(g.src).toMatch(/^blob:/);
  expect(g.w).toBe(256);
  const gr = await natural(page.locator('[data-testid=gallery-item][data-name="rotated.jpg"] img.thumb-img'));
  expect(gr).toMatchObject({ w: 48, h: 64 });

  expect(cspErrors).toEqual([]);
});
