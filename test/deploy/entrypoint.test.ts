// The container entrypoint's Kubernetes decisions (deploy/entrypoint.mjs), run for a StatefulSet of three
// on loopback with the environment a pod gets: HOSTNAME=cairn-<n>, the headless service, the initial size;
// CAIRN_K8S_ADDRESSES stands in for the service DNS. Bootstrap, restart, scale-up (ordinal 3 joins as a
// learner and is promoted), scale-down (remove), the removed member's old volume coming back, and a member
// whose volume was lost.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allocatePorts,
  cleanupAll,
  makeTempDir,
  repoRoot,
  spawnManaged,
  waitFor,
  type ManagedProcess,
} from '../support';

const ENTRYPOINT = join(repoRoot, 'deploy', 'entrypoint.mjs');
const SIZE = 3;

interface Urls {
  client: string;
  peer: string;
}
interface MemberInfo {
  ID: string;
  name?: string;
  isLearner?: boolean;
  clientURLs?: string[];
}

let dataRoot: string;
const addresses: Record<string, Urls> = {};
const pods = new Map<number, ManagedProcess>();

function podEnv(ordinal: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'],
    HOSTNAME: `cairn-${ordinal}`,
    CAIRN_K8S_SERVICE: 'cairn-peer',
    CAIRN_K8S_NAMESPACE: 'test',
    CAIRN_K8S_INITIAL_SIZE: String(SIZE),
    CAIRN_K8S_ADDRESSES: JSON.stringify(addresses),
    CAIRN_K8S_JOIN_TIMEOUT: '30',
    CAIRN_INITIAL_CLUSTER_TOKEN: 'cairn',
    CAIRN_DATA_DIR: join(dataRoot, `cairn-${ordinal}`),
    CAIRN_LOG_LEVEL: 'warn',
  };
}

function startPod(ordinal: number): ManagedProcess {
  const proc = spawnManaged(process.execPath, [ENTRYPOINT], {
    label: `cairn-${ordinal}`,
    env: podEnv(ordinal),
  });
  pods.set(ordinal, proc);
  return proc;
}

async function post<T>(ordinal: number, path: string, body: unknown): Promise<T> {
  const res = await fetch(addresses[`cairn-${ordinal}`].client + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(3000),
  });
  if (!res.ok) throw new Error(`${path} on cairn-${ordinal}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function members(ordinal = 0): Promise<MemberInfo[]> {
  return (await post<{ members: MemberInfo[] }>(ordinal, '/v3/cluster/member/list', {})).members;
}

async function ready(ordinal: number): Promise<true | undefined> {
  const res = await fetch(addresses[`cairn-${ordinal}`].client + '/readyz', {
    signal: AbortSignal.timeout(2000),
  });
  return res.status === 200 ? true : undefined;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

beforeAll(async () => {
  dataRoot = makeTempDir('cairn-e2e-k8s-');
  const ports = await allocatePorts(8);
  for (let n = 0; n < 4; n++) {
    addresses[`cairn-${n}`] = {
      client: `http://127.0.0.1:${ports[2 * n]}`,
      peer: `http://127.0.0.1:${ports[2 * n + 1]}`,
    };
  }
});

afterAll(async () => {
  await cleanupAll();
});

