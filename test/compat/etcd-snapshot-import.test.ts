// Import from etcd (issue 17): a real etcd 3.4 writes a history (several revisions per key, deletes, a
// compaction, a lease with keys, a user and a role with auth left disabled, a value spanning overflow pages,
// enough keys for branch pages), `etcdctl snapshot save` saves it, and our own bbolt reader turns the file
// into a Cairn backend. Checked against etcd's own answers: every key with its create/mod revision, version
// and lease, the current and compact revision, history above the compaction, leases and auth;
// etcdSnapshotStatus against `etcdctl snapshot status -w json`. The stopped member's member/snap/db (no sha256
// trailer) converts the same. With Cairn as the target, a member restored from the etcd file serves the keys
// to etcdctl with etcd's HashKV.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { restoreSnapshot } from '@cairn/server';
import { Backend } from '@cairn/storage';
import { KvStore, LeaseStore, monotonicLeaseClock, type KeyValue } from '@cairn/mvcc';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AuthStore } from '../../libs/server/src/auth';
import { convertEtcdSnapshot, etcdSnapshotStatus } from '../../libs/server/src/restore/etcd-snapshot';
import {
  cleanupAll,
  currentTarget,
  describeResult,
  etcdctl,
  launchMember,
  makeTempDir,
  parseExactJson,
  planCluster,
  repoRoot,
  spawnManaged,
  str,
  startMember,
  stopMember,
  targetOf,
  waitReady,
  type Member,
} from '../support';

const KEYS = 300;
const CAIRNCTL = join(repoRoot, 'bin', 'cairnctl');
const CAIRNCTL_BUILT = join(repoRoot, 'apps', 'ctl', 'dist', 'main.js');
const LEASE_TTL = 600;

let etcd: Member;
let client: Etcd3;
const dir = makeTempDir('cairn-e2e-etcd-import-');
const snapshotFile = join(dir, 'etcd.snapshot.db');

/** What etcd answered before it was stopped. */
const want = {
  kvs: new Map<string, string>(),
  revision: 0,
  compacted: 0,
  /** The value of 'hist/a' at each revision above the compaction where it changed. */
  history: [] as Array<{ revision: number; value: string }>,
  leaseId: '',
  leaseKeys: [] as string[],
  hashKv: 0,
  status: { hash: 0, revision: 0, totalKey: 0, totalSize: 0 },
};

afterAll(async () => {
  client?.close();
  await cleanupAll();
});

async function ok(args: string[], endpoints: Member | string, timeoutMs = 20_000): Promise<string> {
  const result = await etcdctl(args, { endpoints, timeoutMs });
  expect(result.code, describeResult(result)).toBe(0);
  return result.stdout;
}

async function cairnctl(args: string[]): Promise<string> {
  const proc = spawnManaged(CAIRNCTL, args, { label: `cairnctl ${args.slice(0, 2).join(' ')}` });
  const status = await proc.exited;
  expect(status.code, proc.describeOutput()).toBe(0);
  return proc.stdout();
}

const line = (kv: Pick<KeyValue, 'value' | 'createRevision' | 'modRevision' | 'version' | 'lease'>): string =>
  `${kv.value.toString()}|c${kv.createRevision}|m${kv.modRevision}|v${kv.version}|l${kv.lease}`;

async function hashKvOf(endpoint: Member | string, revision: number): Promise<number> {
  const out = await ok(['endpoint', 'hashkv', '--rev', String(revision), '-w', 'json'], endpoint);
  return (JSON.parse(out) as Array<{ HashKV: { hash: number } }>)[0]!.HashKV.hash;
}

