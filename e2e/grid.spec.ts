import { test, expect, setupAdmin, login } from './cube';

test('the grid page shows the node\'s roles, its servers and its helper', async ({ page, node, request, playwright }) => {
  await setupAdmin(request, node);
  await login(page, node);
  await page.getByRole('link', { name: 'Grid' }).click();
  await expect(page).toHaveURL(/\/admin\/grid$/);
  await expect(page.getByText(/Roles: storage, helper, introducer and web\./)).toBeVisible();
  // The all-in-one node is its own one-server grid; the probe connects it.
  await expect(page.locator('#grid-summary')).toHaveText('1 of 1 known storage servers connected.', { timeout: 30_000 });
  await expect(page.locator('#servers tbody tr')).toHaveCount(1);
  await expect(page.locator('#servers tbody tr')).toContainText('(this node)');
  await expect(page.locator('#helper-status')).toContainText('0 completed');

  // A file stored through the CLI shows up as helper work.
  const fs = await import('node:fs');
  const path = await import('node:path');
  const file = path.join(path.dirname(node.dataDir), 'hello.bin');
  fs.writeFileSync(file, Buffer.alloc(200_000, 7));
  const cap = node.cli('put', '--node', node.dataDir, '-q', file).trim();
  expect(cap).toMatch(/^URI:CHK:[a-z2-7]+:[a-z2-7]+:1:1:200000$/);
  await expect(page.locator('#helper-status')).toContainText('1 completed', { timeout: 15_000 });

  // The API is for administrators only.
  const anonymous = await playwright.request.newContext();
  expect((await anonymous.get(node.url + '/api/v1/grid/status')).status()).toBe(401);
  await anonymous.dispose();
});
