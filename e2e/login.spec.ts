import { test, expect, admin, setupAdmin, login, saveRecoveryKey } from './cube';

test('sign in and out; the cookie from before sign-out is refused afterwards', async ({ page, node, request, playwright }) => {
  await setupAdmin(request, node);
  await page.goto(node.url + '/files');
  await expect(page).toHaveURL(/\/login\?next=%2Ffiles$/);
  await page.getByLabel('User name').fill(admin.name);
  await page.getByLabel('Password', { exact: true }).fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Wrong user name or password.');

  await page.getByLabel('Password', { exact: true }).fill(admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // The first sign-in makes the keys: the recovery key is shown once.
  await saveRecoveryKey(page);
  await expect(page).toHaveURL(/\/files$/);

  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'cube_session')!;
  expect(session.httpOnly).toBe(true);
  expect(session.sameSite).toBe('Strict');
  // The page's scripts cannot read it.
  expect(await page.evaluate(() => document.cookie)).not.toContain('cube_session');

  await page.getByRole('button', { name: /Sign out/ }).click();
  await expect(page).toHaveURL(/\/login$/);

  // Replaying the old cookie from another client gets nothing.
  const replay = await playwright.request.newContext({
    extraHTTPHeaders: { Cookie: `cube_session=${session.value}` },
  });
  const state = await (await replay.get(node.url + '/api/v1/state')).json();
  expect(state.user).toBeUndefined();
  expect((await replay.get(node.url + '/api/v1/users')).status()).toBe(401);
  await replay.dispose();

  // And the browser itself is signed out.
  await page.goto(node.url + '/settings');
  await expect(page).toHaveURL(/\/login\?next=%2Fsettings$/);
});

test('repeated wrong passwords are throttled, then even the right one waits', async ({ page, node, request }) => {
  await setupAdmin(request, node);
  await page.goto(node.url + '/login');
  await page.getByLabel('User name').fill(admin.name);
  const pw = page.getByLabel('Password', { exact: true });
  const alert = page.getByRole('alert');
  const attempt = async (password: string) => {
    await pw.fill(password);
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/login'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    return (await answer).status();
  };
  for (let i = 0; i < 5; i++) {
    expect(await attempt(`wrong-${i}`)).toBe(401);
    await expect(alert).toHaveText('Wrong user name or password.');
  }
  expect(await attempt(admin.password)).toBe(429);
  await expect(alert).toHaveText(/Too many failed sign-in attempts\. Try again in \d+ seconds\./);
  await expect(page).toHaveURL(/\/login$/);
  const r = await request.post(node.url + '/api/v1/login', { data: { name: admin.name, password: admin.password } });
  expect(r.status()).toBe(429);
  expect(Number(r.headers()['retry-after'])).toBeGreaterThan(0);
});

test('an administrator adds and disables a user; a user changes their password', async ({ page, node, request, browser }) => {
  await setupAdmin(request, node);
  await login(page, node);
  await page.getByRole('link', { name: 'Admin' }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await page.getByLabel('User name', { exact: true }).fill('bob');
  await page.getByLabel('Initial password').fill('bob12345678');
  await page.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByRole('alert')).toContainText('too easy to guess');
  const bobPw = 'Velvet-Harbor-Engine-52';
  await page.getByLabel('Initial password').fill(bobPw);
  await page.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'User bob was created' })).toBeVisible();
  const bobRow = page.locator('tr[data-user="bob"]');
  await expect(bobRow).toContainText('Active');

  // Bob signs in in his own browser: the administrator chose his password,
  // so he is sent to choose his own before his keys are made.
  const bobCtx = await browser.newContext();
  const bob = await bobCtx.newPage();
  await bob.goto(node.url + '/login');
  await bob.getByLabel('User name').fill('bob');
  await bob.getByLabel('Password', { exact: true }).fill(bobPw);
  await bob.getByRole('button', { name: 'Sign in' }).click();
  await expect(bob).toHaveURL(/\/settings\?must-change=1/);
  await expect(bob.getByRole('link', { name: 'Admin' })).toHaveCount(0);
  await bob.goto(node.url + '/admin');
  await expect(bob).not.toHaveURL(/\/admin/);
  await bob.goto(node.url + '/settings');
  const newPw = 'Copper-Kettle-Orbit-19';
  await bob.getByLabel('Current password').fill('wrong password');
  await bob.getByLabel('New password', { exact: true }).fill(newPw);
  await bob.getByLabel('Repeat the new password').fill(newPw);
  await bob.getByRole('button', { name: 'Change password' }).click();
  await expect(bob.getByRole('alert')).toHaveText('The current password is wrong.');
  await bob.getByLabel('Current password').fill(bobPw);
  await bob.getByRole('button', { name: 'Change password' }).click();
  // His keys are made now: the recovery key is shown once.
  const card = bob.locator('#recovery-key-card');
  const done = bob.getByRole('status').filter({ hasText: 'password was changed' });
  await expect(card.or(done).first()).toBeVisible({ timeout: 60_000 });
  if (await card.isVisible()) {
    await bob.locator('#recovery-key-saved').check();
    await bob.locator('#recovery-key-done').click();
  }
  let r = await request.post(node.url + '/api/v1/login', { data: { name: 'bob', password: bobPw } });
  expect(r.status()).toBe(401);
  r = await request.post(node.url + '/api/v1/login', { data: { name: 'bob', password: newPw } });
  expect(r.status()).toBe(200);

  // The admin disables bob: his open page loses its session.
  await bobRow.getByRole('button', { name: 'Disable' }).click();
  await expect(bobRow).toContainText('Disabled');
  await bob.reload();
  await expect(bob).toHaveURL(/\/login/);
  await bob.getByLabel('User name').fill('bob');
  await bob.getByLabel('Password', { exact: true }).fill(newPw);
  await bob.getByRole('button', { name: 'Sign in' }).click();
  await expect(bob.getByRole('alert')).toHaveText('This account is disabled. Ask an administrator.');
  await bobCtx.close();
});
