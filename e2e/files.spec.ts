// The file manager: uploads (picker, folder picker, drag and drop of files
// and folder trees) with progress, folders, rename, move, trash and
// restore, versions, and the small-screen layout.
import { test, expect, admin, setupAdmin, CubeNode } from './cube';
import type { Page, Locator } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// signIn signs in through the UI and gets the files page unlocked: it saves
// the recovery key when the keys are made now, or gives the password to the
// unlock prompt.
async function signIn(page: Page, node: CubeNode) {
  await page.goto(node.url + '/login');
  await page.getByLabel('User name').fill(admin.name);
  await page.getByLabel('Password', { exact: true }).fill(admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const files = page.locator('#files-drop');
  const card = page.locator('#recovery-key-card');
  const prompt = page.locator('#unlock-prompt');
  await expect(files.or(card).or(prompt)).toBeVisible({ timeout: 60_000 });
  if (await card.isVisible()) {
    await page.locator('#recovery-key-saved').check();
    await page.locator('#recovery-key-done').click();
  }
  await expect(files.or(prompt)).toBeVisible({ timeout: 60_000 });
  if (await prompt.isVisible()) {
    await page.locator('#unlock-password').fill(admin.password);
    await page.locator('#unlock-submit').click();
  }
  await expect(page).toHaveURL(/\/files/);
  await expect(files).toBeVisible({ timeout: 60_000 });
  await expect(page.locator('#files-empty, #file-list, #file-grid').first()).toBeVisible();
}

const item = (page: Page, name: string): Locator => page.locator(`[data-testid=item][data-name="${name}"]`);
const upload = (page: Page, name: string): Locator => page.locator(`[data-testid=upload-item][data-name="${name}"]`);

async function select(page: Page, name: string) {
  // A click on the row's size column selects it alone.
  await item(page, name).locator('.col-size, .tile-meta').first().click();
  await expect(item(page, name)).toHaveAttribute('aria-selected', 'true');
}

async function openFolder(page: Page, name: string) {
  await item(page, name).dblclick();
  await expect(page.locator('#breadcrumbs [aria-current=location]')).toHaveText(name);
}

async function goRoot(page: Page) {
  await page.locator('#breadcrumbs a[data-testid=crumb]').first().click();
  await expect(page.locator('#breadcrumbs [aria-current=location]')).toHaveText('My files');
}

function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >> 16;
  }
  return b;
}