describe('entrypoint on Kubernetes (loopback StatefulSet of 3)', () => {
  it('bootstraps ordinals 0..2 as a new cluster named after the pods (the last one late)', async () => {
    // cairn-2's pod starts after 0 and 1 have formed a quorum: it must join their bootstrap, not add itself.
    startPod(0);
    startPod(1);
    for (let n = 0; n < 2; n++)
      await waitFor(() => ready(n), { timeoutMs: 30_000, what: `cairn-${n} ready` });
    startPod(2);
    await waitFor(() => ready(2), { timeoutMs: 30_000, what: 'cairn-2 ready' });
    const list = await waitFor(
      async () => {
        const got = await members();
        return got.every((m) => (m.clientURLs ?? []).length > 0) ? got : undefined;
      },
      { timeoutMs: 15_000, what: 'every member published' },
    );
    expect(list.map((m) => m.name).sort()).toEqual(['cairn-0', 'cairn-1', 'cairn-2']);
    for (const m of list) expect(m.clientURLs).toEqual([addresses[m.name!].client]);
    for (let n = 0; n < 2; n++) expect(pods.get(n)!.stderr()).toContain('bootstrapping cairn-0=');
    expect(pods.get(2)!.stderr()).toContain('joining the bootstrap of cairn-0=');
    await post(0, '/v3/kv/put', { key: b64('k8s/key'), value: b64('v1') });
  });

  it('restarts a member whose data dir holds a member', async () => {
    await pods.get(1)!.terminate();
    const again = startPod(1);
    await waitFor(() => ready(1), { timeoutMs: 30_000, what: 'cairn-1 ready after restart' });
    expect(again.stderr()).toContain('holds a member; restarting it');
    expect((await members()).length).toBe(3);
  });

  it('scale-up: ordinal 3 joins as a learner, then is promoted', async () => {
    const pod = startPod(3);
    await waitFor(() => (pod.stderr().includes('added as learner') ? true : undefined), {
      timeoutMs: 20_000,
      what: 'cairn-3 added as learner',
    });
    const promoted = await waitFor(
      async () => {
        const self = (await members()).find((m) => m.name === 'cairn-3');
        return self && !self.isLearner ? self : undefined;
      },
      { timeoutMs: 45_000, what: 'cairn-3 promoted to a voting member' },
    );
    expect(promoted.clientURLs).toEqual([addresses['cairn-3'].client]);
    expect(pod.stderr()).toContain('promoted learner cairn-3');
    await waitFor(() => ready(3), { timeoutMs: 20_000, what: 'cairn-3 ready' });
    const got = await post<{ kvs?: { value: string }[] }>(3, '/v3/kv/range', { key: b64('k8s/key') });
    expect(got.kvs?.[0]?.value).toBe(b64('v1'));
    expect((await members()).length).toBe(4);
  });

  it('scale-down: `remove cairn-3` takes it out; its old volume later rejoins afresh', async () => {
    const remove = spawnManaged(process.execPath, [ENTRYPOINT, 'remove', 'cairn-3'], {
      label: 'remove',
      env: podEnv(0),
    });
    const status = await remove.exited;
    expect(status.code, remove.stderr()).toBe(0);
    expect((await members()).map((m) => m.name).sort()).toEqual(['cairn-0', 'cairn-1', 'cairn-2']);
    await pods.get(3)!.terminate();
    await post(0, '/v3/kv/put', { key: b64('k8s/key'), value: b64('v2') });

    // Scaled up again on the retained volume: the data dir is moved aside, the member joins as a learner.
    const pod = startPod(3);
    await waitFor(
      async () => {
        const self = (await members()).find((m) => m.name === 'cairn-3');
        return self && !self.isLearner ? self : undefined;
      },
      { timeoutMs: 45_000, what: 'cairn-3 back as a voting member' },
    );
    expect(pod.stderr()).toContain('removed from the cluster; moving');
    await waitFor(() => ready(3), { timeoutMs: 20_000, what: 'cairn-3 ready again' });
    const got = await post<{ kvs?: { value: string }[] }>(3, '/v3/kv/range', { key: b64('k8s/key') });
    expect(got.kvs?.[0]?.value).toBe(b64('v2'));
  });

  it('a member whose volume was lost is replaced: the stale entry removed, the pod joins as a learner', async () => {
    const before = (await members()).find((m) => m.name === 'cairn-2')!;
    await pods.get(2)!.terminate();
    rmSync(join(dataRoot, 'cairn-2'), { recursive: true, force: true });
    const pod = startPod(2);
    const replaced = await waitFor(
      async () => {
        const self = (await members()).find((m) => m.name === 'cairn-2');
        return self && !self.isLearner && self.ID !== before.ID ? self : undefined;
      },
      { timeoutMs: 45_000, what: 'cairn-2 replaced by a new voting member' },
    );
    expect(pod.stderr()).toContain('our data dir is empty; replacing it');
    expect(replaced.clientURLs).toEqual([addresses['cairn-2'].client]);
    expect((await members()).length).toBe(4);
    await waitFor(() => ready(2), { timeoutMs: 20_000, what: 'cairn-2 ready again' });
    const got = await post<{ kvs?: { value: string }[] }>(2, '/v3/kv/range', { key: b64('k8s/key') });
    expect(got.kvs?.[0]?.value).toBe(b64('v2'));
  });
});
