import { test, expect, admin, saveRecoveryKey } from './cube';

test('every page leads to setup while no administrator exists', async ({ page, node }) => {
  for (const p of ['/', '/files', '/login', '/admin', '/settings']) {
    await page.goto(node.url + p);
    await expect(page).toHaveURL(/\/setup$/);
    await expect(page.getByRole('heading', { name: 'Welcome to CommunityCube' })).toBeVisible();
  }
});

test('a weak password is refused with the meter reason, by the page and by the node', async ({ page, node, request }) => {
  await page.goto(node.url + '/setup');
  await page.getByLabel('Administrator user name').fill('admin');
  const weak = 'qwertyuiop123';
  await page.getByLabel('Password', { exact: true }).fill(weak);
  const reason = page.locator('#meter-reason');
  await expect(reason).toBeVisible();
  const reasonText = (await reason.textContent())!.trim();
  expect(reasonText).toMatch(/too easy to guess/i);
  await expect(page.locator('#meter')).toHaveAttribute('data-acceptable', 'false');

  await page.getByLabel('Repeat the password').fill(weak);
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await expect(page.getByRole('alert')).toHaveText(reasonText);
  await expect(page).toHaveURL(/\/setup$/);

  // The node applies the same rule and gives the same reason.
  const r = await request.post(node.url + '/api/v1/setup', { data: { name: 'admin', password: weak } });
  expect(r.status()).toBe(400);
  const body = await r.json();
  expect(body.error.code).toBe('weak_password');
  expect(body.error.message).toBe(reasonText);
  // Nothing was created.
  expect((await (await request.get(node.url + '/api/v1/state')).json()).setup_needed).toBe(true);
});

test('a strong password creates the administrator, and setup is closed for good', async ({ page, node, request }) => {
  await page.goto(node.url + '/setup');
  await page.getByLabel('Administrator user name').fill(admin.name);
  await page.getByLabel('Password', { exact: true }).fill(admin.password);
  await expect(page.locator('#meter')).toHaveAttribute('data-acceptable', 'true');
  await expect(page.locator('#meter-score')).toHaveText(/Strong|Very strong/);
  await page.getByLabel('Repeat the password').fill(admin.password);
  await page.getByRole('button', { name: 'Create administrator' }).click();

  // The keys are made with the password: the recovery key is shown once.
  await saveRecoveryKey(page);
  await expect(page).toHaveURL(/\/files$/);
  await expect(page.getByRole('heading', { name: 'No files yet' })).toBeVisible();
  await expect(page.getByRole('button', { name: /Sign out admin/ })).toBeVisible();

  // The setup page now sends you away...
  await page.goto(node.url + '/setup');
  await expect(page).toHaveURL(/\/files$/);
  // ...and the API refuses a second administrator, even with a strong password.
  const r = await request.post(node.url + '/api/v1/setup', { data: { name: 'intruder', password: 'Another-Strong-Passphrase-93' } });
  expect(r.status()).toBe(403);
  expect((await r.json()).error.code).toBe('setup_closed');
  // It survives a restart.
  await node.stop();
  await node.run();
  const again = await request.post(node.url + '/api/v1/setup', { data: { name: 'intruder', password: 'Another-Strong-Passphrase-93' } });
  expect(again.status()).toBe(403);
});
