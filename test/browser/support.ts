// Shared by the console's browser tests: Debian's headless chromium driven by playwright-core, and
// screenshots for docs/images (written only with CAIRN_CONSOLE_SCREENSHOTS=1, so test runs leave the tree clean).
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '../support';

export const CHROMIUM = process.env['CAIRN_TEST_CHROMIUM'] ?? '/usr/bin/chromium';

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export async function launchBrowser(): Promise<Browser> {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(
      `not executable: ${CHROMIUM}. Run scripts/install-test-deps.sh --browser (Debian chromium), or set CAIRN_TEST_CHROMIUM.`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, timeout: 30_000 });
}

/** A page that fails the test on uncaught errors in the console's code. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.setDefaultTimeout(15_000);
  await page.goto(url);
  return { page, errors };
}

export const SCREENSHOTS = process.env['CAIRN_CONSOLE_SCREENSHOTS'] === '1';

export async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  const dir = join(repoRoot, 'docs', 'images');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `console-${name}.png`), fullPage: false });
}

export async function api<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
