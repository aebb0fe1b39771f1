// The snapshot restore engine (src/restore) and the etcd snapshot framing (src/snapshot-file.ts), in process:
// a member's backend is saved and framed, checked, restored into a new data dir with a new membership, and a
// member started on that dir serves the same keys at the same revision as the leader of a new cluster.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Backend } from '@cairn/storage';
import { afterEach, expect, it } from 'vitest';
import { singleMemberConfig } from '../src/config';
import { computeClusterId, computeMemberId } from '../src/ids';
import { CairnNode } from '../src/node';
import { ANONYMOUS } from '../src/port/etcd-port';
import { restoreSnapshot, snapshotStatus } from '../src/restore';
import { SnapshotFileError, readSnapshotFrame, writeFramedSnapshot } from '../src/snapshot-file';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-restore-'));
  dirs.push(dir);
  return dir;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

function put(key: string, value: string): object {
  const body = { key: Buffer.from(key), value: Buffer.from(value), lease: '0' };
  return { put: { ...body, prev_kv: false, ignore_value: false, ignore_lease: false } };
}

/** A framed snapshot of a single member holding `count` keys; its revision. */
async function savedSnapshot(dir: string, count: number): Promise<{ file: string; revision: number }> {
  const node = await CairnNode.start(singleMemberConfig(join(dir, 'source')));
  try {
    await until(() => node.isLeader());
    for (let i = 0; i < count; i++) await node.propose(put(`k${i}`, `v${i}`), ANONYMOUS);
    const content = join(dir, 'content.db');
    await node.writeBackendSnapshot(content);
    const file = join(dir, 'snapshot.db');
    await writeFramedSnapshot(content, file);
    return { file, revision: node.kv.currentRevision };
  } finally {
    await node.close();
  }
}

const PEER = 'http://127.0.0.1:22380';

it('frames a snapshot as etcd does and refuses a damaged or unframed one unless told to skip the check', async () => {
  const dir = await tempDir();
  const content = join(dir, 'content');
  writeFileSync(content, Buffer.alloc(1000, 7));
  const file = join(dir, 'framed');
  await writeFramedSnapshot(content, file);
  const bytes = readFileSync(file);
  // Padded to 512 with the length in the last 8 bytes of the padding, then 32 bytes of sha256.
  expect(bytes.length).toBe(1024 + 32);
  expect(bytes.readBigUInt64BE(1024 - 8)).toBe(1000n);
  expect(await readSnapshotFrame(file)).toMatchObject({ contentBytes: 1000, framed: true });

  bytes[10] ^= 1;
  writeFileSync(file, bytes);
  await expect(readSnapshotFrame(file)).rejects.toThrow(/sha256 mismatch/);
  expect((await readSnapshotFrame(file, { skipHashCheck: true })).contentBytes).toBe(1000);
  await expect(readSnapshotFrame(content)).rejects.toThrow(SnapshotFileError);
  expect(await readSnapshotFrame(content, { skipHashCheck: true })).toMatchObject({
    contentBytes: 1000,
    framed: false,
  });
});

