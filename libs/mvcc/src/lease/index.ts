export {
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_EXPIRED_RETRY_MS,
  LeaseStore,
  MAX_LEASE_TTL,
  type LeaseBackend,
  type LeaseBatch,
  type LeaseCheckpoint,
  type LeaseStoreOptions,
  type LeaseTimeToLive,
} from './lease-store';
export type { Lease } from './lease';
export { type LeaseClock, monotonicLeaseClock } from './lease-clock';
export { LeaseError, type LeaseErrorCode } from './lease-error';
