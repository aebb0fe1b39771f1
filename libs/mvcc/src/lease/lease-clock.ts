import { performance } from 'node:perf_hooks';

/** Time source for lease expiry: milliseconds, monotonic. Injected so tests control expiry. */
export interface LeaseClock {
  now(): number;
}

/** The process's monotonic clock (not wall time, so NTP steps cannot expire or revive leases). */
export const monotonicLeaseClock: LeaseClock = { now: () => performance.now() };
