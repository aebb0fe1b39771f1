// The Cluster page's live charts in a real headless Chromium against a 3-member cluster (`npm run build`
// first): every member's charts render (each asked over its client URL by the member serving the page),
// and under a put load they move — the put rate of the member taking the load and the proposals every member
// commits — without a chart being re-mounted, and with no error in the browser's console. With auth enabled the
// serving member forwards the user's token to the others: any signed-in user gets their samples, nobody else.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { currentTarget, killMember, type Member, startCluster, waitFor } from '../support';
import { launchBrowser, openPage, screenshot } from './support';

const CHARTS_PER_MEMBER = 7; // web/src/pages/ClusterCharts.tsx CHARTS

// The console is Cairn's own; there is nothing to compare against real etcd.
const suite = currentTarget().kind === 'cairn' ? describe : describe.skip;

suite('Cluster page charts in Chromium', () => {
  let members: Member[] = [];
  let browser: Browser;

  beforeAll(async () => {
    [members, browser] = await Promise.all([startCluster({ size: 3 }), launchBrowser()]);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(members.map((m) => killMember(m)));
  });

  it('render for every member and move under a put load, updated in place', async () => {
    const { page, errors } = await openPage(browser, `${members[0]!.clientUrl}/cluster`);
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    const lastValue = async (member: Member, chart: string, series: string): Promise<string> =>
      (await page
        .getByTestId(`last-${member.name}-${chart}`)
        .locator(`[data-series="${series}"]`)
        .textContent()) ?? '';

    // Every member's charts drew and got samples (a value, not '—'), the other two asked over their URLs.
    for (const m of members) {
      await page.getByTestId(`chart-${m.name}-requests`).locator('canvas').waitFor();
      await waitFor(async () => /\d/.test(await lastValue(m, 'db', 'dbSizeBytes')) || undefined, {
        timeoutMs: 15_000,
        what: `${m.name}'s db size chart to get samples`,
      });
    }
    expect(await page.locator('.chart-plot canvas').count()).toBe(members.length * CHARTS_PER_MEMBER);
    const mountOf = () => page.getByTestId(`chart-${members[0]!.name}-requests`).locator('.chart-plot');
    const mountedAs = await mountOf().getAttribute('data-mount');

    const client = new Etcd3({ hosts: members[0]!.clientUrl });
    let loading = true;
    const load = (async () => {
      for (let i = 0; loading; i++) await client.put(`charts/${i % 100}`).value(`v${i}`);
    })();
    try {
      const before = await lastValue(members[0]!, 'requests', 'requestsPut');
      // The put rate of the loaded member moves off its first reading, and is not zero.
      await waitFor(
        async () => {
          const now = await lastValue(members[0]!, 'requests', 'requestsPut');
          return (now !== before && /put [1-9]/.test(now)) || undefined;
        },
        { timeoutMs: 15_000, what: 'the put rate chart to move' },
      );
      // Every member commits the load's proposals: each one's own samples show it.
      for (const m of members) {
        await waitFor(
          async () =>
            /committed [1-9]/.test(await lastValue(m, 'proposals', 'proposalsCommitted')) || undefined,
          {
            timeoutMs: 15_000,
            what: `${m.name}'s proposals chart to move`,
          },
        );
      }
      await screenshot(page, 'cluster-charts');
    } finally {
      loading = false;
      await load.catch(() => undefined);
      client.close();
    }
    // Polled every second for several seconds: still the same chart instances, no more of them.
    expect(await mountOf().getAttribute('data-mount')).toBe(mountedAs);
    expect(await page.locator('.chart-plot canvas').count()).toBe(members.length * CHARTS_PER_MEMBER);
    expect(errors, 'errors in the browser console').toEqual([]);
    await page.close();
  }, 90_000);

  it("with auth enabled: any signed-in user gets every member's history through the console, anonymous callers get 401", async () => {
    const [first, second] = [members[0]!.clientUrl, members[1]!.clientUrl];
    const gw = async <T>(path: string, body: object, token?: string): Promise<T> => {
      const res = await fetch(`${first}/v3/${path}`, {
        method: 'POST',
        headers: token ? { authorization: token } : {},
        body: JSON.stringify(body),
      });
      expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
      return (await res.json()) as T;
    };
    const { members: list } = (await (await fetch(`${first}/api/console/v1/cluster`)).json()) as {
      members: Array<{ id: string; name: string }>;
    };
    const other = list.find((m) => m.name === members[2]!.name)!.id;
    await gw('auth/user/add', { name: 'root', password: 'root-pw' });
    await gw('auth/user/grant', { user: 'root', role: 'root' });
    await gw('auth/user/add', { name: 'viewer', password: 'viewer-pw' }); // no role
    await gw('auth/enable', {});
    try {
      const { token } = await gw<{ token: string }>('auth/authenticate', {
        name: 'viewer',
        password: 'viewer-pw',
      });
      const bearer = { authorization: `Bearer ${token}` };
      const viaConsole = `${first}/api/console/v1/metrics?member=${other}`;
      expect((await fetch(viaConsole)).status).toBe(401);
      expect((await fetch(`${second}/api/metrics/v1/history`)).status).toBe(401);
      // The serving member forwards the user's token: the other member checks it and answers.
      const answer = (await (await fetch(viaConsole, { headers: bearer })).json()) as {
        error?: string;
        history?: { name: string; t: number[] };
      };
      expect(answer.error).toBeUndefined();
      expect(answer.history?.name).toBe(members[2]!.name);
      expect(answer.history?.t.length).toBeGreaterThan(0);
      expect((await fetch(`${second}/api/metrics/v1/history`, { headers: bearer })).status).toBe(200);
    } finally {
      const root = await gw<{ token: string }>('auth/authenticate', { name: 'root', password: 'root-pw' });
      await gw('auth/disable', {}, root.token);
    }
  }, 60_000);
});
