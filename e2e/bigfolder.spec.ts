// A long folder: only the rows near the screen are in the page, yet the
// page scrolls over all of them, selection spans the rows not drawn, and
// the grid view and sorting work the same (app/virtual.go).
import { test, expect, setupAdmin, signInFiles, admin, repoRoot } from './cube';
import type { Page, Locator } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const item = (page: Page, name: string): Locator => page.locator(`[data-testid=item][data-name="${name}"]`);
const name = (i: number) => `file-${String(i).padStart(5, '0')}.txt`;
const toEnd = (page: Page) => page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
const toTop = (page: Page) => page.evaluate(() => window.scrollTo(0, 0));

test('a folder of 1,000 entries draws only the rows near the screen and scrolls over all of them', async ({ page, node, request }) => {
  test.setTimeout(240_000);
  const count = 1000;
  await setupAdmin(request, node);
  await signInFiles(page, node);
  const pw = path.join(os.tmpdir(), `cube-big-pw-${process.pid}`);
  fs.writeFileSync(pw, admin.password);
  try {
    execFileSync('go', ['run', './e2e/tools/populate', '--server', node.url, '--user', admin.name, '--password-file', pw, '--folder', 'many', '--count', String(count)], { cwd: repoRoot, stdio: 'pipe' });
  } finally {
    fs.rmSync(pw, { force: true });
  }
  await page.reload();
  await expect(item(page, 'many')).toBeVisible({ timeout: 60_000 });
  await item(page, 'many').dblclick();
  await expect(item(page, name(0))).toBeVisible({ timeout: 60_000 });
  await expect(page.locator('#file-list')).toHaveAttribute('aria-rowcount', String(count + 1));

  const rows = page.locator('[data-testid=item]');
  const drawn = await rows.count();
  expect(drawn).toBeGreaterThan(5);
  expect(drawn).toBeLessThan(300);
  // The page is as tall as every row: its end shows the last entry, and
  // the first is no longer drawn.
  await toEnd(page);
  await expect(item(page, name(count - 1))).toBeVisible();
  await expect(item(page, name(0))).toHaveCount(0);
  expect(await rows.count()).toBeLessThan(300);
  // The middle of the page is the middle of the folder.
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight / 2));
  await expect(item(page, name(500))).toBeVisible();

  // Selection spans rows that are not drawn: select the last, go to the
  // top, shift-click the first.
  await toEnd(page);
  await item(page, name(count - 1)).locator('.col-size').click();
  await expect(page.locator('#selection-count')).toHaveText('1 selected');
  await toTop(page);
  await item(page, name(0)).locator('.col-size').click({ modifiers: ['Shift'] });
  await expect(page.locator('#selection-count')).toHaveText(`${count} selected`);
  await page.keyboard.press('Escape');
  await expect(page.locator('#selection-count')).toHaveCount(0);

  // Sorting the other way round starts from the last entry.
  await page.locator('#sort-dir').click();
  await toTop(page);
  await expect(rows.first()).toHaveAttribute('data-name', name(count - 1));
  await page.locator('#sort-dir').click();

  // The grid view draws a window of tiles too.
  await page.locator('#view-toggle').click();
  await expect(page.locator('#file-grid')).toBeVisible();
  await toTop(page);
  await expect(item(page, name(0))).toBeVisible();
  expect(await rows.count()).toBeLessThan(400);
  await toEnd(page);
  await expect(item(page, name(count - 1))).toBeVisible();
  await expect(item(page, name(0))).toHaveCount(0);
  await page.locator('#view-toggle').click();
  await expect(page.locator('#file-list')).toBeVisible();
});
