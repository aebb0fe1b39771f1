// The console is served to loopback clients only until it has a login: a client reaching the member over a
// non-loopback address gets 403 for the console and its API, while etcd's endpoints stay open as before.
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
});