test('upload by picker with progress; new folder, rename, move, delete, restore from the trash', async ({ page, node, request }) => {
  test.setTimeout(180_000);
  await setupAdmin(request, node);
  await signIn(page, node);
  await expect(page.locator('#files-empty')).toBeVisible();

  // New folder.
  await page.locator('#new-folder').click();
  await page.locator('#mkdir-name').fill('Docs');
  await page.locator('#mkdir-name-submit').click();
  await expect(item(page, 'Docs')).toBeVisible();

  // Upload three files, one big enough to show progress, one empty.
  await page.locator('#upload-files').setInputFiles([
    { name: 'hello.txt', mimeType: 'text/plain', buffer: Buffer.from('hello, cube\n') },
    { name: 'big.bin', mimeType: 'application/octet-stream', buffer: bytes(6 << 20) },
    { name: 'empty.txt', mimeType: 'text/plain', buffer: Buffer.alloc(0) },
  ]);
  await expect(page.locator('#upload-panel .upq')).toBeVisible();
  await expect(upload(page, 'big.bin')).toBeVisible();
  await expect(page.locator('#upload-panel').getByRole('progressbar').first()).toBeVisible();
  await expect(page.locator('#upload-summary')).toContainText('of');
  await expect(page.locator('[data-testid=upload-item][data-state=done]')).toHaveCount(3, { timeout: 120_000 });
  await expect(page.locator('#upload-overall')).toHaveAttribute('aria-valuenow', '100');
  for (const n of ['hello.txt', 'big.bin', 'empty.txt']) await expect(item(page, n)).toBeVisible();
  await expect(item(page, 'empty.txt').locator('.col-size')).toHaveText('0 B');
  await expect(item(page, 'big.bin').locator('[data-testid=mode-secure], [data-testid=mode-standard]')).toHaveCount(1);

  // Rename, including a taken name (offers a free one).
  await select(page, 'hello.txt');
  await page.locator('#action-rename').click();
  await page.locator('#rename-name').fill('empty.txt');
  await page.locator('#rename-name-submit').click();
  await expect(page.locator('#dialog-rename [role=alert]')).toContainText('already in this folder');
  await expect(page.locator('#rename-name-suggest')).toHaveText('Use “empty (2).txt”');
  await page.locator('#rename-name').fill('greeting.txt');
  await page.locator('#rename-name-submit').click();
  await expect(item(page, 'greeting.txt')).toBeVisible();
  await expect(item(page, 'hello.txt')).toHaveCount(0);

  // Move with the folder chooser.
  await select(page, 'greeting.txt');
  await page.locator('#action-move').click();
  await page.locator('[data-testid=chooser-folder][data-name="Docs"]').click();
  await expect(page.locator('#dialog-move .chooser-crumbs .current')).toHaveText('Docs');
  await page.locator('#chooser-submit').click();
  await expect(item(page, 'greeting.txt')).toHaveCount(0);
  await openFolder(page, 'Docs');
  await expect(item(page, 'greeting.txt')).toBeVisible();

  // Delete (to the trash), then restore it from the trash page.
  await select(page, 'greeting.txt');
  await page.locator('#action-delete').click();
  await expect(item(page, 'greeting.txt')).toHaveCount(0);
  await expect(page.locator('#files-notice')).toContainText('trash');
  await page.getByRole('link', { name: 'Trash' }).click();
  await expect(page).toHaveURL(/\/trash$/);
  const trashed = page.locator('[data-testid=trash-item][data-name="greeting.txt"]');
  await expect(trashed).toBeVisible();
  await trashed.locator('[data-testid=trash-restore]').click();
  await expect(page.locator('#trash-notice')).toContainText('Restored');
  await expect(trashed).toHaveCount(0);
  await page.getByRole('link', { name: 'Files' }).click();
  await openFolder(page, 'Docs');
  await expect(item(page, 'greeting.txt')).toBeVisible();

  // Drag an item onto the breadcrumb of the root: moves it back.
  await item(page, 'greeting.txt').dragTo(page.locator('#breadcrumbs a[data-testid=crumb]').first());
  await expect(item(page, 'greeting.txt')).toHaveCount(0);
  await goRoot(page);
  await expect(item(page, 'greeting.txt')).toBeVisible();

  // Delete forever from the trash.
  await select(page, 'empty.txt');
  await page.locator('#action-delete').click();
  await expect(item(page, 'empty.txt')).toHaveCount(0);
  await page.goto(node.url + '/trash');
  await page.locator('[data-testid=trash-item][data-name="empty.txt"] [data-testid=trash-delete]').click();
  await page.locator('[data-testid=trash-item][data-name="empty.txt"] [data-testid=trash-delete-confirm]').click();
  await expect(page.locator('#trash-empty-state')).toBeVisible();
});

