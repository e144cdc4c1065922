// Sharing with users of the same node (docs/sharing-users.md): alice shares
// a folder with bob read-only; bob, in a browser context of his own, finds
// it under "Shared with me", previews and downloads a file (same bytes),
// and has no way to write: the page shows no control for it, and the node
// refuses a request made anyway. Alice removes his access and stores a new
// version: bob's page says he lost access, and the key he was given does
// not open the new version (checked with e2e/tools/sharekey, since the
// browser keeps keys out of the test's reach).
import { APIRequestContext, Browser, BrowserContext, Page, Locator } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test, expect, setupAdmin, signInFiles, admin, repoRoot, CubeNode } from './cube';

const item = (page: Page, name: string): Locator => page.locator(`[data-testid=item][data-name="${name}"]`);

async function select(page: Page, name: string) {
  await item(page, name).locator('.col-size, .tile-meta').first().click();
  await expect(item(page, name)).toHaveAttribute('aria-selected', 'true');
}

// newUser has the administrator make an account; its user signs in in a
// browser context of their own, chooses their own password (accounts an
// administrator made must) and so gets their keys.
async function newUser(request: APIRequestContext, browser: Browser, node: CubeNode, name: string, password: string): Promise<{ ctx: BrowserContext; page: Page }> {
  const st = await (await request.post(node.url + '/api/v1/login', { data: { name: admin.name, password: admin.password } })).json();
  const first = 'Initial-Lantern-Meadow-83';
  const made = await request.post(node.url + '/api/v1/users', {
    data: { name, password: first, admin: false },
    headers: { 'X-CSRF-Token': st.csrf_token },
  });
  expect(made.status(), await made.text()).toBeLessThan(300);
  const ctx = await browser.newContext({ acceptDownloads: true });
  const page = await ctx.newPage();
  await page.goto(node.url + '/login');
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password', { exact: true }).fill(first);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/settings\?must-change=1$/);
  await page.getByLabel('Current password').fill(first);
  await page.getByLabel('New password', { exact: true }).fill(password);
  await page.getByLabel('Repeat the new password').fill(password);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.locator('#recovery-key-card')).toBeVisible({ timeout: 60_000 });
  await page.locator('#recovery-key-saved').check();
  await page.locator('#recovery-key-done').click();
  await expect(page).toHaveURL(/\/files$/);
  await expect(page.locator('#files-drop')).toBeVisible({ timeout: 60_000 });
  return { ctx, page };
}

// makeGroup has the signed-in administrator make a group on the admin
// page and returns its entry there.
async function makeGroup(page: Page, name: string, members: string): Promise<Locator> {
  await page.getByRole('link', { name: 'Admin' }).click();
  await page.locator('#group-name').fill(name);
  await page.locator('#group-members').fill(members);
  await page.locator('#group-submit').click();
  const group = page.locator(`[data-testid=group][data-name=${name}]`);
  await expect(group).toContainText(members);
  return group;
}