beforeAll(async () => {
  etcd = await startMember({ target: targetOf('etcd') });
  client = new Etcd3({ hosts: etcd.clientUrl, dialTimeout: 5000 });
  // Three revisions per key, many in flight: several leaf pages under branch pages in bbolt's 'key' bucket.
  for (let round = 1; round <= 3; round++) {
    await Promise.all(
      Array.from({ length: KEYS }, (_, i) =>
        client.put(`k/${String(i).padStart(4, '0')}`).value(`r${round}-${i}`),
      ),
    );
  }
  await client.put('hist/a').value('first');
  await client.put('hist/a').value('second');
  await client.put('gone').value('soon deleted');
  await client.delete().key('gone');
  await client.delete().prefix('k/02'); // 100 tombstones
  // The compaction drops 'hist/a' = first; later history stays readable.
  const compactAt = Number((await client.get('hist/a').exec()).header.revision);
  await ok(['compact', String(compactAt)], etcd);
  want.compacted = compactAt;
  for (const value of ['third', 'fourth']) {
    const put = await client.put('hist/a').value(value).exec();
    want.history.push({ revision: Number(put.header.revision), value });
  }
  const grant = await ok(['lease', 'grant', String(LEASE_TTL)], etcd);
  want.leaseId = /lease ([0-9a-f]+) granted/.exec(grant)![1]!;
  for (const key of ['leased/1', 'leased/2']) await ok(['put', `--lease=${want.leaseId}`, key, 'v'], etcd);
  want.leaseKeys = ['leased/1', 'leased/2'];
  // A value larger than a bbolt page (overflow pages).
  await client.put('big').value('x'.repeat(20_000));
  await ok(['user', 'add', 'alice:secret'], etcd);
  await ok(['role', 'add', 'writer'], etcd);
  await ok(['role', 'grant-permission', 'writer', 'readwrite', '/app/', '--prefix'], etcd);
  await ok(['user', 'grant-role', 'alice', 'writer'], etcd);

  const all = await client.getAll().prefix('').exec();
  for (const kv of all.kvs) {
    want.kvs.set(
      kv.key.toString(),
      line({
        value: kv.value,
        createRevision: Number(kv.create_revision),
        modRevision: Number(kv.mod_revision),
        version: Number(kv.version),
        lease: BigInt(kv.lease),
      }),
    );
  }
  want.revision = Number(all.header.revision);
  want.hashKv = await hashKvOf(etcd, want.revision);
  await ok(['snapshot', 'save', snapshotFile], etcd, 60_000);
  want.status = JSON.parse(
    await ok(['snapshot', 'status', snapshotFile, '-w', 'json'], etcd),
  ) as typeof want.status;
}, 120_000);

/** Opens a converted backend with Cairn's stores and checks it against etcd's answers. */
async function checkBackend(dbPath: string): Promise<void> {
  const backend = await Backend.open(dbPath);
  try {
    const store = await KvStore.open(backend);
    expect([store.currentRevision, store.compactRevision, store.dataFormat]).toEqual([
      want.revision,
      want.compacted,
      2,
    ]);
    const all = await store.range({ key: Buffer.of(0), rangeEnd: Buffer.of(0) });
    expect(new Map(all.kvs.map((kv) => [kv.key.toString(), line(kv)]))).toEqual(want.kvs);
    for (const { revision, value } of want.history) {
      const at = await store.range({ key: Buffer.from('hist/a'), revision });
      expect(at.kvs.map((kv) => kv.value.toString())).toEqual([value]);
    }
    // range() throws at once or rejects (history from disk): either way, below the compaction is gone.
    const belowCompaction = async (): Promise<unknown> =>
      store.range({ key: Buffer.from('hist/a'), revision: want.compacted - 1 });
    await expect(belowCompaction()).rejects.toThrow(/compacted/);
    const leases = await LeaseStore.open(backend, { clock: monotonicLeaseClock, minTtlSeconds: 1 });
    expect(leases.leases()).toEqual([BigInt(`0x${want.leaseId}`)]);
    expect(leases.timeToLive(BigInt(`0x${want.leaseId}`), false)?.grantedTtl).toBe(LEASE_TTL);
    const auth = await AuthStore.load(backend);
    expect(auth.isEnabled()).toBe(false);
    expect(auth.getUser('alice')?.roles).toEqual(['writer']);
    expect(auth.getUser('alice')?.passwordHash).toMatch(/^\$2[aby]\$/);
    expect(
      auth.getRole('writer')?.permissions.map((p) => [p.permType, p.key.toString(), p.rangeEnd.toString()]),
    ).toEqual([[2, '/app/', '/app0']]);
    for await (const [key] of backend.iterate('members'))
      expect.fail(`membership carried: ${key.toString()}`);
  } finally {
    await backend.close();
  }
}

it('reads etcdctl snapshot status figures from the file itself', async () => {
  const status = await etcdSnapshotStatus(snapshotFile);
  expect(status).toEqual({ ...want.status, dataFormat: 2, source: 'etcd' });
});