test('upload folder trees by the folder picker and by drag and drop', async ({ page, node, request }) => {
  test.setTimeout(180_000);
  await setupAdmin(request, node);
  await signIn(page, node);

  // A folder from disk through <input webkitdirectory>.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cube-tree-'));
  const tree = path.join(tmp, 'tree');
  fs.mkdirSync(path.join(tree, 'sub', 'deeper'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'a.txt'), 'a');
  fs.writeFileSync(path.join(tree, 'sub', 'b.txt'), 'bb');
  fs.writeFileSync(path.join(tree, 'sub', 'deeper', 'c.bin'), bytes(300_000, 7));
  try {
    await page.locator('#upload-folder').setInputFiles(tree);
    await expect(page.locator('[data-testid=upload-item][data-state=done]')).toHaveCount(3, { timeout: 90_000 });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  await expect(item(page, 'tree')).toBeVisible();
  await openFolder(page, 'tree');
  await expect(item(page, 'a.txt')).toBeVisible();
  await openFolder(page, 'sub');
  await expect(item(page, 'b.txt')).toBeVisible();
  await openFolder(page, 'deeper');
  await expect(item(page, 'c.bin')).toBeVisible();
  await goRoot(page);
  await page.locator('#upload-clear').click();

  // Plain files dropped from the desktop: a DataTransfer built in the page.
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['dropped one'], 'drop1.txt', { type: 'text/plain' }));
    dt.items.add(new File([new Uint8Array(200_000)], 'drop2.bin'));
    const zone = document.querySelector('#files-drop')!;
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await expect(item(page, 'drop1.txt')).toBeVisible({ timeout: 60_000 });
  await expect(item(page, 'drop2.bin')).toBeVisible();

  // A folder tree dropped: the browser hands FileSystemEntry objects; the
  // page cannot make real ones, so the drop carries look-alikes with the
  // same interface (createReader().readEntries in batches, file()).
  await page.evaluate(() => {
    const fileEntry = (f: File) => ({ name: f.name, isFile: true, isDirectory: false, file: (ok: any) => setTimeout(() => ok(f), 1) });
    const dirEntry = (name: string, children: any[]) => ({
      name, isFile: false, isDirectory: true,
      createReader: () => {
        let given = 0;
        // Batches of one, then an empty batch: the reader must loop.
        return { readEntries: (ok: any) => setTimeout(() => ok(given < children.length ? [children[given++]] : []), 1) };
      },
    });
    const root = dirEntry('album', [
      fileEntry(new File(['x'], 'one.txt')),
      dirEntry('2024', [fileEntry(new File(['yy'], 'two.txt')), fileEntry(new File(['zzz'], 'three.txt'))]),
    ]);
    const dt = { types: ['Files'], items: [{ kind: 'file', webkitGetAsEntry: () => root, getAsFile: () => null }], files: [], dropEffect: 'none' };
    const zone = document.querySelector('#files-drop')!;
    for (const type of ['dragover', 'drop']) {
      const ev = new Event(type, { bubbles: true, cancelable: true });
      Object.defineProperty(ev, 'dataTransfer', { value: dt });
      zone.dispatchEvent(ev);
    }
  });
  await expect(item(page, 'album')).toBeVisible({ timeout: 60_000 });
  await openFolder(page, 'album');
  await expect(item(page, 'one.txt')).toBeVisible();
  await openFolder(page, '2024');
  await expect(item(page, 'two.txt')).toBeVisible();
  await expect(item(page, 'three.txt')).toBeVisible();

  // Copy a file into another folder with the chooser: both are there.
  await goRoot(page);
  await select(page, 'drop1.txt');
  await page.locator('#action-copy').click();
  await page.locator('[data-testid=chooser-folder][data-name="tree"]').click();
  await expect(page.locator('#dialog-copy .chooser-crumbs .current')).toHaveText('tree');
  await page.locator('#chooser-submit').click();
  await expect(page.locator('#files-notice')).toContainText('Copied 1');
  await expect(item(page, 'drop1.txt')).toBeVisible();
  await openFolder(page, 'tree');
  await expect(item(page, 'drop1.txt')).toBeVisible();
});

test('replacing a file makes a version; an older version can be restored; keep both adds (2)', async ({ page, node, request }) => {
  test.setTimeout(180_000);
  await setupAdmin(request, node);
  await signIn(page, node);

  await page.locator('#upload-files').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('one') });
  await expect(upload(page, 'notes.txt')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(item(page, 'notes.txt').locator('.col-size')).toHaveText('3 B');
  await page.locator('#upload-clear').click();

  // Same name again: the upload asks; Replace stores a new version.
  await page.locator('#upload-files').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('second') });
  await expect(upload(page, 'notes.txt')).toHaveAttribute('data-state', 'conflict', { timeout: 60_000 });
  await upload(page, 'notes.txt').locator('[data-testid=upload-replace]').click();
  await expect(upload(page, 'notes.txt')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(item(page, 'notes.txt').locator('.col-size')).toHaveText('6 B');
  await page.locator('#upload-clear').click();

  // Versions: two, the newest current; restore the first.
  await select(page, 'notes.txt');
  await page.locator('#action-versions').click();
  const versions = page.locator('#dialog-versions [data-testid=version]');
  await expect(versions).toHaveCount(2);
  await expect(page.locator('#dialog-versions [data-testid=version][data-current=true]')).toHaveCount(1);
  // The old version downloads with its own content.
  const [dl] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('#dialog-versions [data-testid=version][data-current=false] [data-testid=version-download]').first().click(),
  ]);
  expect(dl.suggestedFilename()).toMatch(/^notes \(\d{4}-\d\d-\d\d \d{4}\)\.txt$/);
  expect(fs.readFileSync(await dl.path()).toString()).toBe('one');
  await page.locator('#dialog-versions [data-testid=version][data-current=false] [data-testid=version-restore]').first().click();
  await expect(page.locator('#files-notice')).toContainText('Restored');
  await page.keyboard.press('Escape');
  await expect(item(page, 'notes.txt').locator('.col-size')).toHaveText('3 B');

  // Keep both: the second copy gets " (2)".
  await page.locator('#upload-files').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('third!!') });
  await expect(upload(page, 'notes.txt')).toHaveAttribute('data-state', 'conflict', { timeout: 60_000 });
  await upload(page, 'notes.txt').locator('[data-testid=upload-keep-both]').click();
  await expect(item(page, 'notes (2).txt')).toBeVisible({ timeout: 60_000 });
  await expect(item(page, 'notes (2).txt').locator('.col-size')).toHaveText('7 B');

  // "Keep no history" is kept by the node.
  await page.locator('#new-folder').click();
  await page.locator('#mkdir-name').fill('Hist');
  await page.locator('#mkdir-name-submit').click();
  await openFolder(page, 'Hist');
  await page.locator('.upload-options summary').click();
  await page.locator('#keep-no-history').check();
  await expect(page.locator('#files-notice')).toContainText('no history');
  await page.reload();
  await expect(page.locator('#files-empty')).toBeVisible({ timeout: 60_000 });
  await page.locator('.upload-options summary').click();
  await expect(page.locator('#keep-no-history')).toBeChecked();
});

