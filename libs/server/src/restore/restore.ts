// `snapshot restore`, with the semantics of etcd's (clientv3/snapshot Restore): a new data dir whose backend is
// the snapshot's (revision, keys, leases, auth kept) and whose membership is the initial cluster's, with new
// member IDs and a new cluster ID computed as a new cluster's bootstrap computes them. The member then starts
// as the member of a new cluster (--initial-cluster-state is ignored once a data dir exists).
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  DATA_FORMAT_ZERO_BASED,
  META_CURRENT_REVISION,
  META_DATA_FORMAT,
  META_SCHEDULED_COMPACT,
  decodeRevisionKey,
} from '@cairn/mvcc';
import { MemoryStorage } from '@cairn/raft';
import { Backend } from '@cairn/storage';
import { Wal } from '@cairn/storage';
import { bootstrapLog } from '../bootstrap';
import { writeConsistentIndex } from '../consistent-index';
import { computeClusterId, computeMemberId } from '../ids';
import type { Member } from '../members';
import { copySnapshotContent, readSnapshotFrame } from '../snapshot-file';
import { encodeWalMetadata } from '../wal-metadata';
import { isCairnSnapshot } from './cairn-snapshot';
import { convertEtcdSnapshot, isEtcdBoltSnapshot } from './etcd-snapshot';

export interface RestoreOptions {
  snapshotFile: string;
  name: string;
  dataDir: string;
  /** name=peerURL,... as etcd's --initial-cluster. */
  initialCluster: string;
  initialClusterToken: string;
  initialAdvertisePeerUrls: string[];
  /** Take a file without (or with a wrong) sha256 trailer, e.g. a db copied from a data dir. */
  skipHashCheck?: boolean;
  onProgress?: (stage: string, done: number, total: number) => void;
}

const WAL_SEGMENT_BYTES = 16 * 1024 * 1024;

/** A URL as members compare them: scheme and host only (apps/server's flag parsing does the same). */
function normalizeUrl(text: string): string {
  const url = new URL(text.trim());
  return `${url.protocol}//${url.host}`;
}

/** etcd's --initial-cluster: name=url pairs, a name may repeat for several URLs. */
export function parseRestoreCluster(text: string): { name: string; peerUrls: string[] }[] {
  const byName = new Map<string, string[]>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`invalid --initial-cluster entry "${part}": expected name=url`);
    const name = part.slice(0, eq).trim();
    byName.set(name, [...(byName.get(name) ?? []), normalizeUrl(part.slice(eq + 1))]);
  }
  return [...byName].map(([name, peerUrls]) => ({ name, peerUrls }));
}

function sameUrls(a: string[], b: string[]): boolean {
  const left = [...new Set(a)].sort();
  const right = [...new Set(b)].sort();
  return left.length === right.length && left.every((url, i) => url === right[i]);
}

function metaNumber(value: Buffer | undefined): number {
  return value && value.length === 8 ? value.readUInt32BE(0) * 0x1_0000_0000 + value.readUInt32BE(4) : 0;
}

