// Share links: a visitor without an account opens file and folder links in
// a second browser context (no cookies), previews and downloads; links
// without the key and password links ask for them; expired, used up and
// deleted links say so; the key, the password and the fragment reach
// neither the node's requests, nor its log, nor its data directory; a link
// goes out by mail through the node without its key.
import { test, expect, setupAdmin, CubeNode } from './cube';
import type { Page, Browser } from '@playwright/test';
import { spawn, execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { signInFirst, waitWorker, item, fixtures } from './unlock';
import { tmpDir, uploadRaw, createLink, selectItem, linkID, Recorder, filesUnder, secretsIn, fitsPhone } from './sharing';

async function owner(page: Page, node: CubeNode, request: any) {
  await setupAdmin(request, node);
  await signInFirst(page, node);
  await waitWorker(page);
}

// visitor opens a context of its own: no cookies, no session.
async function visitor(browser: Browser) {
  const ctx = await browser.newContext({ acceptDownloads: true });
  const rec = new Recorder(ctx);
  const page = await ctx.newPage();
  return { ctx, rec, page };
}

async function expectPrivate(node: CubeNode, rec: Recorder, secrets: string[]) {
  const sent = await rec.all();
  expect(sent.length).toBeGreaterThan(5);
  for (const s of secrets) {
    for (const r of sent) expect(r.includes(s), `a request carries a secret:\n${r}`).toBe(false);
    expect(node.logs().includes(s), 'the node log has a secret').toBe(false);
  }
  expect(secretsIn(filesUnder(node.dataDir), secrets)).toEqual([]);
}

test('file and folder links open without an account: preview, download, zip; the key stays in the browser', async ({ page, node, request, browser }) => {
  test.setTimeout(240_000);
  await owner(page, node, request);
  const dir = tmpDir();
  const photo = path.join(dir, 'photo.png');
  fs.copyFileSync(path.join(fixtures, 'png-rotated.png'), photo);
  const big = path.join(dir, 'data.bin');
  const data = crypto.randomBytes(2 * 1024 * 1024 + 777);
  fs.writeFileSync(big, data);
  await uploadRaw(page, [photo, big]);

  // A folder with a subfolder, made in the file manager.
  await page.locator('#new-folder').click();
  await page.locator('#mkdir-name').fill('album');
  await page.locator('#mkdir-name-submit').click();
  await item(page, 'album').dblclick();
  await expect(page.locator('#breadcrumbs [aria-current=location]')).toHaveText('album');
  const a = path.join(dir, 'a.txt');
  fs.writeFileSync(a, 'first file\n');
  const pic = path.join(dir, 'pic.png');
  fs.copyFileSync(path.join(fixtures, 'png-rotated.png'), pic);
  await uploadRaw(page, [a, pic]);
  await page.locator('#new-folder').click();
  await page.locator('#mkdir-name').fill('sub');
  await page.locator('#mkdir-name-submit').click();
  await item(page, 'sub').dblclick();
  const b = path.join(dir, 'b.txt');
  fs.writeFileSync(b, 'second file\n');
  await uploadRaw(page, [b]);
  await page.locator('#breadcrumbs a[data-testid=crumb]').first().click();
  await expect(page.locator('#breadcrumbs [aria-current=location]')).toHaveText('My files');

  const fileLink = await createLink(page, 'photo.png');
  const binLink = await createLink(page, 'data.bin');
  const folderLink = await createLink(page, 'album');
  for (const l of [fileLink, binLink, folderLink]) expect(new URL(l.url).hash).toMatch(/^#[A-Za-z0-9_-]{43}$/);

  const v = await visitor(browser);
  // The file link: name, size, preview of the image.
  const resp = await v.page.goto(fileLink.url);
  expect(resp!.headers()['referrer-policy']).toBe('no-referrer');
  await expect(v.page.locator('#share-name')).toHaveText('photo.png', { timeout: 60_000 });
  await expect(v.page.locator('#share-info')).toContainText('B');
  await expect(v.page.locator('#logout')).toHaveCount(0); // no sign-in chrome
  await fitsPhone(v.page);
  await v.page.locator('#share-preview').click();
  await expect.poll(() => v.page.locator('#preview-image').evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBeGreaterThan(0);
  await v.page.keyboard.press('Escape');
  await expect(v.page.locator('#preview')).toHaveCount(0);

  // The bigger file: streamed through the service worker, byte for byte.
  await v.page.goto(binLink.url);
  await expect(v.page.locator('#share-name')).toHaveText('data.bin', { timeout: 60_000 });
  await waitWorker(v.page);
  let dl = v.page.waitForEvent('download');
  await v.page.locator('#share-download').click();
  let download = await dl;
  expect(download.suggestedFilename()).toBe('data.bin');
  expect(await download.failure()).toBeNull();
  expect(fs.readFileSync((await download.path())!).equals(data)).toBe(true);

  // The folder link: browse, breadcrumbs, preview with arrows, zip.
  await v.page.goto(folderLink.url);
  await expect(v.page.locator('#share-crumbs [aria-current=location]')).toHaveText('album', { timeout: 60_000 });
  for (const n of ['a.txt', 'pic.png', 'sub']) await expect(item(v.page, n)).toBeVisible();
  await fitsPhone(v.page);
  await item(v.page, 'sub').locator('.item-name').click();
  await expect(v.page.locator('#share-crumbs [aria-current=location]')).toHaveText('sub');
  await expect(item(v.page, 'b.txt')).toBeVisible();
  await expect(item(v.page, 'a.txt')).toHaveCount(0);
  await v.page.locator('#share-crumbs button[data-testid=crumb]').first().click();
  await expect(v.page.locator('#share-crumbs [aria-current=location]')).toHaveText('album');
  await item(v.page, 'pic.png').locator('.item-name').click();
  await expect.poll(() => v.page.locator('#preview-image').evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBeGreaterThan(0);
  await v.page.keyboard.press('ArrowLeft');
  await expect(v.page.locator('#preview-name')).toHaveText('a.txt');
  await expect(v.page.locator('#preview-text')).toHaveText('first file\n');
  await v.page.keyboard.press('Escape');
  dl = v.page.waitForEvent('download');
  await item(v.page, 'a.txt').locator('[data-testid=download]').click();
  download = await dl;
  expect(fs.readFileSync((await download.path())!, 'utf8')).toBe('first file\n');
  dl = v.page.waitForEvent('download');
  await v.page.locator('#share-download-all').click();
  download = await dl;
  expect(download.suggestedFilename()).toBe('album.zip');
  expect(await download.failure()).toBeNull();
  const zip = (await download.path())!;
  const list = execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  expect(list).toEqual(['album/a.txt', 'album/pic.png', 'album/sub/b.txt']);
  expect(execFileSync('unzip', ['-p', zip, 'album/sub/b.txt'], { encoding: 'utf8' })).toBe('second file\n');
  expect(execFileSync('unzip', ['-p', zip, 'album/pic.png']).equals(fs.readFileSync(pic))).toBe(true);

  // The visitor never had a session, and no key left its browser.
  expect(await v.ctx.cookies()).toEqual([]);
  const keys = [fileLink, binLink, folderLink].map((l) => new URL(l.url).hash.slice(1));
  await expectPrivate(node, v.rec, [...keys, ...keys.map((k) => '#' + k)]);
  await v.ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a link without its key asks for it; a password link refuses a wrong password', async ({ page, node, request, browser }) => {
  test.setTimeout(180_000);
  await owner(page, node, request);
  const dir = tmpDir();
  const note = path.join(dir, 'note.txt');
  fs.writeFileSync(note, 'for your eyes only\n');
  await uploadRaw(page, [note]);
  const noKey = await createLink(page, 'note.txt', { mode: 'none' });
  expect(noKey.url).not.toContain('#');
  expect(noKey.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const password = 'Violet-Harbour-Stone-42';
  const withPw = await createLink(page, 'note.txt', { mode: 'password', password });
  expect(withPw.url).not.toContain('#');

  const v = await visitor(browser);
  await v.page.goto(noKey.url);
  await expect(v.page.locator('#share-ask[data-ask=key]')).toBeVisible({ timeout: 60_000 });
  await v.page.locator('#share-secret').fill(crypto.randomBytes(32).toString('base64url'));
  await v.page.locator('#share-ask-submit').click();
  await expect(v.page.locator('#share-ask [role=alert]')).toContainText('does not open this link');
  await v.page.locator('#share-secret').fill(noKey.key!);
  await v.page.locator('#share-ask-submit').click();
  await expect(v.page.locator('#share-name')).toHaveText('note.txt');
  await v.page.locator('#share-preview').click();
  await expect(v.page.locator('#preview-text')).toHaveText('for your eyes only\n');
  await v.page.keyboard.press('Escape');

  await v.page.goto(withPw.url);
  await expect(v.page.locator('#share-ask[data-ask=password]')).toBeVisible({ timeout: 60_000 });
  await v.page.locator('#share-secret').fill('Wrong-Password-1');
  await v.page.locator('#share-ask-submit').click();
  await expect(v.page.locator('#share-ask [role=alert]')).toContainText('Wrong password');
  await expect(v.page.locator('#share-name')).toHaveCount(0);
  await v.page.locator('#share-secret').fill(password);
  await v.page.locator('#share-ask-submit').click();
  await expect(v.page.locator('#share-name')).toHaveText('note.txt', { timeout: 60_000 });
  await waitWorker(v.page);
  const dl = v.page.waitForEvent('download');
  await v.page.locator('#share-download').click();
  expect(fs.readFileSync((await (await dl).path())!, 'utf8')).toBe('for your eyes only\n');

  await expectPrivate(node, v.rec, [noKey.key!, password, 'Wrong-Password-1']);
  await v.ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('used up, expired, deleted and unknown links each show a clear page', async ({ page, node, request, browser }) => {
  test.setTimeout(180_000);
  await owner(page, node, request);
  const dir = tmpDir();
  const f = path.join(dir, 'once.txt');
  // Larger than 55 bytes: smaller files travel inside their sealed
  // metadata, and fetching no content counts no download.
  const once = 'only once\n'.repeat(40);
  fs.writeFileSync(f, once);
  await uploadRaw(page, [f]);
  const onceLink = await createLink(page, 'once.txt', { maxDownloads: 1 });
  const later = await createLink(page, 'once.txt');
  const gone = await createLink(page, 'once.txt');

  const v = await visitor(browser);
  const gonePage = async (url: string, code: string, text: RegExp) => {
    // A fresh load (the same URL again would only move to its fragment).
    await v.page.goto('about:blank');
    await v.page.goto(url);
    await expect(v.page.locator(`#share-gone[data-code=${code}]`)).toBeVisible({ timeout: 60_000 });
    await expect(v.page.locator('#share-gone h1')).toHaveText(text);
    await expect(v.page.locator('body')).not.toContainText(/panic|goroutine|stack/i);
  };

  // Used up: one download, then the link is refused to anyone new.
  await v.page.goto(onceLink.url);
  await expect(v.page.locator('#share-name')).toHaveText('once.txt', { timeout: 60_000 });
  await waitWorker(v.page);
  const dl = v.page.waitForEvent('download');
  await v.page.locator('#share-download').click();
  expect(fs.readFileSync((await (await dl).path())!, 'utf8')).toBe(once);
  await gonePage(onceLink.url, 'link_exhausted', /used up/);

  // Deleted from the link manager: it stops working at once.
  await v.page.goto(gone.url);
  await expect(v.page.locator('#share-name')).toHaveText('once.txt', { timeout: 60_000 });
  await page.getByRole('link', { name: 'Links', exact: true }).click();
  const card = page.locator(`[data-testid=link][data-id="${linkID(gone.url)}"]`);
  await expect(card).toBeVisible();
  await expect(card.locator('[data-testid=link-kind]')).toHaveText('File');
  await expect(card.locator('[data-testid=link-keymode]')).toHaveText('Key in the link');
  await expect(page.locator(`[data-testid=link][data-id="${linkID(onceLink.url)}"]`)).toHaveAttribute('data-state', 'link_exhausted');
  await expect(page.locator(`[data-testid=link][data-id="${linkID(onceLink.url)}"] [data-testid=link-downloads]`)).toHaveText('1 of 1');
  await card.locator('[data-testid=link-delete]').click();
  await card.locator('[data-testid=link-delete-confirm]').click();
  await expect(card).toHaveCount(0);
  await gonePage(gone.url, 'link_removed', /removed/);

  // Expired: the owner sets the expiry to now ("stop this link"), through
  // the API as the link manager would; no clock is waited for.
  const base = new URL(node.url).origin;
  const token = (await (await page.request.get(`${base}/api/v1/state`)).json()).csrf_token;
  const r = await page.request.patch(`${base}/api/v1/links/${linkID(later.url)}`, {
    headers: { 'X-CSRF-Token': token, Origin: base },
    data: { expires: new Date(Date.now() - 60_000).toISOString() },
  });
  expect(r.status()).toBe(200);
  expect((await r.json()).state).toBe('link_expired');
  await gonePage(later.url, 'link_expired', /expired/);

  // A link id that never existed.
  await gonePage(`${base}/s/${'a'.repeat(26)}`, 'not_found', /does not exist/);
  await v.ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the link manager edits expiry and download limit', async ({ page, node, request }) => {
  await owner(page, node, request);
  const dir = tmpDir();
  const f = path.join(dir, 'doc.txt');
  fs.writeFileSync(f, 'doc\n');
  await uploadRaw(page, [f]);
  const l = await createLink(page, 'doc.txt', { mode: 'none' });
  await page.getByRole('link', { name: 'Links', exact: true }).click();
  const card = page.locator(`[data-testid=link][data-id="${linkID(l.url)}"]`);
  await expect(card.locator('[data-testid=link-keymode]')).toHaveText('Key sent separately');
  await expect(card.locator('[data-testid=link-expires]')).toHaveText('Never');
  await expect(card.locator('[data-testid=link-url]')).toHaveValue(l.url);
  await fitsPhone(page);
  await card.locator('[data-testid=link-edit]').click();
  const next = new Date(Date.now() + 10 * 24 * 3600_000);
  const day = `${next.getFullYear()}-${String(next.getMonth() + 1).padStart(2, '0')}-${String(next.getDate()).padStart(2, '0')}`;
  await card.locator('#link-expires').fill(day);
  await card.locator('#link-max').fill('5');
  await card.locator('#link-save').click();
  await expect(card.locator('[data-testid=link-downloads]')).toHaveText('0 of 5');
  await expect(card.locator('[data-testid=link-expires]')).toContainText(String(next.getFullYear()));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a link goes out by mail through the node, without its key', async ({ page, node, request }) => {
  test.setTimeout(180_000);
  const mailDir = tmpDir();
  // Built first and started directly, so that it is stopped by its own
  // PID (a `go run` would leave its child behind).
  const sinkBin = path.join(mailDir, 'smtpsink');
  execFileSync('go', ['build', '-o', sinkBin, './e2e/tools/smtpsink'], { cwd: path.resolve(__dirname, '..') });
  const sink = spawn(sinkBin, ['--addr', '127.0.0.1:0', '--dir', mailDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      sink.stdout!.on('data', (d) => {
        out += d;
        const m = out.match(/listening 127\.0\.0\.1:(\d+)/);
        if (m) resolve(Number(m[1]));
      });
      sink.on('exit', () => reject(new Error('smtpsink exited: ' + out)));
    });
    await owner(page, node, request);

    // The administrator sets the SMTP settings and sends a test mail.
    await page.getByRole('link', { name: 'Admin', exact: true }).click();
    await page.locator('#mail-host').fill('127.0.0.1');
    await page.locator('#mail-port').fill(String(port));
    await page.locator('#mail-tls').selectOption('none');
    await page.locator('#mail-from').fill('cube@example.test');
    await page.locator('#mail-save').click();
    await expect(page.locator('#mail-notice')).toContainText('saved');
    await page.locator('#mail-test-to').fill('admin@example.test');
    await page.locator('#mail-test').click();
    await expect(page.locator('#mail-test-ok')).toBeVisible();
    await expect.poll(() => fs.readdirSync(mailDir).filter((n) => n.endsWith('.eml')).length).toBe(1);

    // A link with its key in the URL: the node's mail carries the link
    // without the key, and the page says so.
    await page.getByRole('link', { name: 'Files', exact: true }).click();
    const dir = tmpDir();
    const f = path.join(dir, 'report.txt');
    fs.writeFileSync(f, 'quarterly\n');
    await uploadRaw(page, [f]);
    await selectItem(page, 'report.txt');
    await page.locator('#action-share-link').click();
    await page.locator('#share-create').click();
    const url = await page.locator('#share-url').inputValue();
    const key = new URL(url).hash.slice(1);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await expect(page.locator('#share-mail-note')).toContainText('without its key');
    await expect(page.locator('#share-mail-key')).toHaveAttribute('href', /^mailto:/);
    await page.locator('#share-mail-to').fill('bob@example.test');
    await page.locator('#share-mail-send').click();
    await expect(page.locator('#share-notice')).toContainText('Sent to bob@example.test');
    await expect.poll(() => fs.readdirSync(mailDir).filter((n) => n.endsWith('.eml')).length).toBe(2);
    const mails = fs.readdirSync(mailDir).filter((n) => n.endsWith('.eml')).map((n) => fs.readFileSync(path.join(mailDir, n), 'utf8'));
    // Quoted-printable soft line breaks would split the address.
    const mail = mails.map((m) => m.replace(/=\r?\n/g, '')).find((m) => m.includes('bob@example.test'))!;
    expect(mail).toBeTruthy();
    expect(mail).toContain(url.split('#')[0]);
    expect(mail.includes(key)).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  } finally {
    if (sink.exitCode === null) sink.kill('SIGTERM');
    fs.rmSync(mailDir, { recursive: true, force: true });
  }
});
