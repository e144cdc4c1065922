// Test harness: real `cube` node processes on loopback ports, each with its
// own data directory, stopped by PID when the test ends.
import { test as base, expect, Page, APIRequestContext } from '@playwright/test';
import { spawn, ChildProcess, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';

export const repoRoot = path.resolve(__dirname, '..');
export const cubeBin = path.join(repoRoot, 'bin', 'cube');

export class CubeNode {
  url = '';
  proc?: ChildProcess;
  readonly logFile: string;

  constructor(readonly dataDir: string) {
    this.logFile = path.join(dataDir, '..', path.basename(dataDir) + '.log');
  }

  static async start(dataDir?: string): Promise<CubeNode> {
    const dir = dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cube-e2e-')) + '/data';
    const node = new CubeNode(dir);
    await node.run();
    return node;
  }

  // run starts the process on a free port (or the previous one, on restart).
  async run(): Promise<void> {
    const addr = this.url ? new URL(this.url).host : '127.0.0.1:0';
    const log = fs.openSync(this.logFile, 'a');
    const proc = spawn(cubeBin, ['run', '--addr', addr, '--data', this.dataDir], {
      stdio: ['ignore', log, log],
    });
    this.proc = proc;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const m = fs.readFileSync(this.logFile, 'utf8').match(/msg="CommunityCube node running" url=(\S+)/g);
      if (m && m.length > this.starts) {
        this.starts = m.length;
        this.url = m[m.length - 1].split('url=')[1];
        return;
      }
      if (proc.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('cube did not start:\n' + this.logs());
  }
  private starts = 0;

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    process.kill(p.pid!, 'SIGTERM');
    await exited;
  }

  logs(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }

  // cli runs `cube ARGS` to completion and returns its output.
  cli(...args: string[]): string {
    return execFileSync(cubeBin, args, { encoding: 'utf8' });
  }
}

export const admin = { name: 'admin', password: 'Quartz-Lantern-Meadow-71' };

// setupAdmin creates the administrator through the API, as the setup page would.
export async function setupAdmin(request: APIRequestContext, node: CubeNode, who = admin) {
  const r = await request.post(node.url + '/api/v1/setup', { data: { name: who.name, password: who.password } });
  expect(r.status(), await r.text()).toBe(201);
}

// login signs in through the UI and waits for the unlocked files page (see
// signInFiles).
export async function login(page: Page, node: CubeNode, who = admin) {
  await signInFiles(page, node, who);
}

// signInFiles signs in through the UI and waits for the unlocked files page:
// it saves the recovery key when the keys are made now (and returns its
// text), or gives the password to the unlock prompt.
// saveRecoveryKey gets past the card that shows a new recovery key once
// (after setup, or the first sign-in) and returns the key's text.
export async function saveRecoveryKey(page: Page): Promise<string | undefined> {
  const card = page.locator('#recovery-key-card');
  await expect(card).toBeVisible({ timeout: 60_000 });
  const key = (await page.locator('#recovery-key').textContent())?.trim();
  await page.locator('#recovery-key-saved').check();
  await page.locator('#recovery-key-done').click();
  return key;
}

export async function signInFiles(page: Page, node: CubeNode, who = admin): Promise<string | undefined> {
  await page.goto(node.url + '/login');
  await page.getByLabel('User name').fill(who.name);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const files = page.locator('#files-drop');
  const card = page.locator('#recovery-key-card');
  const prompt = page.locator('#unlock-prompt');
  await expect(files.or(card).or(prompt)).toBeVisible({ timeout: 60_000 });
  let recoveryKey: string | undefined;
  if (await card.isVisible()) {
    recoveryKey = (await page.locator('#recovery-key').textContent())?.trim();
    await page.locator('#recovery-key-saved').check();
    await page.locator('#recovery-key-done').click();
  }
  await expect(files.or(prompt)).toBeVisible({ timeout: 60_000 });
  if (await prompt.isVisible()) {
    await page.locator('#unlock-password').fill(who.password);
    await page.locator('#unlock-submit').click();
  }
  await expect(page).toHaveURL(/\/files/);
  await expect(files).toBeVisible({ timeout: 60_000 });
  return recoveryKey;
}

type Fixtures = { node: CubeNode };

export const test = base.extend<Fixtures>({
  node: async ({}, use, testInfo) => {
    const node = await CubeNode.start();
    try {
      await use(node);
    } finally {
      await node.stop();
      if (testInfo.status !== testInfo.expectedStatus) {
        await testInfo.attach('cube.log', { body: node.logs(), contentType: 'text/plain' });
      }
      fs.rmSync(path.dirname(node.dataDir), { recursive: true, force: true });
    }
  },
});

export { expect };
