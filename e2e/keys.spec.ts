import { test, expect, admin, setupAdmin } from './cube';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { signInFirst, signIn, expectUnlocked, upload, item } from './unlock';

test('the first sign-in shows the recovery key once; a reload keeps the keys; a new context asks the password', async ({ page, node, request, browser }) => {
  await setupAdmin(request, node);
  await signInFirst(page, node);

  // Kept across a reload (sealed in sessionStorage under the session key).
  await page.reload();
  await expectUnlocked(page);
  const sealed = await page.evaluate(() => sessionStorage.getItem('cube.sealed-keys'));
  expect(sealed).toBeTruthy();
  // Neither the password nor the raw keys are in storage in the clear.
  expect(sealed).not.toContain(admin.password);

  // Signing out clears them; signing in again does not show a recovery key.
  await page.getByRole('button', { name: /Sign out/ }).click();
  await expect(page).toHaveURL(/\/login/);
  await expect.poll(() => page.evaluate(() => sessionStorage.getItem('cube.sealed-keys'))).toBeNull();
  await signIn(page, node);
  await expect(page.locator('#recovery-key-card')).toHaveCount(0);

  // Another tab with the same session cookie (no sessionStorage): the
  // password is asked.
  const ctx2 = await browser.newContext({ storageState: await page.context().storageState() });
  const page2 = await ctx2.newPage();
  await page2.goto(node.url + '/files');
  await expect(page2.locator('#unlock-prompt')).toBeVisible();
  await page2.locator('#unlock-password').fill('wrong password, surely');
  await page2.locator('#unlock-submit').click();
  await expect(page2.locator('#unlock-prompt [role=alert]')).toBeVisible();
  await page2.locator('#unlock-password').fill(admin.password);
  await page2.locator('#unlock-submit').click();
  await expectUnlocked(page2);
  await ctx2.close();
});

test('recovery with the recovery key sets a new password and the files stay readable', async ({ page, node, request }) => {
  await setupAdmin(request, node);
  const key = await signInFirst(page, node);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cube-keys-'));
  const file = path.join(dir, 'note.txt');
  fs.writeFileSync(file, 'still readable after recovery\n');
  await upload(page, [file]);

  await page.getByRole('button', { name: /Sign out/ }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.locator('#forgot-password').click();
  const newPw = 'Copper-Willow-Signal-38';
  await page.locator('#recover-name').fill(admin.name);
  await page.locator('#recover-key').fill(key);
  await page.locator('#recover-password').fill(newPw);
  await page.locator('#recover-password2').fill(newPw);
  await page.locator('#recover-submit').click();
  await expect(page).toHaveURL(/\/files$/, { timeout: 60_000 });
  await expectUnlocked(page);
  await item(page, 'note.txt').dblclick();
  await expect(page.locator('#preview-text')).toHaveText('still readable after recovery\n');
  await page.keyboard.press('Escape');
  await expect(page.locator('#preview')).toHaveCount(0);

  // The new password signs in and opens the keys; the old one does not.
  await page.getByRole('button', { name: /Sign out/ }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel('User name').fill(admin.name);
  await page.getByLabel('Password', { exact: true }).fill(admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toBeVisible();
  await signIn(page, node, { name: admin.name, password: newPw });
  await expect(item(page, 'note.txt')).toBeVisible();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('an account an administrator made chooses its own password first, then gets its keys', async ({ page, node, request, browser }) => {
  await setupAdmin(request, node);
  const st = await (await request.post(node.url + '/api/v1/login', { data: { name: admin.name, password: admin.password } })).json();
  const bobPw = 'Velvet-Harbor-Engine-52';
  const r = await request.post(node.url + '/api/v1/users', {
    data: { name: 'bob', password: bobPw, admin: false },
    headers: { 'X-CSRF-Token': st.csrf_token },
  });
  expect(r.status(), await r.text()).toBeLessThan(300);

  const bobCtx = await browser.newContext();
  const bob = await bobCtx.newPage();
  await bob.goto(node.url + '/login');
  await bob.getByLabel('User name').fill('bob');
  await bob.getByLabel('Password', { exact: true }).fill(bobPw);
  await bob.getByRole('button', { name: 'Sign in' }).click();
  await expect(bob).toHaveURL(/\/settings\?must-change=1$/);
  await expect(bob.locator('#must-change-password')).toContainText('Choose your own password');
  // The files page sends him back here.
  await bob.goto(node.url + '/files');
  await expect(bob).toHaveURL(/\/settings\?must-change=1$/);
  const newPw = 'Copper-Kettle-Orbit-19';
  await bob.getByLabel('Current password').fill(bobPw);
  await bob.getByLabel('New password', { exact: true }).fill(newPw);
  await bob.getByLabel('Repeat the new password').fill(newPw);
  await bob.getByRole('button', { name: 'Change password' }).click();
  await expect(bob.locator('#recovery-key-card')).toBeVisible({ timeout: 60_000 });
  await bob.locator('#recovery-key-saved').check();
  await bob.locator('#recovery-key-done').click();
  await expect(bob).toHaveURL(/\/files$/);
  await expectUnlocked(bob);
  await bobCtx.close();
});

test('settings: usage, file preferences, a new recovery key, and a password change that keeps the files readable', async ({ page, node, request }) => {
  await setupAdmin(request, node);
  const oldKey = await signInFirst(page, node);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cube-keys-'));
  const file = path.join(dir, 'kept.txt');
  fs.writeFileSync(file, 'kept across a password change\n');
  await upload(page, [file]);

  await page.getByRole('link', { name: 'Settings' }).click();
  await expect(page.locator('#usage-text')).toContainText('Using');
  await page.locator('#trash-days').fill('7');
  await page.locator('#upload-rate').fill('500');
  await page.locator('#file-settings-submit').click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
  await page.reload();
  await expect(page.locator('#trash-days')).toHaveValue('7');
  await expect(page.locator('#upload-rate')).toHaveValue('500');

  await page.locator('#new-recovery-key').click();
  await expect(page.locator('#recovery-key-card')).toBeVisible();
  const newKey = (await page.locator('#recovery-key').textContent())!.trim();
  expect(newKey).not.toBe(oldKey);
  await page.locator('#recovery-key-saved').check();
  await page.locator('#recovery-key-done').click();

  const newPw = 'Amber-Falcon-Ledger-64';
  await page.getByLabel('Current password').fill(admin.password);
  await page.getByLabel('New password', { exact: true }).fill(newPw);
  await page.getByLabel('Repeat the new password').fill(newPw);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'password was changed' })).toBeVisible();

  await page.getByRole('button', { name: /Sign out/ }).click();
  await expect(page).toHaveURL(/\/login/);
  await signIn(page, node, { name: admin.name, password: newPw });
  await item(page, 'kept.txt').dblclick();
  await expect(page.locator('#preview-text')).toHaveText('kept across a password change\n');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('after the node restarts, a reload asks the password again', async ({ page, node, request }) => {
  await setupAdmin(request, node);
  await signInFirst(page, node);
  await node.stop();
  await node.run();
  await page.reload();
  // The session survives, its session key does not: the sealed keys no
  // longer open.
  await expect(page.locator('#unlock-prompt')).toBeVisible({ timeout: 30_000 });
  await page.locator('#unlock-password').fill(admin.password);
  await page.locator('#unlock-submit').click();
  await expectUnlocked(page);
});
