// Import of a real etcd snapshot.db (a bbolt file) into a Cairn backend.
// Stub: the restore engine imports these signatures; bodies come next.

/** True when `file` is an etcd bbolt snapshot (bbolt magic in a meta page). */
export async function isEtcdBoltSnapshot(file: string): Promise<boolean> {
  void file;
  throw new Error('not implemented yet');
}

/** Convert an etcd snapshot into a fresh Cairn backend at `dbPath`. */
export async function convertEtcdSnapshot(
  file: string,
  dbPath: string,
  onProgress?: (stage: string, done: number, total: number) => void,
): Promise<{ revision: number; keys: number }> {
  void file;
  void dbPath;
  void onProgress;
  throw new Error('not implemented yet');
}

/** What `etcdctl snapshot status` prints for the file. */
export async function etcdSnapshotStatus(file: string): Promise<{
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
  dataFormat: number;
  source: 'etcd';
}> {
  void file;
  throw new Error('not implemented yet');
}
