// With auth disabled the console (which then has no login) is served to loopback clients only: a client
// reaching the member over a non-loopback address gets 403 for the console and its API, while etcd's endpoints
// stay open as before. With auth enabled the console has a login and is served to remote clients too.
import { networkInterfaces } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import {
  allocatePort,
  currentTarget,
  launchMember,
  type Member,
  planCluster,
  stopMember,
  waitReady,
} from '../support';

/** An IPv4 address of this machine that is not loopback, if there is one. */
function externalIPv4(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

const address = externalIPv4();
const suite = currentTarget().kind === 'cairn' && address ? describe : describe.skip;

suite(`console access from a non-loopback address (${address ?? 'none on this machine'})`, () => {
  const members: Member[] = [];
  afterAll(async () => {
    for (const m of members) await stopMember(m);
  });

  async function startOn(extra: string[]): Promise<{ loopback: string; external: string }> {
    const [member] = await planCluster(1);
    const port = await allocatePort();
    const external = `http://${address}:${port}`;
    member!.extraFlags = ['--listen-client-urls', `${member!.clientUrl},${external}`, ...extra];
    launchMember(member!);
    members.push(member!);
    await waitReady(member!);
    return { loopback: member!.clientUrl, external };
  }

  it('refuses the console and /api/console to remote clients by default, not /health or /v3', async () => {
    const { loopback, external } = await startOn([]);
    expect((await fetch(`${loopback}/`)).status).toBe(200);
    expect((await fetch(`${loopback}/api/console/v1/cluster`)).status).toBe(200);
    const page = await fetch(`${external}/keys`);
    expect(page.status).toBe(403);
    expect(await page.text()).toContain('--console-allow-remote');
    expect((await fetch(`${external}/api/console/v1/cluster`)).status).toBe(403);
    expect((await fetch(`${external}/health`)).status).toBe(200);
    const range = await fetch(`${external}/v3/kv/range`, { method: 'POST', body: '{"key":"AA=="}' });
    expect(range.status).toBe(200);
  });

  it('serves remote clients with --console-allow-remote', async () => {
    const { external } = await startOn(['--console-allow-remote']);
    expect((await fetch(`${external}/keys`)).status).toBe(200);
    expect((await fetch(`${external}/api/console/v1/cluster`)).status).toBe(200);
  });

  it('serves remote clients once auth is enabled: the login page, and an API that needs a token', async () => {
    // Enabling auth behind a plaintext non-loopback URL needs the explicit flag (tokens would cross in clear).
    const { loopback, external } = await startOn(['--auth-allow-plaintext']);
    expect((await fetch(`${external}/keys`)).status).toBe(403);
    const gw = async (path: string, body: object): Promise<void> => {
      const res = await fetch(`${loopback}/v3/auth/${path}`, { method: 'POST', body: JSON.stringify(body) });
      expect(res.status, `${path}: ${await res.text()}`).toBe(200);
    };
    await gw('user/add', { name: 'root', password: 'root-pw' });
    await gw('user/grant', { user: 'root', role: 'root' });
    await gw('enable', {});
    const page = await fetch(`${external}/keys`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
    expect((await fetch(`${external}/api/console/v1/keys/tree?prefix=/`)).status).toBe(401);
    const { token } = (await (
      await fetch(`${external}/v3/auth/authenticate`, {
        method: 'POST',
        body: JSON.stringify({ name: 'root', password: 'root-pw' }),
      })
    ).json()) as { token: string };
    const tree = await fetch(`${external}/api/console/v1/keys/tree?prefix=/`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(tree.status).toBe(200);
  });
});
