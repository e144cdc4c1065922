// Helpers of the share link and file drop tests (share.spec.ts, drop.spec.ts).
import { Page, BrowserContext, Request, expect } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { item } from './unlock';

export function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cube-share-'));
}

// uploadRaw uploads files with metadata removal off, so that what comes
// back can be compared with the originals byte for byte.
export async function uploadRaw(page: Page, files: string[]) {
  const opts = page.locator('details.upload-options');
  if (!(await opts.evaluate((d) => (d as HTMLDetailsElement).open))) await opts.locator('summary').click();
  await page.locator('#upload-scrub').uncheck();
  await page.locator('#upload-files').setInputFiles(files);
  for (const f of files) await expect(item(page, path.basename(f))).toBeVisible({ timeout: 60_000 });
  for (const f of files) {
    await expect(page.locator(`[data-testid=upload-item][data-name="${path.basename(f)}"]`)).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  }
}

export async function selectItem(page: Page, name: string) {
  await item(page, name).locator('.col-size, .tile-meta').first().click();
  await expect(item(page, name)).toHaveAttribute('aria-selected', 'true');
}

export type LinkOpts = { mode?: 'fragment' | 'none' | 'password'; password?: string; maxDownloads?: number };

// createLink makes a share link of item name from the file manager's
// dialog and returns its address (and its key when sent separately).
export async function createLink(page: Page, name: string, o: LinkOpts = {}): Promise<{ url: string; key?: string }> {
  await selectItem(page, name);
  await page.locator('#action-share-link').click();
  const dlg = page.locator('#dialog-share-link');
  await expect(dlg).toBeVisible();
  await page.locator(`#share-mode-${o.mode ?? 'fragment'}`).check();
  if (o.password !== undefined) await page.locator('#share-password').fill(o.password);
  if (o.maxDownloads !== undefined) await page.locator('#share-max-downloads').fill(String(o.maxDownloads));
  await page.locator('#share-create').click();
  const urlBox = page.locator('#share-url');
  await expect(urlBox).toHaveValue(/\/s\/[a-z2-7]{26}/);
  const url = await urlBox.inputValue();
  let key: string | undefined;
  if (o.mode === 'none') key = await page.locator('#share-key').inputValue();
  await page.locator('#share-done').click();
  await expect(dlg).toHaveCount(0);
  return { url, key };
}

export function linkID(url: string): string {
  return new URL(url).pathname.split('/').pop()!;
}

// Recorder keeps everything a browser context sends: every request's URL,
// headers (Referer included) and body.
export class Recorder {
  readonly sent: string[] = [];
  private pending: Promise<void>[] = [];
  constructor(ctx: BrowserContext) {
    ctx.on('request', (r: Request) => {
      // headers() now; allHeaders() adds what the network layer set
      // (Referer, Cookie) once known: it never settles for a request whose
      // response never comes (a download still streaming), hence the bound.
      const early = r.headers();
      this.pending.push((async () => {
        const all = await Promise.race([
          r.allHeaders().catch(() => ({})),
          new Promise<Record<string, string>>((res) => setTimeout(() => res({}), 5_000)),
        ]);
        const headers = { ...early, ...all };
        let body = '';
        try {
          body = r.postDataBuffer()?.toString('latin1') ?? '';
        } catch {}
        this.sent.push([r.method(), r.url(), JSON.stringify(headers), body].join('\n'));
      })());
    });
  }
  async all(): Promise<string[]> {
    await Promise.all(this.pending);
    return this.sent;
  }
}

// filesUnder lists every file below dir (the node's data directory:
// SQLite files, grid shares, anything).
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

// secretsIn reports which of needles occur in any of the files (as text,
// and as the raw bytes of a base64url key).
export function secretsIn(files: string[], needles: string[]): string[] {
  const bufs: Buffer[] = [];
  for (const n of needles) {
    bufs.push(Buffer.from(n, 'utf8'));
    if (/^[A-Za-z0-9_-]{43}$/.test(n)) bufs.push(Buffer.from(n, 'base64url'));
  }
  const hits: string[] = [];
  for (const f of files) {
    const b = fs.readFileSync(f);
    for (const nb of bufs) if (b.includes(nb)) hits.push(f + ' contains ' + JSON.stringify(nb.toString('latin1')));
  }
  return hits;
}

// fitsPhone checks that the page does not scroll sideways at 360 px.
export async function fitsPhone(page: Page) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 360, height: 740 });
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  if (size) await page.setViewportSize(size);
}
