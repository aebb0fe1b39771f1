export {
  Wal,
  DEFAULT_SEGMENT_SIZE_BYTES,
  type SyncMode,
  type WalOptions,
  type WalOpenResult,
  type WalTailRepair,
} from './wal';
export { WalError, WalCorruptError, WalErrorCode } from './errors';
export type { SnapshotMark } from './record-payloads';