test('an upload cut short by a reload continues when the same file is picked again', async ({ page, node, request }) => {
  test.setTimeout(180_000);
  await setupAdmin(request, node);
  await signIn(page, node);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cube-resume-'));
  const file = path.join(tmp, 'resume.bin');
  fs.writeFileSync(file, bytes(5 << 20, 3));
  try {
    // Slow it down so that the reload comes in the middle.
    await page.locator('.upload-options summary').click();
    await page.locator('#upload-rate').fill('500');
    await page.locator('#upload-rate').press('Enter');
    await page.locator('#upload-files').setInputFiles(file);
    await expect(upload(page, 'resume.bin')).toBeVisible();
    await expect.poll(async () => Number(await page.locator('#upload-overall').getAttribute('aria-valuenow')), { timeout: 60_000 }).toBeGreaterThan(0);
    expect(Number(await page.locator('#upload-overall').getAttribute('aria-valuenow'))).toBeLessThan(100);

    await page.reload();
    await expect(page.locator('#files-empty')).toBeVisible({ timeout: 60_000 });
    await expect(page.locator('#upload-unfinished')).toContainText('resume.bin');
    await expect(page.locator('#upload-unfinished')).toContainText('Choose the same files again');
    await page.locator('#upload-files').setInputFiles(file);
    await expect(upload(page, 'resume.bin')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
    await expect(upload(page, 'resume.bin')).toContainText('resumed from an earlier visit');
    await expect(item(page, 'resume.bin').locator('.col-size')).toHaveText('5.2 MB');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('favourites, recent files and the gallery', async ({ page, node, request }) => {
  test.setTimeout(120_000);
  await setupAdmin(request, node);
  await signIn(page, node);
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
  await page.locator('#upload-files').setInputFiles([
    { name: 'dot.png', mimeType: 'image/png', buffer: png },
    { name: 'readme.md', mimeType: 'text/markdown', buffer: Buffer.from('# hi') },
  ]);
  await expect(page.locator('[data-testid=upload-item][data-state=done]')).toHaveCount(2, { timeout: 60_000 });
  await item(page, 'readme.md').locator('[data-testid=favorite]').click();
  await expect(item(page, 'readme.md').locator('[data-testid=favorite]')).toHaveAttribute('aria-pressed', 'true');

  await page.getByRole('link', { name: 'Favourites' }).click();
  await expect(page.locator('#favorites-list [data-testid=item]')).toHaveCount(1);
  await expect(page.locator('#favorites-list [data-testid=item][data-name="readme.md"]')).toBeVisible();

  await page.getByRole('link', { name: 'Recent' }).click();
  await expect(page.locator('#recent-list [data-testid=item][data-name="dot.png"]')).toBeVisible();
  await expect(page.locator('#recent-list [data-testid=item][data-name="readme.md"]')).toBeVisible();

  await page.getByRole('link', { name: 'Gallery' }).click();
  const tile = page.locator('[data-testid=gallery-item][data-name="dot.png"]');
  await expect(tile).toBeVisible();
  await expect(page.locator('[data-testid=gallery-item]')).toHaveCount(1);
  await expect(tile.locator('img.thumb-img')).toHaveAttribute('src', /^blob:/);
});

test('a folder with its own password asks for it before it opens', async ({ page, node, request }) => {
  test.setTimeout(120_000);
  await setupAdmin(request, node);
  await signIn(page, node);
  await page.locator('#new-folder').click();
  await page.locator('#mkdir-name').fill('Vault');
  await page.locator('#mkdir-password').fill('Vault-Secret-Pass-42');
  await page.locator('#mkdir-name-submit').click();
  await expect(item(page, 'Vault')).toBeVisible();
  await expect(item(page, 'Vault').locator('.own-password')).toBeVisible();
  // A new tab does not know the folder's password.
  const other = await page.context().newPage();
  await other.goto(node.url + '/files');
  const prompt = other.locator('#unlock-prompt');
  await expect(other.locator('#files-drop').or(prompt)).toBeVisible({ timeout: 60_000 });
  if (await prompt.isVisible()) {
    await other.locator('#unlock-password').fill(admin.password);
    await other.locator('#unlock-submit').click();
  }
  await item(other, 'Vault').dblclick();
  await expect(other.locator('#dialog-unlock')).toBeVisible();
  await other.locator('#unlock-item-password').fill('wrong password');
  await other.locator('#unlock-item-submit').click();
  await expect(other.locator('#dialog-unlock [role=alert]')).toBeVisible();
  await other.locator('#unlock-item-password').fill('Vault-Secret-Pass-42');
  await other.locator('#unlock-item-submit').click();
  await expect(other.locator('#breadcrumbs [aria-current=location]')).toHaveText('Vault');
  await expect(other.locator('#files-empty')).toBeVisible();
});

test('a 360 px wide screen shows /files with items, list and grid, without horizontal scrolling', async ({ browser, node, request }) => {
  test.setTimeout(120_000);
  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const page = await ctx.newPage();
  await setupAdmin(request, node);
  await signIn(page, node);
  await page.locator('#upload-files').setInputFiles([
    { name: 'a-file-with-a-really-long-name-that-would-overflow-a-small-screen-' + 'x'.repeat(60) + '.txt', mimeType: 'text/plain', buffer: Buffer.from('x') },
    { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: bytes(2000) },
  ]);
  await expect(page.locator('[data-testid=upload-item][data-state=done]')).toHaveCount(2, { timeout: 60_000 });
  await select(page, 'photo.jpg');
  const noOverflow = async () => {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const wide = await page.evaluate(() =>
      [...document.querySelectorAll('body *')]
        .filter((e) => (e as HTMLElement).offsetParent !== null && e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map((e) => e.tagName + '#' + e.id + '.' + (e as HTMLElement).className));
    expect(wide).toEqual([]);
  };
  await noOverflow();
  await page.locator('#view-toggle').click();
  await expect(page.locator('#file-grid')).toBeVisible();
  await noOverflow();
  await ctx.close();
});

test('a double-click on an item at the bottom of the screen opens it, not a button of the selection bar', async ({ page, node, request }) => {
  await setupAdmin(request, node);
  await signIn(page, node);
  for (const name of ['First', 'Low']) {
    await page.locator('#new-folder').click();
    await page.locator('#mkdir-name').fill(name);
    await page.locator('#mkdir-name-submit').click();
    await expect(item(page, name)).toBeVisible();
  }
  // Make the screen end just below the middle of the row: the selection bar
  // that the first click shows floats there.
  const box = (await item(page, 'Low').boundingBox())!;
  await page.setViewportSize({ width: 1280, height: Math.round(box.y + box.height / 2 + 30) });
  const at = (await item(page, 'Low').boundingBox())!;
  const x = at.x + at.width / 2, y = at.y + at.height / 2;
  // A person's double-click: two clicks a moment apart.
  await page.mouse.click(x, y);
  await page.waitForTimeout(150);
  await page.mouse.click(x, y, { clickCount: 2 });
  await expect(page.locator('#breadcrumbs [aria-current=location]')).toHaveText('Low');
});
