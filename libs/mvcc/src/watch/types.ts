import type { KeyValue } from '../key-value';

export interface WatchFilters {
  /** Drop put events. */
  noPut?: boolean;
  /** Drop delete events. */
  noDelete?: boolean;
}

export interface WatchRequest {
  key: Uint8Array;
  /** Same rules as Range: empty = the single key, "\0" = every key >= key, else [key, rangeEnd). */
  rangeEnd?: Uint8Array;
  /** First revision to deliver; <= 0 = only changes after now. Past revisions are replayed from history. */
  startRevision?: number;
  /** Attach each event's previous version. */
  prevKv?: boolean;
  filters?: WatchFilters;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  /** Delete events carry only `key` and `modRevision`. */
  kv: KeyValue;
  prevKv?: KeyValue;
  /** Its sub-revision (its place within the revision, counting every key's changes); set by the store. */
  sub?: number;
  /** @internal The key's latin1 id, when the store had it at hand (saves the fan-out converting the key). */
  keyId?: string;
}

export interface WatchResponse {
  watchId: number;
  /** Header revision: the store revision these events bring the watcher up to. */
  revision: number;
  /** Whole revisions only, in order; empty for progress and compaction notices. */
  events: WatchEvent[];
  /**
   * Set when the watcher's start revision was compacted away: the watcher is cancelled and this is
   * the compact revision to report.
   */
  compactRevision?: number;
}

/**
 * Where a watcher's responses go. Return true when the response was taken; false when the consumer
 * is full and did NOT take it: the store keeps it and retries later (on its timer or on
 * WatchableStore.retryVictims()), without blocking writes or dropping anything.
 */
export type WatchSink = (response: WatchResponse) => boolean;
