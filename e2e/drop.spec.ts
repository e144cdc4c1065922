// File drops: an anonymous visitor uploads into a folder through an upload
// link without seeing the folder; the owner finds the files there, intact;
// uploads over the link's limits are refused and leave nothing stored.
import { test, expect, setupAdmin } from './cube';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { signInFirst, waitWorker, item, upload } from './unlock';
import { tmpDir, selectItem, linkID, Recorder, fitsPhone } from './sharing';

test('an anonymous visitor drops two files; cannot list the folder; over-limit files are refused; the owner gets them intact', async ({ page, node, request, browser }) => {
  test.setTimeout(240_000);
  await setupAdmin(request, node);
  await signInFirst(page, node);
  await waitWorker(page);
  const base = new URL(node.url).origin;
  const dir = tmpDir();

  // The owner's folder, with a file the visitor must not see.
  await page.locator('#new-folder').click();
  await page.locator('#mkdir-name').fill('Inbox');
  await page.locator('#mkdir-name-submit').click();
  const folderID = (await item(page, 'Inbox').getAttribute('data-id'))!;
  await item(page, 'Inbox').dblclick();
  await expect(page.locator('#breadcrumbs [aria-current=location]')).toHaveText('Inbox');
  const secret = path.join(dir, 'secret-plan.txt');
  fs.writeFileSync(secret, 'not for visitors\n');
  await upload(page, [secret]);
  await page.locator('#breadcrumbs a[data-testid=crumb]').first().click();

  // An upload link: at most 2 files of at most 1 MB each.
  await selectItem(page, 'Inbox');
  await page.locator('#action-drop-link').click();
  await page.locator('#drop-max-file').fill('1');
  await page.locator('#drop-max-files').fill('2');
  await page.locator('#drop-create').click();
  const url = await page.locator('#share-url').inputValue();
  expect(url).toMatch(/\/s\/[a-z2-7]{26}/);
  await page.locator('#share-done').click();
  const id = linkID(url);

  // The visitor: a context without cookies.
  const ctx = await browser.newContext();
  const rec = new Recorder(ctx);
  const v = await ctx.newPage();
  const resp = await v.goto(url);
  expect(resp!.headers()['referrer-policy']).toBe('no-referrer');
  await expect(v.locator('#drop-title')).toHaveText('Send files to admin', { timeout: 60_000 });
  await expect(v.locator('#drop-limits')).toContainText('2 more file(s)');
  await expect(v.locator('#drop-limits')).toContainText('1.0 MB per file');
  // No listing of any kind.
  await expect(v.locator('#share-list, [data-testid=item]')).toHaveCount(0);
  await expect(v.locator('body')).not.toContainText('secret-plan');
  await fitsPhone(v);

  const one = crypto.randomBytes(300_000);
  const two = Buffer.from('second dropped file\n');
  await v.locator('#drop-files').setInputFiles([
    { name: 'one.bin', mimeType: 'application/octet-stream', buffer: one },
    { name: 'two.txt', mimeType: 'text/plain', buffer: two },
  ]);
  for (const n of ['one.bin', 'two.txt']) {
    await expect(v.locator(`[data-testid=drop-item][data-name="${n}"]`)).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  }
  await expect(v.locator('[data-testid=item]')).toHaveCount(0);
  // The visitor's page uploaded through its upload worker (read, encrypt,
  // hash off the page's thread), as the owner's page does.
  expect(v.workers().some((w) => w.url().endsWith('/web/upload-worker.js'))).toBe(true);

  // The API refuses the folder's children to a drop link's token.
  const access = await ctx.request.post(`${base}/api/v1/public/links/${id}/access`, { data: {} });
  expect(access.status(), await access.text()).toBe(200);
  const token = (await access.json()).token;
  const kids = await ctx.request.get(`${base}/api/v1/public/links/${id}/nodes/${folderID}/children`, {
    headers: { 'X-Link-Token': token, Accept: 'application/json' },
  });
  expect(kids.status()).toBeGreaterThanOrEqual(400);
  expect(await kids.text()).not.toContain('secret-plan');

  // Over the limits: a file too large is refused before anything is sent,
  // a third file by the node (the link takes two); nothing is stored.
  const usage = async () => (await (await page.request.get(`${base}/api/v1/usage`)).json()).used as number;
  const dropUsage = async () => (await (await ctx.request.get(`${base}/api/v1/public/links/${id}`)).json()).drop_usage;
  const before = { used: await usage(), drop: await dropUsage() };
  expect(before.drop.files).toBe(2);
  await v.locator('#drop-files').setInputFiles([
    { name: 'big.bin', mimeType: 'application/octet-stream', buffer: crypto.randomBytes(2_000_000) },
  ]);
  const big = v.locator('[data-testid=drop-item][data-name="big.bin"]');
  await expect(big).toHaveAttribute('data-state', 'refused');
  await expect(big.locator('[role=alert]')).toContainText('at most 1.0 MB');
  await v.locator('#drop-files').setInputFiles([{ name: 'three.txt', mimeType: 'text/plain', buffer: Buffer.from('third\n') }]);
  const three = v.locator('[data-testid=drop-item][data-name="three.txt"]');
  await expect(three).toHaveAttribute('data-state', 'refused', { timeout: 60_000 });
  await expect(three.locator('[role=alert]')).toContainText('received all the files');
  expect(await usage()).toBe(before.used);
  expect(await dropUsage()).toEqual(before.drop);

  // The owner finds both files in the folder and downloads them intact.
  await item(page, 'Inbox').dblclick();
  await expect(page.locator('#breadcrumbs [aria-current=location]')).toHaveText('Inbox');
  for (const [n, data] of [['one.bin', one], ['two.txt', two]] as [string, Buffer][]) {
    await expect(item(page, n)).toBeVisible({ timeout: 30_000 });
    await selectItem(page, n);
    const dl = page.waitForEvent('download');
    await page.locator('#action-download').click();
    const d = await dl;
    expect(d.suggestedFilename()).toBe(n);
    expect(fs.readFileSync((await d.path())!).equals(data)).toBe(true);
  }
  await expect(item(page, 'big.bin')).toHaveCount(0);
  await expect(item(page, 'three.txt')).toHaveCount(0);

  // The owner raises the limits in the link manager: a third file fits.
  await page.getByRole('link', { name: 'Links', exact: true }).click();
  const card = page.locator(`[data-testid=link][data-id="${id}"]`);
  await card.locator('[data-testid=link-edit]').click();
  await expect(card.locator('#link-drop-files')).toHaveValue('2');
  await expect(card.locator('#link-drop-file')).toHaveValue('1');
  await expect(card.locator('#link-max')).toHaveCount(0);
  await card.locator('#link-drop-files').fill('3');
  await card.locator('#link-drop-total').fill('5');
  await card.locator('#link-save').click();
  await expect(card.locator('[data-testid=link-downloads]')).toContainText('3 files');
  await expect(card.locator('[data-testid=link-downloads]')).toContainText('5.0 MB in all');
  await v.reload();
  await expect(v.locator('#drop-limits')).toContainText('1 more file(s)', { timeout: 60_000 });
  await v.locator('#drop-files').setInputFiles([{ name: 'three.txt', mimeType: 'text/plain', buffer: Buffer.from('third\n') }]);
  await expect(three).toHaveAttribute('data-state', 'done', { timeout: 60_000 });

  // Nothing the visitor sent names the folder's files.
  for (const r of await rec.all()) expect(r.includes('secret-plan')).toBe(false);
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a password-protected upload link asks for the password first', async ({ page, node, request, browser }) => {
  test.setTimeout(180_000);
  await setupAdmin(request, node);
  await signInFirst(page, node);
  await page.locator('#new-folder').click();
  await page.locator('#mkdir-name').fill('Uploads');
  await page.locator('#mkdir-name-submit').click();
  await selectItem(page, 'Uploads');
  await page.locator('#action-drop-link').click();
  const password = 'Copper-Meadow-Lantern-9';
  await page.locator('#drop-password').fill(password);
  await page.locator('#drop-create').click();
  const url = await page.locator('#share-url').inputValue();
  await page.locator('#share-done').click();

  const ctx = await browser.newContext();
  const rec = new Recorder(ctx);
  const v = await ctx.newPage();
  await v.goto(url);
  await expect(v.locator('#share-ask[data-ask=drop]')).toBeVisible({ timeout: 60_000 });
  await v.locator('#share-secret').fill('Not-The-Password-1');
  await v.locator('#share-ask-submit').click();
  await expect(v.locator('#share-ask [role=alert]')).toContainText('Wrong password');
  await expect(v.locator('#drop-files')).toHaveCount(0);
  await v.locator('#share-secret').fill(password);
  await v.locator('#share-ask-submit').click();
  await expect(v.locator('#drop-title')).toHaveText('Send files to admin');
  await v.locator('#drop-files').setInputFiles([{ name: 'hello.txt', mimeType: 'text/plain', buffer: Buffer.from('hello\n') }]);
  await expect(v.locator('[data-testid=drop-item][data-name="hello.txt"]')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  for (const r of await rec.all()) {
    expect(r.includes(password)).toBe(false);
    expect(r.includes('Not-The-Password-1')).toBe(false);
  }
  expect(node.logs().includes(password)).toBe(false);
  await ctx.close();

  await item(page, 'Uploads').dblclick();
  await expect(item(page, 'hello.txt')).toBeVisible({ timeout: 30_000 });
});