it('converts an etcdctl snapshot into a Cairn backend holding etcd’s keys, revisions, leases and auth', async () => {
  const stages = new Set<string>();
  const result = await convertEtcdSnapshot(snapshotFile, join(dir, 'from-snapshot'), (stage) =>
    stages.add(stage),
  );
  expect(result.revision).toBe(want.revision);
  expect(stages).toEqual(new Set(['verify', 'convert']));
  await checkBackend(join(dir, 'from-snapshot'));
});

it('converts a stopped member’s member/snap/db (no sha256 trailer) the same way', async () => {
  await stopMember(etcd);
  const db = join(etcd.plan.dataDir, 'member', 'snap', 'db');
  const status = JSON.parse(await ok(['snapshot', 'status', db, '-w', 'json'], etcd)) as typeof want.status;
  expect(await etcdSnapshotStatus(db)).toEqual({ ...status, dataFormat: 2, source: 'etcd' });
  await convertEtcdSnapshot(db, join(dir, 'from-data-dir'));
  await checkBackend(join(dir, 'from-data-dir'));
  if (existsSync(CAIRNCTL_BUILT)) {
    // The documented form for a stopped cluster: restore straight from the member's db file.
    const out = await cairnctl([
      'snapshot',
      'restore',
      db,
      '--skip-hash-check',
      '--data-dir',
      join(dir, 'restored-from-db'),
      '-w',
      'json',
    ]);
    expect(str(parseExactJson(out), 'revision')).toBe(String(want.revision));
  }
});

it.skipIf(currentTarget().kind !== 'cairn')(
  'restores the etcd snapshot into a Cairn member that serves the keys to etcdctl',
  { timeout: 60_000 },
  async () => {
    const [member] = await planCluster(1, [], { target: targetOf('cairn') });
    if (existsSync(CAIRNCTL_BUILT)) {
      // The documented migration: cairnctl reads the etcd file's status and restores it.
      const status = await cairnctl(['snapshot', 'status', snapshotFile, '-w', 'json']);
      expect(JSON.parse(status)).toEqual({ ...want.status, dataFormat: 2, source: 'etcd' });
      await cairnctl([
        'snapshot', 'restore', snapshotFile,
        '--name', member!.name,
        '--data-dir', member!.plan.dataDir,
        '--initial-cluster', `${member!.name}=${member!.peerUrl}`,
        '--initial-cluster-token', member!.clusterToken,
        '--initial-advertise-peer-urls', member!.peerUrl,
      ]); // prettier-ignore
    } else {
      await restoreSnapshot({
        snapshotFile,
        name: member!.name,
        dataDir: member!.plan.dataDir,
        initialCluster: `${member!.name}=${member!.peerUrl}`,
        initialClusterToken: member!.clusterToken,
        initialAdvertisePeerUrls: [member!.peerUrl],
      });
    }
    launchMember(member!);
    await waitReady(member!);
    // Exact JSON: lease IDs are int64s above 2^53.
    const out = parseExactJson(await ok(['get', '', '--prefix', '-w', 'json'], member!)) as {
      header: { revision: string };
      kvs: Array<Record<string, string>>;
    };
    expect(Number(out.header.revision)).toBe(want.revision);
    const served = new Map(
      out.kvs.map((kv) => [
        Buffer.from(kv['key']!, 'base64').toString(),
        line({
          value: Buffer.from(kv['value'] ?? '', 'base64'),
          createRevision: Number(kv['create_revision']),
          modRevision: Number(kv['mod_revision']),
          version: Number(kv['version']),
          lease: BigInt(kv['lease'] ?? 0),
        }),
      ]),
    );
    expect(served).toEqual(want.kvs);
    expect(await hashKvOf(member!, want.revision)).toBe(want.hashKv);
    const compacted = await etcdctl(['get', 'hist/a', `--rev=${want.compacted - 1}`], { endpoints: member! });
    expect(compacted.stderr).toMatch(/required revision has been compacted/);
    const ttl = JSON.parse(
      await ok(['lease', 'timetolive', want.leaseId, '--keys', '-w', 'json'], member!),
    ) as {
      'granted-ttl': number;
      keys?: string[];
    };
    expect(ttl['granted-ttl']).toBe(LEASE_TTL);
    expect((ttl.keys ?? []).map((k) => Buffer.from(k, 'base64').toString()).sort()).toEqual(want.leaseKeys);
    expect(await ok(['user', 'get', 'alice'], member!)).toMatch(/Roles: writer/);
    await ok(['put', 'after-restore', 'v'], member!);
    await stopMember(member!);
  },
);