it('restores a snapshot into a new data dir: new IDs, same keys and revision, an existing dir refused', async () => {
  const dir = await tempDir();
  const { file, revision } = await savedSnapshot(dir, 25);
  const status = await snapshotStatus(file);
  expect(status).toMatchObject({ revision, source: 'cairn', dataFormat: 2 });
  expect(status.totalKey).toBeGreaterThan(25);

  const dataDir = join(dir, 'restored');
  const token = 'restored-token';
  const options = {
    snapshotFile: file,
    name: 'r1',
    dataDir,
    initialCluster: `r1=${PEER}`,
    initialClusterToken: token,
    initialAdvertisePeerUrls: [PEER],
  };
  const stages: string[] = [];
  const result = await restoreSnapshot({ ...options, onProgress: (stage) => stages.push(stage) });
  const memberId = computeMemberId([PEER], token);
  expect(result).toEqual({ memberId, clusterId: computeClusterId([memberId]), revision });
  expect(stages).toContain('backend');
  await expect(restoreSnapshot(options)).rejects.toThrow(/exists/);
  await expect(restoreSnapshot({ ...options, dataDir: join(dir, 'other'), name: 'nobody' })).rejects.toThrow(
    /couldn't find local name/,
  );
  await expect(
    restoreSnapshot({
      ...options,
      dataDir: join(dir, 'other'),
      initialAdvertisePeerUrls: ['http://127.0.0.1:1'],
    }),
  ).rejects.toThrow(/initial-advertise-peer-urls/);
  expect(existsSync(join(dir, 'other'))).toBe(false);

  // A damaged snapshot is refused and leaves no data dir behind.
  const damaged = readFileSync(file);
  damaged[100] ^= 1;
  writeFileSync(join(dir, 'damaged.db'), damaged);
  await expect(
    restoreSnapshot({ ...options, snapshotFile: join(dir, 'damaged.db'), dataDir: join(dir, 'd') }),
  ).rejects.toThrow(/sha256/);
  expect(existsSync(join(dir, 'd'))).toBe(false);

  const node = await CairnNode.start(
    singleMemberConfig(dataDir, { name: 'r1', peerUrl: PEER, initialClusterToken: token }),
  );
  try {
    await until(() => node.isLeader());
    expect(node.memberId).toBe(memberId);
    expect(node.kv.currentRevision).toBe(revision);
    expect(node.members.list().map((m) => [m.id, m.name])).toEqual([[memberId, 'r1']]);
    const read = await node.kv.range({ key: Buffer.from('k24') });
    expect(read.kvs.map((kv) => Buffer.from(kv.value).toString())).toEqual(['v24']);
    await node.propose(put('after', 'x'), ANONYMOUS);
    expect(node.kv.currentRevision).toBe(revision + 1);
  } finally {
    await node.close();
  }
});

it("keeps the snapshot's data format: a Cairn 0.1 store (format 1) is restored as format 1, revision unchanged", async () => {
  const dir = await tempDir();
  const { file: framed, revision } = await savedSnapshot(dir, 3);
  // Turn the saved store into a 0.1 one: no 'dataFormat' in 'meta' (format 1).
  const unframed = join(dir, 'unframed.db');
  writeFileSync(unframed, readFileSync(framed).subarray(0, (await readSnapshotFrame(framed)).contentBytes));
  // A bare backend file (no etcd framing, as a member's member/snap/*.snap.db) needs skipHashCheck.
  const bare = {
    snapshotFile: unframed,
    name: 'r1',
    initialCluster: `r1=${PEER}`,
    initialClusterToken: 't',
    initialAdvertisePeerUrls: [PEER],
  };
  await expect(restoreSnapshot({ ...bare, dataDir: join(dir, 'bare1') })).rejects.toThrow(/skip-hash-check/);
  const fromBare = await restoreSnapshot({ ...bare, dataDir: join(dir, 'bare2'), skipHashCheck: true });
  expect(fromBare.revision).toBe(revision);
  const scratch = join(dir, 'scratch');
  await Backend.restoreSnapshot(unframed, scratch);
  const backend = await Backend.open(scratch);
  await backend.batch().del('meta', Buffer.from('dataFormat')).write({ sync: true });
  const content = join(dir, 'format1.content');
  await backend.writeSnapshot(content);
  await backend.close();
  const file = join(dir, 'format1.db');
  await writeFramedSnapshot(content, file);
  expect(await snapshotStatus(file)).toMatchObject({ dataFormat: 1, revision });

  const dataDir = join(dir, 'restored');
  await restoreSnapshot({
    snapshotFile: file,
    name: 'r1',
    dataDir,
    initialCluster: `r1=${PEER}`,
    initialClusterToken: 't',
    initialAdvertisePeerUrls: [PEER],
  });
  const node = await CairnNode.start(
    singleMemberConfig(dataDir, { name: 'r1', peerUrl: PEER, initialClusterToken: 't' }),
  );
  try {
    await until(() => node.isLeader());
    // The bootstrap entries carried format 1: applying them switched nothing (a switch to 2 would add a
    // revision); the usual upgrade (node.ts dataFormatDuty) may follow later, as on any 0.1 store.
    expect(node.kv.currentRevision).toBe(revision);
    expect(node.kv.dataFormat).toBe(1);
  } finally {
    await node.close();
  }
});
