export { Backend } from './backend';
export { BackendBatch } from './backend-batch';
export { BackendError, type BackendErrorCode } from './backend-error';
export { BackendSnapshot } from './backend-snapshot';
export { type Bucket, BUCKETS, bucketPrefix } from './bucket';
export type { IterateOptions } from './iterate';
export { type SnapshotFileInfo, SNAPSHOT_FILE_MAGIC, snapshotRecords } from './snapshot-file';
