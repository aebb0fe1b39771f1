export { Backend, type IterateOptions } from './backend';
export { BackendBatch } from './backend-batch';
export { BackendError, type BackendErrorCode } from './backend-error';
export { type Bucket, BUCKETS } from './bucket';
export type { SnapshotFileInfo } from './snapshot-file';