function sharekey(args: string[]): string {
  return execFileSync('go', ['run', './e2e/tools/sharekey', ...args], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

test('alice shares a folder with bob read-only, then removes his access', async ({ page, node, request, browser }) => {
  test.setTimeout(300_000);
  await setupAdmin(request, node);
  const bobPw = 'Copper-Kettle-Orbit-19';
  const { ctx: bobCtx, page: bob } = await newUser(request, browser, node, 'bob', bobPw);

  // Alice (the administrator) makes a folder with a file and shares it.
  await signInFiles(page, node);
  await page.locator('#new-folder').click();
  await page.locator('#mkdir-name').fill('Project');
  await page.locator('#mkdir-name-submit').click();
  await expect(item(page, 'Project')).toBeVisible();
  await item(page, 'Project').dblclick();
  await expect(page.locator('#breadcrumbs [aria-current=location]')).toHaveText('Project');
  const text = 'Quarterly report, shared with bob.\n'.repeat(40);
  await page.locator('#upload-files').setInputFiles({ name: 'report.txt', mimeType: 'text/plain', buffer: Buffer.from(text) });
  await expect(item(page, 'report.txt')).toBeVisible({ timeout: 60_000 });
  await expect(page.locator('[data-testid=upload-item][data-name="report.txt"]')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await page.locator('#upload-clear').click();
  await page.locator('#breadcrumbs a[data-testid=crumb]').first().click();
  await select(page, 'Project');
  await page.locator('#action-share-people').click();
  const dialog = page.locator('#dialog-share-people');
  await expect(dialog).toBeVisible();
  await expect(dialog.locator('#share-people-none')).toBeVisible();
  await dialog.locator('#share-people-name').fill('bob');
  await dialog.locator('#share-people-submit').click();
  await expect(dialog.locator('#share-people-notice')).toContainText('Shared with bob');
  const grantee = dialog.locator('[data-testid=grantee][data-name=bob]');
  await expect(grantee).toBeVisible();
  // The fingerprint alice sees is the one bob's Settings show.
  const print = (await grantee.locator('[data-testid=fingerprint]').textContent())!.replace(/^key /, '');
  await bob.goto(node.url + '/settings');
  await expect(bob.locator('[data-testid=my-fingerprint]')).toHaveText(print);
  await dialog.locator('.modal-close').click();

  // Bob: "Shared with me", read-only.
  await bob.getByRole('link', { name: 'Shared with me' }).click();
  await expect(item(bob, 'Project')).toBeVisible();
  await expect(item(bob, 'Project').locator('[data-testid=shared-by]')).toHaveText('from admin · Can view');
  await item(bob, 'Project').dblclick();
  await expect(bob.locator('#breadcrumbs [aria-current=location]')).toHaveText('Project');
  await expect(bob.locator('#shared-readonly')).toBeVisible();
  await expect(item(bob, 'report.txt')).toBeVisible();
  // No way to write in the page...
  await expect(bob.locator('#shared-upload-label, #shared-new-folder, [data-testid=rename], [data-testid=delete]')).toHaveCount(0);
  // ...it previews and downloads, same bytes...
  await item(bob, 'report.txt').locator('.item-name').click();
  await expect(bob.locator('#preview-name')).toHaveText('report.txt');
  await expect(bob.locator('#preview-body')).toContainText('Quarterly report');
  await bob.locator('#preview-close').click();
  const dl = bob.waitForEvent('download');
  await item(bob, 'report.txt').locator('[data-testid=download]').click();
  const download = await dl;
  expect(download.suggestedFilename()).toBe('report.txt');
  expect(fs.readFileSync((await download.path())!).toString()).toBe(text);
  // ...and the node refuses a change sent anyway.
  const folderID = new URL(bob.url()).searchParams.get('id')!;
  const bobState = await (await bob.request.get(node.url + '/api/v1/state')).json();
  const id = 'a'.repeat(26);
  const refused = await bob.request.post(node.url + '/api/v1/nodes', {
    headers: { 'X-CSRF-Token': bobState.csrf_token },
    data: { id, parent: folderID, kind: 'folder', name_hmac: Buffer.alloc(32).toString('base64'), meta: Buffer.alloc(60).toString('base64'), wrapped_key: Buffer.alloc(73).toString('base64'), mode: 'secure' },
  });
  expect(refused.status()).toBe(403);
  expect((await refused.json()).error.code).toBe('forbidden');
  expect((await refused.json()).error.message).toContain('read-only');

  // The key bob was given, saved for the check below.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cube-shares-'));
  const bobPwFile = path.join(dir, 'bob.pw');
  const alicePwFile = path.join(dir, 'alice.pw');
  const keys = path.join(dir, 'keys.json');
  fs.writeFileSync(bobPwFile, bobPw);
  fs.writeFileSync(alicePwFile, admin.password);
  expect(sharekey(['save', '--server', node.url, '--user', 'bob', '--password-file', bobPwFile, '--name', 'report.txt', '--out', keys])).toContain('"saved": 1');

  // Alice removes his access: the dialog says what that does and does not do.
  await select(page, 'Project');
  await page.locator('#action-share-people').click();
  await expect(grantee).toBeVisible();
  await grantee.locator('[data-testid=revoke]').click();
  await expect(dialog.locator('#share-people-notice')).toContainText('no longer has access');
  await expect(dialog.locator('#share-people-notice')).toContainText('already downloaded');
  await expect(dialog.locator('#share-people-none')).toBeVisible();
  await dialog.locator('.modal-close').click();

  // Alice stores a new version of the file.
  await item(page, 'Project').dblclick();
  await expect(page.locator('#breadcrumbs [aria-current=location]')).toHaveText('Project');
  await expect(item(page, 'report.txt')).toBeVisible();
  const text2 = 'Second version, after bob left.\n'.repeat(40);
  await page.locator('#upload-files').setInputFiles({ name: 'report.txt', mimeType: 'text/plain', buffer: Buffer.from(text2) });
  const up = page.locator('[data-testid=upload-item][data-name="report.txt"]');
  await expect(up).toHaveAttribute('data-state', 'conflict', { timeout: 60_000 });
  await up.locator('[data-testid=upload-replace]').click();
  await expect(up).toHaveAttribute('data-state', 'done', { timeout: 60_000 });

  // Bob lost access: the page says so, and "Shared with me" is empty.
  await bob.reload();
  await expect(bob.locator('#shared-gone')).toBeVisible({ timeout: 30_000 });
  await expect(bob.locator('#shared-gone')).toContainText('No longer shared with you');
  await bob.goto(node.url + '/shared');
  await expect(bob.locator('#shared-empty')).toBeVisible();

  // The key bob had does not open the new version.
  const out = sharekey(['check', '--server', node.url, '--user', admin.name, '--password-file', alicePwFile, '--path', '/Project/report.txt', '--keys', keys]);
  expect(JSON.parse(out).opened).toBe(false);

  await bobCtx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a group can edit: bob uploads and makes a folder in alice's folder, which stay hers", async ({ page, node, request, browser }) => {
  test.setTimeout(300_000);
  await setupAdmin(request, node);
  const { ctx: bobCtx, page: bob } = await newUser(request, browser, node, 'bob', 'Copper-Kettle-Orbit-19');

  // Alice, the administrator, makes the group on the admin page.
  await signInFiles(page, node);
  await makeGroup(page, 'team', 'bob');

  // A folder shared with the group, for editing. "New folder" waits for
  // the folder's listing (slowed down here): a click before it came did
  // nothing, and this test failed in CI that way.
  const slow = async (r: any) => { await new Promise((res) => setTimeout(res, 1500)); await r.continue(); };
  await page.route('**/api/v1/nodes/*/children*', slow);
  await page.getByRole('link', { name: 'Files' }).click();
  await expect(page.locator('#new-folder')).toBeDisabled();
  await page.locator('#new-folder').click();
  await page.locator('#mkdir-name').fill('Team');
  await page.unroute('**/api/v1/nodes/*/children*', slow);
  await page.locator('#mkdir-name-submit').click();
  await select(page, 'Team');
  await page.locator('#action-share-people').click();
  const dialog = page.locator('#dialog-share-people');
  await dialog.locator('#share-people-name').fill('team');
  await dialog.locator('#share-people-perm').selectOption('write');
  await dialog.locator('#share-people-submit').click();
  await expect(dialog.locator('[data-testid=grantee][data-name=team]')).toContainText('team (group: bob)');
  // Esc closes the dialog and only the dialog: the selection stays.
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(page.locator('#selection-count')).toHaveText('1 selected');

  // Bob edits inside.
  await bob.goto(node.url + '/shared');
  await expect(item(bob, 'Team').locator('[data-testid=shared-by]')).toHaveText('from admin · Can edit');
  await item(bob, 'Team').dblclick();
  await expect(bob.locator('#shared-writable')).toBeVisible();
  const data = Buffer.from('Notes from bob, stored in alice\'s folder.\n'.repeat(30));
  await bob.locator('#shared-upload').setInputFiles({ name: 'bob-notes.txt', mimeType: 'text/plain', buffer: data });
  await expect(item(bob, 'bob-notes.txt')).toBeVisible({ timeout: 60_000 });
  await bob.locator('#shared-new-folder').click();
  await bob.locator('#shared-mkdir-name').fill('From bob');
  await bob.locator('#shared-mkdir-form button[type=submit]').click();
  await expect(item(bob, 'From bob')).toBeVisible();

  // They are alice's: she lists and reads them.
  await item(page, 'Team').dblclick();
  await expect(item(page, 'bob-notes.txt')).toBeVisible({ timeout: 30_000 });
  await expect(item(page, 'From bob')).toBeVisible();
  await select(page, 'bob-notes.txt');
  const dl = page.waitForEvent('download');
  await page.locator('#action-download').click();
  expect(fs.readFileSync((await (await dl).path())!).equals(data)).toBe(true);
  await bobCtx.close();
});

test('alice gives a folder to bob: he accepts it with what is inside, and it leaves her files', async ({ page, node, request, browser }) => {
  test.setTimeout(300_000);
  await setupAdmin(request, node);
  const { ctx: bobCtx, page: bob } = await newUser(request, browser, node, 'bob', 'Copper-Kettle-Orbit-19');

  await signInFiles(page, node);
  await page.locator('#new-folder').click();
  await page.locator('#mkdir-name').fill('Handover');
  await page.locator('#mkdir-name-submit').click();
  await item(page, 'Handover').dblclick();
  await expect(page.locator('#breadcrumbs [aria-current=location]')).toHaveText('Handover');
  const data = Buffer.from('The plan, given to bob with the folder.\n'.repeat(50));
  await page.locator('#upload-files').setInputFiles({ name: 'plan.txt', mimeType: 'text/plain', buffer: data });
  await expect(page.locator('[data-testid=upload-item][data-name="plan.txt"]')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await page.locator('#breadcrumbs a[data-testid=crumb]').first().click();

  // Alice offers the folder from the "Share with people" dialog.
  await select(page, 'Handover');
  await page.locator('#action-share-people').click();
  const dialog = page.locator('#dialog-share-people');
  await dialog.locator('.share-give summary').click();
  await dialog.locator('#share-give-name').fill('bob');
  await dialog.locator('#share-give-submit').click();
  await expect(dialog.locator('[data-testid=offer]')).toContainText('Offered to bob');
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);

  // Bob sees the offer under "Shared with me" and accepts it.
  await bob.goto(node.url + '/shared');
  const offer = bob.locator('[data-testid=incoming-offer]');
  await expect(offer).toContainText('admin offers to give you “Handover”', { timeout: 30_000 });
  await offer.getByRole('button', { name: 'Accept into My files' }).click();
  await expect(bob.locator('[data-testid=incoming-offer]')).toHaveCount(0, { timeout: 30_000 });

  // It is his now, with the file inside, byte for byte.
  await bob.goto(node.url + '/files');
  await expect(item(bob, 'Handover')).toBeVisible({ timeout: 30_000 });
  await item(bob, 'Handover').dblclick();
  await expect(item(bob, 'plan.txt')).toBeVisible({ timeout: 30_000 });
  await select(bob, 'plan.txt');
  const dl = bob.waitForEvent('download');
  await bob.locator('#action-download').click();
  expect(fs.readFileSync((await (await dl).path())!).equals(data)).toBe(true);

  // And no longer alice's.
  await page.reload();
  await expect(page.locator('#files-drop')).toBeVisible({ timeout: 30_000 });
  await expect(item(page, 'Handover')).toHaveCount(0);
  await bobCtx.close();
});

test('someone added to a group gets access once the owner confirms in the share dialog', async ({ page, node, request, browser }) => {
  test.setTimeout(300_000);
  await setupAdmin(request, node);
  const { ctx: bobCtx } = await newUser(request, browser, node, 'bob', 'Copper-Kettle-Orbit-19');
  const { ctx: carolCtx, page: carol } = await newUser(request, browser, node, 'carol', 'Violet-Harbor-Lantern-42');

  await signInFiles(page, node);
  const group = await makeGroup(page, 'team', 'bob');

  // A folder with a file, shared with the group (bob only, so far).
  await page.getByRole('link', { name: 'Files' }).click();
  await page.locator('#new-folder').click();
  await page.locator('#mkdir-name').fill('Team');
  await page.locator('#mkdir-name-submit').click();
  await item(page, 'Team').dblclick();
  await expect(page.locator('#breadcrumbs [aria-current=location]')).toHaveText('Team');
  await page.locator('#upload-files').setInputFiles({ name: 'welcome.txt', mimeType: 'text/plain', buffer: Buffer.from('Welcome to the team folder.\n'.repeat(10)) });
  await expect(page.locator('[data-testid=upload-item][data-name="welcome.txt"]')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await page.locator('#breadcrumbs a[data-testid=crumb]').first().click();
  await select(page, 'Team');
  await page.locator('#action-share-people').click();
  let dialog = page.locator('#dialog-share-people');
  await dialog.locator('#share-people-name').fill('team');
  await dialog.locator('#share-people-submit').click();
  await expect(dialog.locator('[data-testid=grantee][data-name=team]')).toContainText('team (group: bob)');
  await page.keyboard.press('Escape');

  // The administrator adds carol to the group.
  await page.getByRole('link', { name: 'Admin' }).click();
  await group.getByLabel('Add to team').fill('carol');
  await group.getByRole('button', { name: 'Add' }).click();
  await expect(group).toContainText('carol');

  // The owner's dialog says carol has no key yet; "Update" seals it to her.
  await page.getByRole('link', { name: 'Files' }).click();
  await select(page, 'Team');
  await page.locator('#action-share-people').click();
  dialog = page.locator('#dialog-share-people');
  const grantee = dialog.locator('[data-testid=grantee][data-name=team]');
  await expect(grantee).toContainText('1 members have no key yet.');
  await grantee.locator('[data-testid=update-members]').click();
  await expect(grantee.locator('[data-testid=update-members]')).toHaveCount(0, { timeout: 30_000 });
  await expect(grantee).toContainText('team (group: bob, carol)');

  // Carol opens it and reads the file.
  await carol.goto(node.url + '/shared');
  await expect(item(carol, 'Team').locator('[data-testid=shared-by]')).toHaveText('from admin · Can view', { timeout: 30_000 });
  await item(carol, 'Team').dblclick();
  await expect(item(carol, 'welcome.txt')).toBeVisible({ timeout: 30_000 });
  await bobCtx.close();
  await carolCtx.close();
});
