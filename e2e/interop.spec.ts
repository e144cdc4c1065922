// The browser and the CLI write the same formats: a file uploaded in the
// browser comes back byte-identical with `cube get`, and the reverse. And the
// leak test: after secure-mode uploads from both, nothing the node wrote (its
// database, share files, logs) holds a name, a content marker, the password
// or the recovery key.
import { test, expect, admin, setupAdmin, CubeNode, signInFiles } from './cube';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cube-interop-'));
}

// cliLogin signs the CLI in with its own config directory.
function cliLogin(node: CubeNode, dir: string): string {
  const cfg = path.join(dir, 'config');
  const pw = path.join(dir, 'password');
  fs.writeFileSync(pw, admin.password + '\n', { mode: 0o600 });
  node.cli('login', '--server', node.url, '--user', admin.name, '--password-file', pw, '--config', cfg);
  return cfg;
}

function random(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = 7;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >> 16;
  }
  return b;
}

test('a browser upload downloads byte-identical with the CLI, and a CLI upload in the browser', async ({ page, node, request }) => {
  test.setTimeout(180_000);
  await setupAdmin(request, node);
  await signInFiles(page, node);
  const dir = tmpDir();
  try {
    // Browser -> CLI. A format scrubbing does not touch, so bytes must match.
    const fromBrowser = random(3 << 20);
    await page.locator('#upload-files').setInputFiles([{ name: 'from-browser.bin', mimeType: 'application/octet-stream', buffer: fromBrowser }]);
    await expect(page.locator('[data-testid=item][data-name="from-browser.bin"]')).toBeVisible({ timeout: 60_000 });
    const cfg = cliLogin(node, dir);
    const out = path.join(dir, 'got.bin');
    node.cli('get', '--config', cfg, '/from-browser.bin', out);
    expect(fs.readFileSync(out).equals(fromBrowser)).toBe(true);

    // CLI -> browser.
    const fromCLI = random(2 << 20).reverse();
    const local = path.join(dir, 'from-cli.bin');
    fs.writeFileSync(local, fromCLI);
    node.cli('put', '--config', cfg, local, '/');
    await page.reload();
    const row = page.locator('[data-testid=item][data-name="from-cli.bin"]');
    await expect(row).toBeVisible({ timeout: 60_000 });
    await row.locator('.col-size, .tile-meta').first().click();
    const dl = page.waitForEvent('download');
    await page.locator('#action-download').click();
    const download = await dl;
    expect(await download.failure()).toBeNull();
    expect(fs.readFileSync((await download.path())!).equals(fromCLI)).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// walk lists every file under dir.
function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

test('leak test: secure uploads from the browser and the CLI leave no name, content, password or key on the node', async ({ page, node, request }) => {
  test.setTimeout(180_000);
  await setupAdmin(request, node);
  const recoveryKey = await signInFiles(page, node);
  const dir = tmpDir();
  const markers = {
    folder: 'Quokka-Folder-7f3a',
    fileName: 'Narwhal-Name-91c2.txt',
    content: 'Pangolin-Content-5d8e',
    cliFolder: 'Axolotl-CLI-Folder-2b6c',
    cliName: 'Okapi-CLI-Name-4e1f.txt',
    cliContent: 'Tapir-CLI-Content-8a0d',
  };
  try {
    // Browser: a folder and a file in it, secure (the default mode).
    await page.locator('#new-folder').click();
    await page.locator('#mkdir-name').fill(markers.folder);
    await page.locator('#mkdir-name-submit').click();
    const folder = page.locator(`[data-testid=item][data-name="${markers.folder}"]`);
    await expect(folder).toBeVisible();
    await folder.dblclick();
    await expect(page.locator('#breadcrumbs [aria-current=location]')).toHaveText(markers.folder);
    // Over 55 bytes, so it goes to the grid as CHK shares, not inline.
    const body = Buffer.from((markers.content + '\n').repeat(200));
    await page.locator('#upload-files').setInputFiles([{ name: markers.fileName, mimeType: 'text/plain', buffer: body }]);
    await expect(page.locator(`[data-testid=item][data-name="${markers.fileName}"]`)).toBeVisible({ timeout: 60_000 });

    // CLI: the same, with --secure.
    const cfg = cliLogin(node, dir);
    node.cli('mkdir', '--config', cfg, '/' + markers.cliFolder);
    const local = path.join(dir, markers.cliName);
    fs.writeFileSync(local, (markers.cliContent + '\n').repeat(200));
    node.cli('put', '--config', cfg, '--secure', local, '/' + markers.cliFolder);
    expect(node.cli('ls', '--config', cfg, '/' + markers.cliFolder)).toContain(markers.cliName);

    await node.stop();
    const needles: [string, Buffer][] = [];
    for (const [k, v] of Object.entries(markers)) {
      needles.push([k, Buffer.from(v)]);
      needles.push([k + ' (UTF-16)', Buffer.from(v, 'utf16le')]);
    }
    needles.push(['password', Buffer.from(admin.password)]);
    if (recoveryKey) {
      needles.push(['recovery key', Buffer.from(recoveryKey)]);
      needles.push(['recovery key, compact', Buffer.from(recoveryKey.replace(/[\s-]/g, ''))]);
    }
    const files = walk(node.dataDir).concat([node.logFile]);
    expect(files.length).toBeGreaterThan(3);
    let scanned = 0;
    for (const f of files) {
      const data = fs.readFileSync(f);
      scanned += data.length;
      for (const [what, needle] of needles) {
        expect(data.includes(needle), `${what} found in ${path.relative(path.dirname(node.dataDir), f)}`).toBe(false);
      }
    }
    // The scan saw real data: the shares of two files at least.
    expect(scanned).toBeGreaterThan(2 * body.length);
    // And the scan would catch a name: the user name, which the node does
    // keep in clear, is found in its database.
    expect(files.some((f) => f.endsWith('cube.db') && fs.readFileSync(f).includes(Buffer.from(admin.name)))).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
