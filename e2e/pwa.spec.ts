import { test, expect, admin, setupAdmin, login } from './cube';

test('offline: the shell starts from the service worker and says it is offline', async ({ page, node, request }) => {
  await setupAdmin(request, node);
  await login(page, node);
  // Wait for the service worker to control the page and hold the shell.
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
    }
  });
  await expect(page.locator('#offline-banner')).toHaveCount(0);

  await node.stop();
  await page.reload();
  await expect(page.locator('.brand')).toContainText('CommunityCube');
  await expect(page.locator('#offline-banner')).toBeVisible();
  await expect(page.locator('#offline-banner')).toContainText('Offline');
  await expect(page.getByRole('heading', { name: 'You are offline' })).toBeVisible();

  // The node comes back on the same address: the app reconnects by itself.
  await node.run();
  await expect(page.locator('#offline-banner')).toHaveCount(0, { timeout: 30_000 });
  // The node forgot this session's key when it stopped (it keeps it in
  // memory only), so the reloaded page asks for the password to unlock.
  await expect(page.locator('#unlock-prompt')).toBeVisible({ timeout: 30_000 });
  await page.locator('#unlock-password').fill(admin.password);
  await page.locator('#unlock-submit').click();
  await expect(page.getByRole('heading', { name: 'No files yet' })).toBeVisible({ timeout: 30_000 });
});

test('the manifest makes the app installable with the node\'s own icons', async ({ page, node, request }) => {
  const m = await (await request.get(node.url + '/manifest.webmanifest')).json();
  expect(m.name).toBe('CommunityCube');
  expect(m.display).toBe('standalone');
  expect(m.start_url).toBe('/');
  const sizes = m.icons.map((i: any) => i.sizes);
  expect(sizes).toContain('192x192');
  expect(sizes).toContain('512x512');
  for (const icon of m.icons) {
    expect(icon.src.startsWith('/')).toBe(true);
    const r = await request.get(node.url + icon.src);
    expect(r.status(), icon.src).toBe(200);
  }
  expect(m.icons.some((i: any) => i.purpose === 'maskable')).toBe(true);
});

for (const path of ['/setup', '/login', '/files', '/admin', '/settings']) {
  test(`a 360 px wide screen shows ${path} without horizontal scrolling`, async ({ browser, node, request }) => {
    const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const page = await ctx.newPage();
    if (path !== '/setup') {
      await setupAdmin(request, node);
      if (path !== '/login') await login(page, node);
    }
    await page.goto(node.url + path);
    await expect(page).toHaveURL(new RegExp(path.replace('/', '\\/') + '$'));
    await expect(page.locator('.page')).toBeVisible();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    // Nothing sticks out of the viewport either.
    const wide = await page.evaluate(() =>
      [...document.querySelectorAll('body *')]
        .filter((e) => (e as HTMLElement).offsetParent !== null && e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map((e) => e.tagName + '.' + (e as HTMLElement).className),
    );
    expect(wide).toEqual([]);
    await ctx.close();
  });
}
