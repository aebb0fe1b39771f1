// The messages between the main thread and the I/O worker besides the packed records (bridge-records.ts).
import type { ClientListenerLimits } from '../client-listener';

/** What the worker needs to know, as workerData. */
export interface IoWorkerSettings {
  /** The paths of the calls the worker's gRPC front takes (served on the main thread). */
  frontPaths: string[];
  /** First requests that also put a connection on the front (etcd's Authenticate, a config Watch). */
  alsoFirst: string[];
  maxReceiveBytes: number;
  maxConcurrentStreams: number;
  normalizeAuthority: boolean;
  limits: Omit<ClientListenerLimits, 'stats'>;
}

export type MainMessage =
  { records: ArrayBuffer } | { listen: { id: number; host: string; port: number } } | { close: true };

export type WorkerMessage =
  | { records: ArrayBuffer }
  | { listening: { id: number; port?: number; error?: string } }
  | { log: { level: 'warn'; fields: Record<string, unknown>; message: string } }
  | { closed: true };

/** EdgeStats counters that moved, as signed deltas (stats-delta.ts). */
export type StatsChanges = Record<string, number | Record<string, number>>;
