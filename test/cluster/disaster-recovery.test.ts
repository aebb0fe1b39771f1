// Disaster-recovery drill (issue 17): a 3-member cluster with registry instances, config releases, leased keys
// and 10,000 keys is saved with `cairnctl snapshot save`, every member is killed and its data dir deleted, and
// the snapshot is restored (`cairnctl snapshot restore`) into three new data dirs (a new cluster: new member
// IDs, new cluster ID). The restored cluster has every key at its revisions, the release history and the
// instances; leased keys come back with their leases and expire unless kept alive (as in etcd, a restored
// lease's TTL restarts on the new leader); HashKV is equal on every member; writes continue. The same snapshot
// restored into a single member holds the same data (HashKV at the snapshot's revision equal). Then the
// member's scheduled backups (--backup-*). Cairn only: etcd's restore is etcdutl's, not ours.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, expect, it } from 'vitest';
import {
  type ManagedProcess,
  type Member,
  currentTarget,
  cleanupAll,
  describeResult,
  etcdctl,
  killMember,
  launchMember,
  makeTempDir,
  planCluster,
  repoRoot,
  spawnEtcdctl,
  spawnManaged,
  startCluster,
  startMember,
  waitFor,
  waitReady,
} from '../support';
import { hashKV } from './harness/hash-kv';

const KEYS = 10_000;
const BATCH = 100;
const CONCURRENCY = 8;
/** Long enough to check the restored leases before they run out, short enough to watch them expire. */
const LEASE_TTL = 10;
const CAIRNCTL = join(repoRoot, 'bin', 'cairnctl');
const BACKUP_NAME = /^cairn-backup-\d{8}T\d{9}Z-rev\d+\.db$/;

const clients: Etcd3[] = [];
afterAll(async () => {
  for (const client of clients) client.close();
  await cleanupAll();
});

function clientOf(members: readonly Member[]): Etcd3 {
  const client = new Etcd3({ hosts: members.map((m) => m.clientUrl), dialTimeout: 5000 });
  clients.push(client);
  return client;
}

async function ok(args: string[], endpoints: Member | Member[], timeoutMs = 20_000): Promise<string> {
  const result = await etcdctl(args, { endpoints, timeoutMs });
  expect(result.code, describeResult(result)).toBe(0);
  return result.stdout;
}

async function run(proc: ManagedProcess): Promise<string> {
  const status = await proc.exited;
  expect(status.code, proc.describeOutput()).toBe(0);
  return proc.stdout();
}

/** Every key with all its fields, as the store holds them. */
async function dump(client: Etcd3): Promise<Map<string, string>> {
  const response = await client.getAll().prefix('').exec();
  return new Map(
    response.kvs.map((kv) => [
      kv.key.toString(),
      `${kv.value.toString()}|c${kv.create_revision}|m${kv.mod_revision}|v${kv.version}|l${kv.lease}`,
    ]),
  );
}

