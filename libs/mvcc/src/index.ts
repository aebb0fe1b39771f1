export {};
export * from './lease';
export { KvStore, type ChangeListener, type HashKvResult, type KvStoreOptions } from './kvstore';
export { WriteTxn } from './write-txn';
export { MvccError, type MvccErrorCode } from './errors';
export { type KeyValue, encodeKeyValue, decodeKeyValue } from './key-value';
export { type Revision, compareRevisions, encodeRevisionKey, decodeRevisionKey } from './revision';
export { KeyIndex, type Generation, type IndexedRevision } from './key-index';
export { validateTxnRequest, DEFAULT_MAX_TXN_OPS } from './txn';
export { validatePutRequest } from './requests';
export * from './types';
export * from './watch';
export {
  CURRENT_DATA_FORMAT,
  DATA_FORMAT_ETCD_REVISIONS,
  DATA_FORMAT_ZERO_BASED,
  META_CURRENT_REVISION,
  META_DATA_FORMAT,
  META_SCHEDULED_COMPACT,
} from './meta';
