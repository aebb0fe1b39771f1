// `snapshot status`: what a snapshot file holds (etcdctl's hash, revision, total keys, size), for Cairn's own
// snapshots (framed as etcd frames them, or a bare backend file) and for real etcd bbolt snapshots.
import { stat } from 'node:fs/promises';
import { readSnapshotFrame } from '../snapshot-file';
import { cairnContentStats, isCairnSnapshot } from './cairn-snapshot';
import { etcdSnapshotStatus, isEtcdBoltSnapshot } from './etcd-snapshot';

export interface SnapshotStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
  dataFormat: number;
  source: 'cairn' | 'etcd';
}

export async function snapshotStatus(file: string): Promise<SnapshotStatus> {
  if (await isCairnSnapshot(file)) {
    // Status reads, it does not verify (etcdctl's status does not either): restore checks the sha256.
    const frame = await readSnapshotFrame(file, { skipHashCheck: true });
    const stats = await cairnContentStats(file, frame.contentBytes);
    return { ...stats, totalSize: (await stat(file)).size, source: 'cairn' };
  }
  if (await isEtcdBoltSnapshot(file)) return etcdSnapshotStatus(file);
  throw new Error(`snapshot ${file} is neither a Cairn snapshot nor an etcd (bbolt) snapshot`);
}