async function rest(member: Member, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${member.clientUrl}/api${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function json<T>(member: Member, path: string): Promise<T> {
  const response = await rest(member, 'GET', path);
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

async function grantLease(member: Member): Promise<string> {
  const out = await ok(['lease', 'grant', String(LEASE_TTL)], member);
  return /lease ([0-9a-f]+) granted/.exec(out)![1]!;
}

async function leaseKeys(member: Member, id: string): Promise<{ ttl: number; keys: string[] }> {
  const out = await ok(['lease', 'timetolive', id, '--keys', '-w', 'json'], member);
  const parsed = JSON.parse(out) as { ttl: number; keys?: string[] };
  return { ttl: parsed.ttl, keys: (parsed.keys ?? []).map((k) => Buffer.from(k, 'base64').toString()) };
}

/** `cairnctl` (apps/ctl, built), to completion; its stdout. */
async function cairnctl(args: string[]): Promise<string> {
  return run(spawnManaged(CAIRNCTL, args, { label: `cairnctl ${args.slice(0, 2).join(' ')}` }));
}

async function saveSnapshot(member: Member, file: string): Promise<void> {
  expect(await cairnctl(['--endpoints', member.clientUrl, 'snapshot', 'save', file])).toContain(
    'Snapshot saved',
  );
}

async function snapshotStatus(
  file: string,
): Promise<{ revision: number; dataFormat: number; source: string }> {
  return JSON.parse(await cairnctl(['snapshot', 'status', file, '-w', 'json'])) as {
    revision: number;
    dataFormat: number;
    source: string;
  };
}

/** Restores `file` into `member`'s (new) data dir as a member of `cluster`. */
async function restoreInto(file: string, member: Member, cluster: readonly Member[]): Promise<void> {
  // prettier-ignore
  const out = await cairnctl([
    'snapshot', 'restore', file,
    '--name', member.name,
    '--data-dir', member.plan.dataDir,
    '--initial-cluster', cluster.map((m) => `${m.name}=${m.peerUrl}`).join(','),
    '--initial-cluster-token', member.clusterToken,
    '--initial-advertise-peer-urls', member.peerUrl,
  ]);
  expect(out).toContain('Restored member');
}

it.skipIf(currentTarget().kind !== 'cairn')(
  'restores a destroyed 3-member cluster from a snapshot, and the same snapshot into a single member',
  { timeout: 120_000 },
  async () => {
    const started = Date.now();
    const old = await startCluster({ size: 3 });
    const oldClient = clientOf(old);

    // 10,000 keys: transactions of BATCH puts, several in flight.
    let next = 0;
    const lane = async (): Promise<void> => {
      for (let first = next; first < KEYS; first = next) {
        next += BATCH;
        const success = [];
        for (let i = first; i < Math.min(first + BATCH, KEYS); i++) {
          const key = Buffer.from(`/dr/keys/${String(i).padStart(5, '0')}`);
          success.push({ request_put: { key, value: Buffer.from(`value-${i}`) } });
        }
        await oldClient.kv.txn({ compare: [], success, failure: [] });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    const phases: string[] = [`${KEYS} puts ${Date.now() - started} ms`];
    const mark = (what: string, since: number): void => void phases.push(`${what} ${Date.now() - since} ms`);
    // Some history: overwrites and deletes (revisions and versions must come back as they were).
    for (let i = 0; i < 20; i++) await oldClient.put('/dr/keys/00000').value(`rewritten-${i}`);
    await oldClient.delete().key('/dr/keys/00001');

    // Config releases (three versions of one item) and registry instances, through different members.
    const item = '/config/v1/namespaces/dr/apps/svc/items/app.json';
    expect((await rest(old[0]!, 'PUT', item, { format: 'json' })).status).toBe(200);
    for (const [n, member] of old.entries()) {
      const res = await rest(member, 'POST', `${item}/publish`, { content: JSON.stringify({ n }) });
      expect(res.status, await res.clone().text()).toBe(201);
    }
    const instances = '/registry/v1/namespaces/dr/services/api/instances';
    for (const id of ['kept', 'lost']) {
      const res = await rest(old[1]!, 'PUT', `${instances}/${id}`, {
        address: { host: '10.0.0.1', port: id === 'kept' ? 80 : 81 },
        ttl: LEASE_TTL,
      });
      expect(res.status, await res.clone().text()).toBe(200);
    }
    // Plain leased keys: one lease kept alive after the restore, one left to expire.
    const keptLease = await grantLease(old[2]!);
    const lostLease = await grantLease(old[2]!);
    await ok(['put', '/dr/leased/kept', 'k', '--lease', keptLease], old[2]!);
    await ok(['put', '/dr/leased/lost', 'l', '--lease', lostLease], old[2]!);

    const releases = await json<unknown[]>(old[0]!, `${item}/releases`);
    expect(releases).toHaveLength(3);
    const before = await dump(oldClient);
    expect(before.size).toBeGreaterThan(KEYS);
    const revision = Number((await oldClient.get('/dr/keys/00000').exec()).header.revision);

    const snapshotDir = makeTempDir('cairn-e2e-dr-');
    const file = join(snapshotDir, 'snapshot.db');
    const savedAt = Date.now();
    await saveSnapshot(old[0]!, file);
    mark('save', savedAt);
    const status = await snapshotStatus(file);
    expect(status).toMatchObject({ revision, source: 'cairn', dataFormat: 2 });

    // Disaster: every member gone, with its data.
    for (const member of old) {
      await killMember(member);
      rmSync(member.plan.dataDir, { recursive: true, force: true });
    }
    oldClient.close();

    // Restore into three new data dirs (new ports, a new token: a new cluster) and start; the
    // --initial-cluster-state flag is ignored once a data dir exists, so the members get both values.
    const restored = await planCluster(3);
    const restoredAt = Date.now();
    for (const member of restored) await restoreInto(file, member, restored);
    mark('restore x3', restoredAt);
    const startedAt = Date.now();
    restored[2]!.initialClusterState = 'existing';
    for (const member of restored) launchMember(member);
    await Promise.all(restored.map((member) => waitReady(member)));
    mark('start', startedAt);
    const client = clientOf(restored);

    // Both leases are back with their keys at once (their TTLs restarted on the new leader).
    expect((await leaseKeys(restored[0]!, keptLease)).keys).toEqual(['/dr/leased/kept']);
    expect((await leaseKeys(restored[0]!, lostLease)).keys).toEqual(['/dr/leased/lost']);
    const keepAlive = spawnEtcdctl(['lease', 'keep-alive', keptLease], { endpoints: restored });
    const heartbeat = setInterval(() => {
      void rest(restored[0]!, 'PUT', `${instances}/kept/heartbeat`).catch(() => undefined);
    }, 1000);
    try {
      expect(await dump(client)).toEqual(before);
      const ids = async (): Promise<string[]> =>
        (await json<{ instances: { id: string }[] }>(restored[2]!, instances)).instances.map((i) => i.id);
      expect(await ids()).toEqual(['kept', 'lost']);
      for (const member of restored)
        expect(await json<unknown[]>(member, `${item}/releases`)).toEqual(releases);

      // A new cluster: new member IDs, and these three members only.
      const list = JSON.parse(await ok(['member', 'list', '-w', 'json'], restored[0]!)) as {
        members: { name: string; peerURLs: string[] }[];
      };
      expect(list.members.map((m) => m.peerURLs[0]).sort()).toEqual(restored.map((m) => m.peerUrl).sort());

      // The leases left alone expire; the kept ones stay.
      await waitFor(async () => ((await leaseKeys(restored[1]!, lostLease)).ttl === -1 ? true : undefined), {
        timeoutMs: (LEASE_TTL + 10) * 1000,
        what: 'the lease nobody keeps alive expires',
      });
      await waitFor(async () => ((await ids()).length === 1 ? true : undefined), {
        timeoutMs: 10_000,
        what: 'the registry instance without heartbeats expires',
      });
      expect(await ids()).toEqual(['kept']);
      expect((await client.get('/dr/leased/lost').exec()).kvs).toHaveLength(0);
      expect(await client.get('/dr/leased/kept').string()).toBe('k');
    } finally {
      clearInterval(heartbeat);
      await keepAlive.kill();
    }

    // HashKV equal on every member (at the current revision, once all applied it), and writes continue.
    const put = await client.put('/dr/after').value('restored');
    const after = BigInt(put.header.revision);
    expect(after).toBeGreaterThan(BigInt(revision));
    const hashes = await waitFor(
      async () => {
        const all = await Promise.all(restored.map((m) => hashKV(m.clientUrl, after)));
        return all.every((h) => h.hash === all[0]!.hash) ? all : undefined;
      },
      { timeoutMs: 10_000, what: 'equal HashKV on the three restored members' },
    );
    expect(hashes).toHaveLength(3);
    const atSnapshot = await hashKV(restored[0]!.clientUrl, BigInt(revision));

    // The same snapshot into a single member: the same store at the snapshot's revision.
    const [single] = await planCluster(1);
    await restoreInto(file, single!, [single!]);
    launchMember(single!);
    await waitReady(single!);
    const singleClient = clientOf([single!]);
    const singleDump = await dump(singleClient);
    // Its leases expire on its own clock; compare the keys that carry none.
    const unleased = (map: Map<string, string>): Map<string, string> =>
      new Map([...map].filter(([, v]) => v.endsWith('|l0')));
    expect(unleased(singleDump)).toEqual(unleased(before));
    expect((await hashKV(single!.clientUrl, BigInt(revision))).hash).toBe(atSnapshot.hash);
    await singleClient.put('/dr/single').value('ok');
    expect(await singleClient.get('/dr/single').string()).toBe('ok');
    console.log(
      `disaster-recovery drill: ${before.size} keys at revision ${revision}, ${Date.now() - started} ms ` +
        `(${phases.join(', ')})`,
    );
  },
);

it.skipIf(currentTarget().kind !== 'cairn')(
  'a member with --backup-interval writes backups, keeps --backup-retention of them, and one restores',
  { timeout: 60_000 },
  async () => {
    const dir = join(makeTempDir('cairn-e2e-backups-'), 'backups');
    const member = await startMember({
      extraFlags: ['--backup-dir', dir, '--backup-interval', '300ms', '--backup-retention', '2'],
    });
    await ok(['put', '/backup/k', 'v'], member);
    // A kill may land mid-backup and leave its '.part' file: only finished backups carry the name.
    const backups = (): string[] =>
      readdirSync(dir)
        .filter((name) => BACKUP_NAME.test(name))
        .sort();
    // Several intervals after the put: two backups kept, the newest holding it.
    await waitFor(
      async () => {
        const metrics = await (await fetch(`${member.clientUrl}/metrics`)).text();
        const ok = /cairn_backups_total\{result="success"\} (\d+)/.exec(metrics);
        return ok && Number(ok[1]) >= 4 ? true : undefined;
      },
      { timeoutMs: 20_000, what: 'four scheduled backups' },
    );
    // Stopped first: the schedule no longer writes or prunes while the files are read.
    const revision = await revisionOf(member);
    await killMember(member);
    const names = backups();
    expect(names).toHaveLength(2);
    const newest = join(dir, names.at(-1)!);
    expect((await snapshotStatus(newest)).revision).toBe(revision);

    const [restored] = await planCluster(1);
    await restoreInto(newest, restored!, [restored!]);
    launchMember(restored!);
    await waitReady(restored!);
    expect(await ok(['get', '/backup/k', '--print-value-only'], restored!)).toBe('v\n');
  },
);

async function revisionOf(member: Member): Promise<number> {
  const out = await ok(['get', '/backup/k', '-w', 'json'], member);
  return (JSON.parse(out) as { header: { revision: number } }).header.revision;
}