export async function restoreSnapshot(
  options: RestoreOptions,
): Promise<{ memberId: bigint; clusterId: bigint; revision: number }> {
  const progress = options.onProgress ?? (() => undefined);
  const dataDir = path.resolve(options.dataDir);
  if (existsSync(dataDir)) throw new Error(`data-dir "${options.dataDir}" exists`);

  // The membership of the new cluster, exactly as bootstrap.ts computes a new cluster's.
  const cluster = parseRestoreCluster(options.initialCluster);
  const peers: Member[] = cluster.map((m) => ({
    id: computeMemberId(m.peerUrls, options.initialClusterToken),
    name: m.name,
    peerUrls: m.peerUrls,
    clientUrls: [],
    isLearner: false,
  }));
  const self = peers.find((m) => m.name === options.name);
  if (!self)
    throw new Error(`couldn't find local name "${options.name}" in the initial cluster configuration`);
  const advertised = options.initialAdvertisePeerUrls.map(normalizeUrl);
  if (!sameUrls(self.peerUrls, advertised)) {
    throw new Error(
      `--initial-cluster has ${options.name}=${self.peerUrls.join(',')} but --initial-advertise-peer-urls is ${advertised.join(',')}`,
    );
  }
  const clusterId = computeClusterId(peers.map((m) => m.id));

  // Everything is built beside the data dir and renamed into place last: a failed restore leaves no data dir.
  const staging = `${dataDir}.restoring`;
  await rm(staging, { recursive: true, force: true });
  const memberDir = path.join(staging, 'member');
  await mkdir(path.join(memberDir, 'snap'), { recursive: true });
  const dbPath = path.join(memberDir, 'db');
  try {
    await buildBackend(options, dbPath, progress);
    progress('membership', 0, 1);
    const { revision, dataFormat } = await resetMembership(dbPath);
    progress('membership', 1, 1);

    // The new cluster's log: one AddNode per member at 1..n, applied over the restored store (its
    // consistent index is 0 now), carrying the store's own data format so the restore does not change it.
    progress('wal', 0, 1);
    const wal = await Wal.create(
      path.join(memberDir, 'wal'),
      encodeWalMetadata({ memberId: self.id, clusterId }),
      { segmentSizeBytes: WAL_SEGMENT_BYTES },
    );
    try {
      await bootstrapLog(new MemoryStorage(), wal, peers, dataFormat);
    } finally {
      await wal.close();
    }
    progress('wal', 1, 1);
    await rename(staging, dataDir);
    return { memberId: self.id, clusterId, revision };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

/** Writes the snapshot's backend at `dbPath`: Cairn's own (framing verified) or converted from etcd's bbolt. */
async function buildBackend(
  options: RestoreOptions,
  dbPath: string,
  progress: (stage: string, done: number, total: number) => void,
): Promise<void> {
  const file = options.snapshotFile;
  if (await isCairnSnapshot(file)) {
    // Stages report bytes where bytes are read (sha256, unframing), else one step (0/1 then 1/1).
    const frame = await readSnapshotFrame(file, {
      skipHashCheck: options.skipHashCheck,
      onBytes: (done, total) => progress('verify', done, total),
    });
    if (frame.framed) {
      // The backend file is the content without the framing (its own sha256 is checked as it is read).
      const content = `${dbPath}.content`;
      try {
        await copySnapshotContent(file, frame.contentBytes, content, (done, total) =>
          progress('unframe', done, total),
        );
        progress('backend', 0, 1);
        await Backend.restoreSnapshot(content, dbPath);
      } finally {
        await rm(content, { force: true });
      }
    } else {
      progress('backend', 0, 1);
      await Backend.restoreSnapshot(file, dbPath);
    }
    progress('backend', 1, 1);
    return;
  }
  if (await isEtcdBoltSnapshot(file)) {
    await convertEtcdSnapshot(file, dbPath, progress, { skipHashCheck: options.skipHashCheck });
    return;
  }
  throw new Error(`snapshot ${file} is neither a Cairn snapshot nor an etcd (bbolt) snapshot`);
}

/**
 * Drops the old cluster's members (and removed-member records) and resets the consistent index, so the new
 * log's membership entries apply; reads the store's revision and data format.
 */
async function resetMembership(dbPath: string): Promise<{ revision: number; dataFormat: number }> {
  const backend = await Backend.open(dbPath);
  try {
    const batch = backend.batch();
    for await (const [key] of backend.iterate('members')) batch.del('members', key);
    writeConsistentIndex(batch, 0);
    await batch.write({ sync: true });
    let lastRevision = 0;
    for await (const [key] of backend.iterate('key', { reverse: true, limit: 1 })) {
      lastRevision = decodeRevisionKey(key).revision.main;
    }
    const revision = Math.max(
      lastRevision,
      metaNumber(await backend.get('meta', META_CURRENT_REVISION)),
      metaNumber(await backend.get('meta', META_SCHEDULED_COMPACT)),
    );
    const dataFormat = metaNumber(await backend.get('meta', META_DATA_FORMAT)) || DATA_FORMAT_ZERO_BASED;
    return { revision, dataFormat };
  } finally {
    await backend.close();
  }
}
