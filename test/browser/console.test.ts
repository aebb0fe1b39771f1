// The web console in a real headless Chromium against real, built server processes (`npm run build` first):
// live services, the key browser with a diff between revisions, config edit/publish/rollback reaching a
// subscribed SDK client, a publish conflict showing both versions, and the cluster and watch pages.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ConfigClient, type ConfigChange, type ConfigSubscription } from '@cairn/client';
import {
  currentTarget,
  killMember,
  restartMember,
  type ManagedProcess,
  type Member,
  spawnManaged,
  startCluster,
  startMember,
  stopMember,
  waitFor,
} from '../support';
import { api, launchBrowser, openPage, screenshot } from './support';
import type { ConfigBundle } from '../../libs/config/src/types';

const INSTANCE = join(__dirname, 'fixtures', 'instance.mjs');
const TTL_S = 2;

// The console is Cairn's own; there is nothing to compare against real etcd.
const suite = currentTarget().kind === 'cairn' ? describe : describe.skip;

suite('web console in Chromium', () => {
  let member: Member;
  let browser: Browser;
  const pages: Page[] = [];
  const instances: ManagedProcess[] = [];

  beforeAll(async () => {
    [member, browser] = await Promise.all([startMember(), launchBrowser()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(instances.map((p) => p.kill()));
    for (const page of pages) await page.close().catch(() => undefined);
    await browser?.close();
    if (member) await stopMember(member);
  });

  async function open(path: string): Promise<Page> {
    const { page, errors } = await openPage(browser, `${member.clientUrl}${path}`);
    pages.push(page);
    page.on('close', () => expect(errors, 'uncaught errors in the console').toEqual([]));
    return page;
  }

  async function startInstance(service: string, id: string, port: number): Promise<ManagedProcess> {
    const proc = spawnManaged(
      process.execPath,
      [INSTANCE, member.clientUrl, 'default', service, id, String(port), String(TTL_S)],
      { label: `instance ${id}` },
    );
    instances.push(proc);
    await waitFor(() => proc.stdout().includes('registered') || !proc.running || undefined, {
      timeoutMs: 10_000,
      what: `${id} to register`,
    });
    if (!proc.running) throw new Error(`${id} failed to register:\n${proc.describeOutput()}`);
    return proc;
  }

  it('serves the console at / with client-side routes and leaves /health, /version and /v3 alone', async () => {
    for (const path of ['/', '/keys', '/config?ns=x']) {
      const res = await fetch(`${member.clientUrl}${path}`);
      expect(res.status, path).toBe(200);
      expect(await res.text(), path).toContain('<div id="root">');
    }
    expect(await (await fetch(`${member.clientUrl}/health`)).json()).toEqual({ health: 'true' });
    expect((await (await fetch(`${member.clientUrl}/version`)).json()) as object).toHaveProperty(
      'etcdserver',
    );
    expect((await fetch(`${member.clientUrl}/v3/kv/range`)).status).toBe(405);
    expect((await fetch(`${member.clientUrl}/assets/missing.js`)).status).toBe(404);
  });

  it('Services: two registered instances appear live; a killed one disappears within its TTL', async () => {
    const page = await open('/services?ns=default&service=orders');
    await page.getByText('No instances registered').waitFor();
    const first = await startInstance('orders', 'orders-1', 18081);
    await startInstance('orders', 'orders-2', 18082);
    // Live: no reload, the SSE feed brings both rows.
    await page.getByTestId('instance-orders-1').waitFor();
    await page.getByTestId('instance-orders-2').waitFor();
    await page.getByTestId('service-orders').getByText('2 / 2').waitFor();
    const row = page.getByTestId('instance-orders-1');
    expect(await row.textContent()).toContain('http://127.0.0.1:18081');
    expect(await row.textContent()).toContain('owner=team-orders');
    expect(await row.textContent()).toContain('eu-1');
    await screenshot(page, 'services');

    const killedAt = Date.now();
    await first.kill();
    await page.getByTestId('instance-orders-1').waitFor({ state: 'detached', timeout: (TTL_S + 8) * 1000 });
    const goneAfterMs = Date.now() - killedAt;
    await page.getByTestId('service-orders').getByText('1 / 1').waitFor();
    expect(await page.getByTestId('instance-orders-2').count()).toBe(1);
    console.log(
      `console: a SIGKILLed instance (TTL ${TTL_S}s) left the Services page after ${goneAfterMs} ms`,
    );

    // Drain, then deregister the survivor from the page.
    const survivor = page.getByTestId('instance-orders-2');
    await survivor.getByRole('button', { name: 'Drain' }).click();
    await survivor.getByText('DRAINING').waitFor();
    await page.getByTestId('service-orders').getByText('0 / 1').waitFor();
    await survivor.getByRole('button', { name: 'Deregister…' }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Deregister' }).click();
    await page.getByTestId('instance-orders-2').waitFor({ state: 'detached' });
    await page.getByText('No instances registered').waitFor();
  });

  it('Keys: browses the prefix tree and shows the diff between two revisions', async () => {
    const put = (value: string) =>
      api(member.clientUrl, 'PUT', '/api/console/v1/keys/value', { key: '/demo/app/config.json', value });
    await put(JSON.stringify({ replicas: 2, image: 'shop:1.0' }));
    await put(JSON.stringify({ replicas: 3, image: 'shop:1.0' }));
    await put(JSON.stringify({ replicas: 3, image: 'shop:1.1' }));
    await api(member.clientUrl, 'PUT', '/api/console/v1/keys/value', {
      key: '/demo/app/motd',
      value: 'hello',
    });

    const page = await open('/keys');
    const tree = page.getByRole('tree', { name: 'keys' });
    const node = (id: string) => tree.locator(`[data-node="${id}"]`);
    await node('d:/').locator('.label').click();
    await node('d:/demo/').locator('.label').click();
    // Keyboard: Right opens the focused directory, Down moves to its first key, Enter selects it.
    await node('d:/demo/app/').focus();
    await page.keyboard.press('ArrowRight');
    await node('k:/demo/app/config.json').waitFor();
    await page.keyboard.press('ArrowDown');
    await node('k:/demo/app/config.json').and(page.locator(':focus')).waitFor();
    await page.keyboard.press('Enter');
    expect(await node('d:/demo/app/').locator('.count').textContent()).toBe('2');
    await page.getByTestId('key-name').getByText('/demo/app/config.json').waitFor();
    const meta = page.getByTestId('key-meta');
    await meta.getByText('version').waitFor();
    expect(await meta.textContent()).toMatch(/version\s*3/);

    // The last two revisions are compared by default: the image changed.
    const diff = page.getByTestId('diff');
    await diff.waitFor();
    expect(await diff.locator('.del').allTextContents()).toEqual(['-  "image": "shop:1.0"']);
    expect(await diff.locator('.add').allTextContents()).toEqual(['+  "image": "shop:1.1"']);

    // Compare the first and the last revision instead (keyboard: Space toggles a focused history row).
    const rows = page.getByRole('table', { name: 'key history' }).locator('tbody tr');
    expect(await rows.count()).toBe(3);
    const revisions = (await rows.locator('td:nth-child(2)').allTextContents()).map(Number);
    await rows.nth(1).focus();
    await page.keyboard.press(' '); // unpick the middle revision
    await rows.nth(2).click(); // pick the oldest
    await page.getByText(`Diff revision ${revisions[2]} → ${revisions[0]}`).waitFor();
    expect(await diff.locator('.del').allTextContents()).toEqual([
      '-  "replicas": 2,',
      '-  "image": "shop:1.0"',
    ]);
    expect(await diff.locator('.add').allTextContents()).toEqual([
      '+  "replicas": 3,',
      '+  "image": "shop:1.1"',
    ]);
    await screenshot(page, 'keys');

    // As of the first revision the key has its first value.
    await page.goto(`${member.clientUrl}/keys?key=/demo/app/config.json&rev=${revisions[2]}`);
    await page.getByText('Read-only view of the store as of revision').waitFor();
    await page.getByLabel('value').getByText('"replicas": 2').waitFor();
  });

  it('Keys: puts and deletes a key after a confirmation', async () => {
    const page = await open('/keys?root=/demo/');
    await page.getByRole('button', { name: 'New key' }).click();
    await page.getByLabel('Key', { exact: true }).fill('/demo/new-key');
    await page.getByLabel('Value', { exact: true }).fill('created from the console');
    await page.getByRole('button', { name: 'Put…' }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Put' }).click();
    await page.getByTestId('key-name').getByText('/demo/new-key').waitFor();
    await page.getByLabel('value').getByText('created from the console').waitFor();
    const stored = await api<{ kv: { text: string } }>(
      member.clientUrl,
      'GET',
      '/api/console/v1/keys/value?key=/demo/new-key',
    );
    expect(stored.kv.text).toBe('created from the console');

    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Delete' }).click();
    await page.getByText(/The key does not exist at revision/).waitFor();
    await page.getByRole('table', { name: 'key history' }).getByText('delete').waitFor();
  });

  describe('Config', () => {
    let client: ConfigClient;
    let subscription: ConfigSubscription;
    const received: ConfigChange[] = [];
    const item = '/api/config/v1/namespaces/shop/apps/payments/items/config.yaml';

    beforeAll(async () => {
      await api(member.clientUrl, 'PUT', '/api/config/v1/namespaces/shop', { description: 'web shop' });
      await api(member.clientUrl, 'PUT', '/api/config/v1/namespaces/shop/apps/payments', {});
      await api(member.clientUrl, 'PUT', item, { format: 'yaml' });
      await api(member.clientUrl, 'POST', `${item}/publish`, {
        content: 'greeting: hello\nlimits:\n  perMinute: 100\n',
        author: 'alice',
        comment: 'first release',
      });
      client = new ConfigClient({ endpoints: member.clientUrl, callTimeoutMs: 5000, connectTimeoutMs: 2000 });
      subscription = await client.subscribe('shop', 'payments', {
        cacheDir: false,
        subscriberId: 'payments-1',
      });
      subscription.on('change', (change: ConfigChange) => received.push(change));
    });

    afterAll(() => client?.close());

    const versionSeen = (version: number) => () =>
      received.some((c) => c.name === 'config.yaml' && c.newVersion === version) || undefined;

    it('edits, publishes and rolls back an item; the subscribed SDK client receives each version', async () => {
      const page = await open('/config?ns=shop&app=payments&item=config.yaml');
      await page.getByTestId('item-version').getByText('v1').waitFor();
      const editor = page.getByLabel('content of config.yaml');
      expect(await editor.inputValue()).toBe('greeting: hello\nlimits:\n  perMinute: 100\n');

      // Invalid YAML is flagged inline with its line, and publishing is disabled.
      await editor.fill('greeting: hello\nlimits:\n  perMinute: [100\n');
      await page
        .getByTestId('validation')
        .getByText(/line \d/)
        .waitFor();
      expect(await page.getByRole('button', { name: 'Publish…' }).isDisabled()).toBe(true);

      await editor.fill('greeting: hello from v2\nlimits:\n  perMinute: 250\n');
      await page.getByRole('button', { name: 'Diff vs live' }).click();
      await page.getByLabel('live to editor').locator('.add', { hasText: 'perMinute: 250' }).waitFor();
      await screenshot(page, 'config');
      await page.getByRole('button', { name: 'Publish…' }).click();
      const dialog = page.locator('dialog[open]');
      await dialog.getByLabel('Comment').fill('raise the limit');
      await dialog.getByRole('button', { name: 'Publish' }).click();
      await page.getByTestId('item-version').getByText('v2').waitFor();
      await waitFor(versionSeen(2), { timeoutMs: 10_000, what: 'the SDK client to apply v2' });
      const v2 = received.find((c) => c.newVersion === 2)!;
      expect(v2.newValue).toEqual({ greeting: 'hello from v2', limits: { perMinute: 250 } });
      expect(v2.oldValue).toEqual({ greeting: 'hello', limits: { perMinute: 100 } });

      await page.getByRole('tab', { name: 'Releases' }).click();
      await page.getByTestId('release-2').waitFor();
      await page
        .getByLabel('diff v1 to v2')
        .locator('.add', { hasText: 'greeting: hello from v2' })
        .waitFor();
      await page.getByRole('button', { name: 'Roll back to v1' }).click();
      await page.locator('dialog[open]').getByRole('button', { name: 'Roll back' }).click();
      await page.getByText('Rolled back: v3 restores v1.').waitFor();
      await waitFor(versionSeen(3), { timeoutMs: 10_000, what: 'the SDK client to apply v3' });
      expect(received.find((c) => c.newVersion === 3)!.newValue).toEqual({
        greeting: 'hello',
        limits: { perMinute: 100 },
      });
      await page.getByTestId('release-3').getByText('rollback of v1').waitFor();
      await screenshot(page, 'config-releases');

      await page.getByRole('tab', { name: 'Listeners' }).click();
      await page.getByRole('table', { name: 'listeners' }).getByText('payments-1').waitFor();
    });

    it('a publish conflict shows both versions and keeps the edit', async () => {
      const page = await open('/config?ns=shop&app=payments&item=config.yaml');
      await page.getByTestId('item-version').getByText('v3').waitFor();
      const editor = page.getByLabel('content of config.yaml');
      const mine = 'greeting: mine\nlimits:\n  perMinute: 100\n';
      await editor.fill(mine);

      // Someone else publishes meanwhile.
      await api(member.clientUrl, 'POST', `${item}/publish`, {
        content: 'greeting: theirs\nlimits:\n  perMinute: 100\n',
        author: 'bob',
        comment: 'hotfix',
      });
      await page.getByRole('button', { name: 'Publish…' }).click();
      await page.locator('dialog[open]').getByRole('button', { name: 'Publish' }).click();
      const conflict = page.getByTestId('conflict');
      await conflict.waitFor();
      expect(await page.getByTestId('conflict-base').textContent()).toContain('greeting: hello');
      expect(await page.getByTestId('conflict-current').textContent()).toContain('greeting: theirs');
      expect(await conflict.textContent()).toContain('bob');
      expect(await editor.inputValue()).toBe(mine);
      await screenshot(page, 'config-conflict');

      // Deliberately publish over it: the edit goes live as v5.
      await page.getByRole('button', { name: 'Keep my edit, base it on the live version' }).click();
      await page.getByRole('button', { name: 'Publish…' }).click();
      await page.locator('dialog[open]').getByRole('button', { name: 'Publish' }).click();
      await page.getByTestId('item-version').getByText('v5').waitFor();
      await waitFor(versionSeen(5), { timeoutMs: 10_000, what: 'the SDK client to apply v5' });
    });

    it('a gray release reaches only the labelled subscriber; promote reaches everyone', async () => {
      const canaryChanges: ConfigChange[] = [];
      const canary = await client.subscribe('shop', 'payments', {
        cacheDir: false,
        subscriberId: 'payments-canary',
        labels: { canary: 'true' },
      });
      canary.on('change', (change: ConfigChange) => canaryChanges.push(change));
      const page = await open('/config?ns=shop&app=payments&item=config.yaml');
      await page.getByTestId('item-version').getByText('v5').waitFor();
      await page.getByRole('tab', { name: 'Gray release' }).click();
      await page.getByLabel('Labels').fill('canary=true');
      await page.getByLabel('Percentage').fill('100');
      await page.getByLabel('gray content').fill('greeting: canary\nlimits:\n  perMinute: 100\n');
      await page.getByRole('button', { name: 'Start gray release' }).click();
      await page.getByText(/Gray release v6/).waitFor();
      await waitFor(() => canaryChanges.find((c) => c.newVersion === 6 && c.gray), {
        timeoutMs: 10_000,
        what: 'the canary subscriber to apply gray v6',
      });
      expect(received.some((c) => c.newVersion === 6)).toBe(false);
      await screenshot(page, 'config-gray');

      await page.getByRole('button', { name: 'Promote to everyone' }).click();
      await waitFor(versionSeen(7), { timeoutMs: 10_000, what: 'the main subscriber to apply promoted v7' });
      expect(received.find((c) => c.newVersion === 7)!.newValue).toMatchObject({ greeting: 'canary' });
      await page.getByTestId('item-version').getByText('v7').waitFor();
      canary.close();
    });

    it('exports an app as a bundle and imports it into another namespace', async () => {
      const page = await open('/config?ns=shop&app=payments&item=config.yaml');
      const exportLink = page.getByRole('link', { name: 'Export app payments (JSON)' });
      const href = await exportLink.getAttribute('href');
      const bundle = await api<ConfigBundle>(member.clientUrl, 'GET', href!);
      expect(bundle.apps[0]!.items.map((i) => i.name)).toEqual(['config.yaml']);
      const copy = { ...bundle, namespace: 'shop-copy' };
      await page.getByLabel('publish on import').check();
      await page.getByLabel('import bundle file').setInputFiles({
        name: 'bundle.json',
        mimeType: 'application/json',
        buffer: Buffer.from(JSON.stringify(copy)),
      });
      await page.getByText(/imported 1 items: 1 published/).waitFor();
      const imported = await api<{ content: string; version: number }>(
        member.clientUrl,
        'GET',
        '/api/config/v1/namespaces/shop-copy/apps/payments/items/config.yaml',
      );
      expect(imported.content).toBe(bundle.apps[0]!.items[0]!.content);
    });

    it('with the server down the page says so and keeps the edit; after a restart it publishes', async () => {
      const page = await open('/config?ns=shop&app=payments&item=config.yaml');
      await page.getByTestId('item-version').getByText('v7').waitFor();
      const editor = page.getByLabel('content of config.yaml');
      const edit = 'greeting: written while the server was down\nlimits:\n  perMinute: 100\n';
      await editor.fill(edit);

      await stopMember(member);
      await page.getByTestId('connection').getByText('server unreachable').waitFor();
      await page.getByRole('button', { name: 'Publish…' }).click();
      await page.locator('dialog[open]').getByRole('button', { name: 'Publish' }).click();
      await page
        .getByRole('alert')
        .getByText(/server unreachable/)
        .first()
        .waitFor();
      expect(await editor.inputValue()).toBe(edit);
      await screenshot(page, 'server-down');

      await restartMember(member);
      await page.getByTestId('connection').getByText('connected').waitFor();
      await page.getByRole('button', { name: 'Publish…' }).click();
      await page.locator('dialog[open]').getByRole('button', { name: 'Publish' }).click();
      await page.getByTestId('item-version').getByText('v8').waitFor();
      // The SDK subscriber reconnects by itself and gets the release published after the restart.
      await waitFor(versionSeen(8), {
        timeoutMs: 20_000,
        what: 'the SDK client to apply v8 after the restart',
      });
    });
  });

  it('Watch: shows events under a prefix as they happen', async () => {
    const page = await open('/watch?prefix=/demo/');
    await page.getByText('live').first().waitFor();
    await api(member.clientUrl, 'PUT', '/api/console/v1/keys/value', { key: '/demo/feed/a', value: 'one' });
    await api(member.clientUrl, 'PUT', '/api/console/v1/keys/value', { key: '/demo/feed/a', value: 'two' });
    await fetch(`${member.clientUrl}/api/console/v1/keys/value?key=/demo/feed/a`, { method: 'DELETE' });
    const feed = page.getByTestId('watch-feed');
    await feed.getByText('DELETE').waitFor();
    const text = await feed.textContent();
    expect(text).toContain('/demo/feed/a');
    expect(text).toContain('two');
    await screenshot(page, 'watch');
  });

  it('Cluster: every member of a 3-member cluster with its role and health; a killed one shows unreachable; without quorum, no leader', async () => {
    const members = await startCluster({ size: 3 });
    try {
      const { page, errors } = await openPage(browser, `${members[0]!.clientUrl}/cluster`);
      pages.push(page);
      const table = page.getByRole('table', { name: 'members' });
      for (const m of members) await table.getByTestId(`member-${m.name}`).getByText('healthy').waitFor();
      expect(await table.getByText('leader', { exact: true }).count()).toBe(1);
      expect(await table.getByText('follower', { exact: true }).count()).toBe(2);
      await screenshot(page, 'cluster');
      await killMember(members[2]!);
      await table
        .getByTestId(`member-${members[2]!.name}`)
        .getByText(/unreachable/)
        .waitFor();
      // Without a quorum the member serving the page loses its leader: the page says so.
      await killMember(members[1]!);
      await page.getByTestId('leader').getByText('no leader').waitFor({ timeout: 20_000 });
      await table.getByTestId(`member-${members[0]!.name}`).getByText('RAFT NO LEADER').waitFor();
      expect(errors).toEqual([]);
    } finally {
      await Promise.all(members.map((m) => killMember(m)));
    }
  });
});
