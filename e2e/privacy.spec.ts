import { test, expect, admin, saveRecoveryKey } from './cube';

test('during a whole session every request goes to the node itself', async ({ page, node }) => {
  const foreign: string[] = [];
  const csp: string[] = [];
  let requests = 0;
  const origin = new URL(node.url).origin;
  // Context-level events include the service worker's own requests.
  page.context().on('request', (r) => {
    requests++;
    const u = new URL(r.url());
    if (u.origin !== origin && u.protocol !== 'data:' && u.protocol !== 'blob:') foreign.push(r.url());
  });
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/.test(m.text())) csp.push(m.text());
  });

  await page.goto(node.url + '/');
  await expect(page).toHaveURL(/\/setup$/);
  await page.getByLabel('Administrator user name').fill(admin.name);
  await page.getByLabel('Password', { exact: true }).fill(admin.password);
  await page.getByLabel('Repeat the password').fill(admin.password);
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await saveRecoveryKey(page);
  await expect(page).toHaveURL(/\/files$/);
  for (const link of ['Admin', 'Settings', 'Files']) {
    await page.getByRole('link', { name: link }).click();
    await expect(page.locator('.page')).toBeVisible();
  }
  await page.reload();
  await expect(page.locator('.page')).toBeVisible();
  await page.getByRole('button', { name: /Sign out/ }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel('User name').fill(admin.name);
  await page.getByLabel('Password', { exact: true }).fill(admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/files$/);

  expect(requests).toBeGreaterThan(10);
  expect(foreign).toEqual([]);
  expect(csp).toEqual([]);
});
