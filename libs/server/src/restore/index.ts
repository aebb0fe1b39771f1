// Snapshot restore (`cairnctl snapshot restore|status`): Cairn's own snapshots and real etcd snapshot.db files.
export { snapshotStatus, type SnapshotStatus } from './status';
export { restoreSnapshot, type RestoreOptions } from './restore';
