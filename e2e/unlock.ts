// Helpers of the key, preview and download tests (keys.spec.ts,
// preview.spec.ts).
import { Page, expect } from '@playwright/test';
import * as path from 'node:path';
import { CubeNode, admin, repoRoot } from './cube';

export const fixtures = path.join(repoRoot, 'shared', 'scrub', 'testdata');
export const e2eFixtures = path.join(repoRoot, 'e2e', 'fixtures');

// signInFirst signs in for the first time: the keys are made, and the
// recovery key is shown once; it returns that key.
export async function signInFirst(page: Page, node: CubeNode, who = admin): Promise<string> {
  await page.goto(node.url + '/login');
  await page.getByLabel('User name').fill(who.name);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const card = page.locator('#recovery-key-card');
  await expect(card).toBeVisible({ timeout: 60_000 });
  await expect(card).toContainText('your files are lost');
  const key = (await page.locator('#recovery-key').textContent())!.trim();
  expect(key.length).toBeGreaterThan(20);
  await expect(page.locator('#recovery-key-done')).toBeDisabled();
  await page.locator('#recovery-key-saved').check();
  await page.locator('#recovery-key-done').click();
  await expect(page).toHaveURL(/\/files$/);
  await expectUnlocked(page);
  return key;
}

// signIn signs in an account that has its keys already.
export async function signIn(page: Page, node: CubeNode, who = admin) {
  await page.goto(node.url + '/login');
  await page.getByLabel('User name').fill(who.name);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/files$/);
  await expectUnlocked(page);
}

export async function expectUnlocked(page: Page) {
  await expect(page.locator('#upload-files-label')).toBeVisible({ timeout: 30_000 });
  await expect(page.locator('#unlock-prompt')).toHaveCount(0);
}

// waitWorker waits until the service worker controls the page (streams go
// through it).
export async function waitWorker(page: Page) {
  await page.waitForFunction(() => !!navigator.serviceWorker && !!navigator.serviceWorker.controller, null, { timeout: 30_000 });
}

// upload sends files through the file manager's picker and waits for them
// to be listed.
export async function upload(page: Page, files: string[], names?: string[]) {
  await page.locator('#upload-files').setInputFiles(files);
  for (const n of names ?? files.map((f) => path.basename(f))) {
    await expect(item(page, n)).toBeVisible({ timeout: 60_000 });
  }
}

export function item(page: Page, name: string) {
  return page.locator(`[data-testid="item"][data-name="${name}"]`).first();
}
