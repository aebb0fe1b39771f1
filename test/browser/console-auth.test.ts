// The console with etcd auth enabled, in a real headless Chromium: the login page (a wrong password shows
// etcd's error), root managing a role and a user's roles on the Access page, a read-only user who sees no
// Publish/Rollback and whose direct publish is refused with 403, a live view authenticated without a token in
// its URL, an expired session whose re-login keeps the edit in progress, and logout.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { currentTarget, makeTempDir, type Member, startMember, stopMember } from '../support';
import { api, launchBrowser, openPage, screenshot } from './support';

const suite = currentTarget().kind === 'cairn' ? describe : describe.skip;

const ITEM = '/api/config/v1/namespaces/shop/apps/payments/items/config.yaml';
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
/** etcd's prefix range end for an ASCII prefix: the last byte + 1. */
const prefixEnd = (p: string): string => p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1);

suite('web console with auth enabled', () => {
  let member: Member;
  let browser: Browser;
  const pages: Page[] = [];

  /** etcd's JSON gateway with the raw token in Authorization, as etcd's gateway reads it. */
  async function gw<T = Record<string, unknown>>(path: string, body: object, token?: string): Promise<T> {
    const res = await fetch(`${member.clientUrl}/v3/auth/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`/v3/auth/${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  const tokenOf = async (name: string, password: string): Promise<string> =>
    (await gw<{ token: string }>('authenticate', { name, password })).token;

  beforeAll(async () => {
    // A config key file, for the secret item.
    const keyFile = join(makeTempDir(), 'config-keys');
    writeFileSync(keyFile, `k1:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    [member, browser] = await Promise.all([
      startMember({ extraFlags: ['--config-encryption-key-file', keyFile] }),
      launchBrowser(),
    ]);
    // An item with two releases, made while auth is still off.
    await api(member.clientUrl, 'PUT', '/api/config/v1/namespaces/shop', { description: 'web shop' });
    await api(member.clientUrl, 'PUT', '/api/config/v1/namespaces/shop/apps/payments', {});
    await api(member.clientUrl, 'PUT', ITEM, { format: 'yaml' });
    for (const content of ['limit: 1\n', 'limit: 2\n']) {
      await api(member.clientUrl, 'POST', `${ITEM}/publish`, { content, author: 'setup' });
    }
    // An instance with a lease long enough for the whole file (no heartbeats needed).
    await api(
      member.clientUrl,
      'PUT',
      '/api/registry/v1/namespaces/default/services/orders/instances/orders-1',
      {
        address: { host: '127.0.0.1', port: 18091, scheme: 'http' },
        ttl: 600,
      },
    );
    // root (etcd requires it, with the root role, to enable auth); a reader and a writer of the app, and a
    // reader of the registry's default namespace.
    await gw('user/add', { name: 'root', password: 'root-pw' });
    await gw('user/grant', { user: 'root', role: 'root' });
    const app = '/cairn/config/shop/payments/';
    for (const [role, permType] of [
      ['shop-reader', 'READ'],
      ['shop-writer', 'READWRITE'],
    ] as const) {
      await gw('role/add', { name: role });
      await gw('role/grant', {
        name: role,
        perm: { permType, key: b64(app), range_end: b64(prefixEnd(app)) },
      });
    }
    await gw('user/add', { name: 'viewer', password: 'viewer-pw' });
    await gw('user/grant', { user: 'viewer', role: 'shop-reader' });
    const registry = '/cairn/registry/default/';
    await gw('role/add', { name: 'registry-reader' });
    await gw('role/grant', {
      name: 'registry-reader',
      perm: { permType: 'READ', key: b64(registry), range_end: b64(prefixEnd(registry)) },
    });
    await gw('user/add', { name: 'ops', password: 'ops-pw' });
    await gw('user/grant', { user: 'ops', role: 'registry-reader' });
    await gw('user/add', { name: 'writer', password: 'writer-pw' });
    await gw('user/grant', { user: 'writer', role: 'shop-writer' });
    await gw('enable', {});
  }, 60_000);

  afterAll(async () => {
    for (const page of pages) await page.close().catch(() => undefined);
    await browser?.close();
    if (member) await stopMember(member);
  });

  /** A new page (its own browser context: its own sessionStorage, so its own session). */
  async function open(path: string): Promise<Page> {
    const { page, errors } = await openPage(browser, `${member.clientUrl}${path}`);
    pages.push(page);
    page.on('close', () => expect(errors, 'uncaught errors in the console').toEqual([]));
    return page;
  }

  async function signIn(page: Page, user: string, password: string): Promise<void> {
    await page.getByLabel('User', { exact: true }).fill(user);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it("asks for a login; a wrong password shows etcd's error and signs nobody in", async () => {
    const page = await open('/config');
    await page.getByRole('heading', { name: /Cairn/ }).waitFor();
    await signIn(page, 'root', 'not-the-password');
    await page.getByRole('alert').getByText('authentication failed, invalid user ID or password').waitFor();
    await screenshot(page, 'login');
    expect(await page.getByTestId('current-user').count()).toBe(0);
    expect(await page.getByRole('navigation', { name: 'console sections' }).count()).toBe(0);
    expect(await page.evaluate<string | null>("sessionStorage.getItem('cairn.session')")).toBeNull();
  });

  it("root signs in, is shown in the header, and manages a role and a user's roles on the Access page", async () => {
    const page = await open('/access');
    await signIn(page, 'root', 'root-pw');
    await page.getByTestId('current-user').getByText('root').waitFor();
    await page.getByRole('heading', { name: 'Access' }).waitFor();
    await page.getByTestId('auth-status').getByText('enabled').waitFor();

    // A new role with READWRITE on a registry namespace prefix.
    const roles = page.getByTestId('roles');
    await roles.getByLabel('new role').fill('prod-ops');
    await roles.getByRole('button', { name: 'Add' }).click();
    const role = page.getByTestId('role-prod-ops');
    await role.getByText('No permissions.').waitFor();
    await role.getByLabel('permission type').selectOption('READWRITE');
    await role.getByLabel('range kind').selectOption('prefix');
    await role.getByLabel('permission key').fill('/cairn/registry/prod/');
    await role.getByRole('button', { name: 'Grant' }).click();
    const perms = page.getByRole('table', { name: 'permissions of prod-ops' });
    await perms.getByText('/cairn/registry/prod/').waitFor();
    await screenshot(page, 'access');
    const rootToken = await tokenOf('root', 'root-pw');
    const stored = await gw<{ perm: { permType?: string; key: string; range_end: string }[] }>(
      'role/get',
      { role: 'prod-ops' },
      rootToken,
    );
    expect(stored.perm).toEqual([
      { permType: 'READWRITE', key: b64('/cairn/registry/prod/'), range_end: b64('/cairn/registry/prod0') },
    ]);

    // Granted to viewer, then revoked, from the Users panel.
    const users = page.getByTestId('users');
    await users.getByRole('listbox', { name: 'users' }).getByText('viewer', { exact: true }).click();
    const viewer = page.getByTestId('user-viewer');
    await viewer.getByLabel('role to grant').selectOption('prod-ops');
    await viewer.getByRole('button', { name: 'Grant', exact: true }).click();
    await viewer.getByText('Role prod-ops granted.').waitFor();
    expect((await gw<{ roles: string[] }>('user/get', { name: 'viewer' }, rootToken)).roles).toEqual([
      'prod-ops',
      'shop-reader',
    ]);
    await viewer.getByRole('button', { name: 'revoke role prod-ops from viewer' }).click();
    await viewer.getByText('Role prod-ops revoked.').waitFor();
    expect((await gw<{ roles: string[] }>('user/get', { name: 'viewer' }, rootToken)).roles).toEqual([
      'shop-reader',
    ]);

    // The permission revoked, then the role deleted.
    await perms.getByRole('button', { name: 'revoke READWRITE on /cairn/registry/prod/' }).click();
    await role.getByText('No permissions.').waitFor();
    await role.getByRole('button', { name: 'Delete role…' }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Delete' }).click();
    await role.waitFor({ state: 'detached' });
    const left = await gw<{ roles: string[] }>('role/list', {}, rootToken);
    expect(left.roles).not.toContain('prod-ops');
  });

  it('a live view (Watch) authenticates with a header, never a token in its URL', async () => {
    const page = await open('/watch?prefix=/auth-demo/');
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    await signIn(page, 'root', 'root-pw');
    await page.getByText('live', { exact: true }).waitFor();
    const token = await tokenOf('root', 'root-pw');
    const put = await fetch(`${member.clientUrl}/v3/kv/put`, {
      method: 'POST',
      headers: { authorization: token },
      body: JSON.stringify({ key: b64('/auth-demo/a'), value: b64('seen') }),
    });
    expect(put.status).toBe(200);
    await page.getByTestId('watch-feed').getByText('/auth-demo/a').waitFor();
    const session = await page.evaluate<string | null>("sessionStorage.getItem('cairn.session')");
    const pageToken = (JSON.parse(session!) as { token: string }).token;
    expect(urls.filter((u) => u.includes(pageToken))).toEqual([]);
  });

  it('a read-only user sees no Publish, Save draft or Roll back, and a direct publish answers 403', async () => {
    const page = await open('/config?ns=shop&app=payments&item=config.yaml');
    await signIn(page, 'viewer', 'viewer-pw');
    await page.getByTestId('current-user').getByText('viewer').waitFor();
    await page.getByTestId('item-version').getByText('v2').waitFor();
    await page.getByTestId('read-only').waitFor();
    expect(await page.getByRole('tab', { name: 'Content' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Publish…' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Save draft' }).count()).toBe(0);
    expect(await page.getByLabel('content of config.yaml').isEditable()).toBe(false);
    await page.getByRole('tab', { name: 'Releases' }).click();
    await page.getByTestId('release-1').waitFor();
    expect(await page.getByRole('button', { name: /Roll back/ }).count()).toBe(0);
    // Root-only: no Access page in the navigation.
    expect(await page.getByRole('link', { name: 'Access' }).count()).toBe(0);

    // The server refuses what the page hides: 403 with a JSON error for the reader, 401 for nobody.
    const token = await tokenOf('viewer', 'viewer-pw');
    const publish = (headers: Record<string, string>) =>
      fetch(`${member.clientUrl}${ITEM}/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ content: 'limit: 3\n' }),
      });
    const denied = await publish({ authorization: `Bearer ${token}` });
    expect(denied.status).toBe(403);
    expect(JSON.stringify(await denied.json())).toContain('permission denied');
    expect((await publish({})).status).toBe(401);
  });

  it('Services: a registry reader sees the instances live but no Drain or Deregister; without read, the page says so', async () => {
    const reader = await open('/services?ns=default&service=orders');
    await signIn(reader, 'ops', 'ops-pw');
    await reader.getByTestId('instance-orders-1').waitFor();
    await reader.getByText('live', { exact: true }).waitFor();
    expect(await reader.getByRole('button', { name: /Drain|Mark UP|Deregister/ }).count()).toBe(0);

    const root = await open('/services?ns=default&service=orders');
    await signIn(root, 'root', 'root-pw');
    await root.getByTestId('instance-orders-1').getByRole('button', { name: 'Deregister…' }).waitFor();

    const outsider = await open('/services?ns=default');
    await signIn(outsider, 'viewer', 'viewer-pw');
    await outsider.getByText('no permission to watch this').waitFor();

    // The console's own feed likewise: refused before the stream opens (403, or 401 without a token).
    await outsider.getByRole('link', { name: 'Watch' }).click();
    await outsider.getByText('no permission to watch this').waitFor();
    const token = await tokenOf('viewer', 'viewer-pw');
    const feed = (headers: Record<string, string>) =>
      fetch(`${member.clientUrl}/api/console/v1/watch?prefix=/`, { headers });
    const denied = await feed({ authorization: `Bearer ${token}` });
    expect(denied.status).toBe(403);
    expect(await denied.text()).toContain('permission denied');
    expect((await feed({})).status).toBe(401);
  });

  it('an expired session shows the login over the page; signing in again keeps the edit, which publishes', async () => {
    const page = await open('/config?ns=shop&app=payments&item=config.yaml');
    await signIn(page, 'writer', 'writer-pw');
    await page.getByTestId('item-version').getByText('v2').waitFor();
    const editor = page.getByLabel('content of config.yaml');
    await editor.fill('limit: 42\n');
    // etcd drops a user's tokens when the user is deleted: the page's token is now invalid.
    const rootToken = await tokenOf('root', 'root-pw');
    await gw('user/delete', { name: 'writer' }, rootToken);
    await gw('user/add', { name: 'writer', password: 'writer-pw' }, rootToken);
    await gw('user/grant', { user: 'writer', role: 'shop-writer' }, rootToken);
    await page.getByTestId('login-notice').getByText('Your session as writer has expired').waitFor({
      timeout: 20_000,
    });
    await signIn(page, 'writer', 'writer-pw');
    await page.getByTestId('login-notice').waitFor({ state: 'detached' });
    expect(await editor.inputValue()).toBe('limit: 42\n');
    await page.getByRole('button', { name: 'Publish…' }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Publish' }).click();
    await page.getByTestId('item-version').getByText('v3').waitFor();
    const live = await fetch(`${member.clientUrl}${ITEM}`, {
      headers: { authorization: `Bearer ${rootToken}` },
    });
    expect(((await live.json()) as { content: string }).content).toBe('limit: 42\n');
    // The release names the authenticated user; the Author field is only a note beside it.
    await page.getByRole('tab', { name: 'Releases' }).click();
    expect(await page.getByTestId('release-3').textContent()).toContain('writer (note: console)');
  });

  it('a secret item shows masked and cannot be published until revealed; revealed, the edit publishes', async () => {
    const secret = '/api/config/v1/namespaces/shop/apps/payments/items/db.yaml';
    const rootToken = await tokenOf('root', 'root-pw');
    const asRoot = (method: string, path: string, body?: object) =>
      fetch(`${member.clientUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${rootToken}`, 'content-type': 'application/json' },
        body: body && JSON.stringify(body),
      });
    expect((await asRoot('PUT', secret, { format: 'yaml', secret: true })).status).toBe(200);
    expect((await asRoot('POST', `${secret}/publish`, { content: 'password: hunter2\n' })).status).toBe(201);

    const page = await open('/config?ns=shop&app=payments&item=db.yaml');
    await signIn(page, 'writer', 'writer-pw');
    await page.getByTestId('secret-masked').waitFor();
    const editor = page.getByLabel('content of db.yaml');
    expect(await editor.inputValue()).toBe('******');
    expect(await editor.isEditable()).toBe(false);
    expect(await page.getByRole('button', { name: 'Publish…' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Save draft' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Reveal' }).click();
    await page.getByTestId('secret-masked').waitFor({ state: 'detached' });
    expect(await editor.inputValue()).toBe('password: hunter2\n');
    await editor.fill('password: correct-horse\n');
    await page.getByRole('button', { name: 'Publish…' }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Publish' }).click();
    await page.getByTestId('item-version').getByText('v2').waitFor();
    const live = (await (await asRoot('GET', `${secret}?reveal=true`)).json()) as { content: string };
    expect(live.content).toBe('password: correct-horse\n');
  });

  it('a token the member no longer knows, restored from sessionStorage, lands on the login page', async () => {
    const page = await open('/cluster');
    await signIn(page, 'viewer', 'viewer-pw');
    await page.getByTestId('current-user').waitFor();
    await page.evaluate(`sessionStorage.setItem('cairn.session', '{"user":"viewer","token":"bogus.1"}')`);
    await page.reload();
    await page.getByTestId('login-notice').getByText('Your session as viewer has expired').waitFor();
  });

  it('Sign out returns to the login page and forgets the session', async () => {
    const page = await open('/keys');
    await signIn(page, 'viewer', 'viewer-pw');
    await page.getByTestId('current-user').getByRole('button', { name: 'Sign out' }).click();
    await page.getByTestId('login-notice').getByText('Signed out.').waitFor();
    expect(await page.evaluate<string | null>("sessionStorage.getItem('cairn.session')")).toBeNull();
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.getByTestId('current-user').count()).toBe(0);
  });

  it('root disables auth on the Access page (the console then needs no login) and enables it again', async () => {
    const page = await open('/access');
    await signIn(page, 'root', 'root-pw');
    const status = page.getByTestId('auth-status');
    await status.getByRole('button', { name: 'Disable auth…' }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Disable' }).click();
    await status.getByText('disabled').waitFor();
    expect(await page.getByTestId('current-user').count()).toBe(0);
    const other = await open('/config?ns=shop&app=payments&item=config.yaml');
    await other.getByTestId('item-version').getByText('v3').waitFor();
    await other.getByRole('button', { name: 'Publish…' }).waitFor();

    await status.getByRole('button', { name: 'Enable auth…' }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Enable' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect((await gw<{ enabled?: boolean }>('status', {})).enabled).toBe(true);
  });
});
