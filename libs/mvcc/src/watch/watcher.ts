import { type KeyRange, toKeyRange } from '../key-range';
import { prevValueGone } from '../lazy-prev-kv';
import type { WatchEvent, WatchRequest, WatchResponse, WatchSink } from './types';

export type WatcherState = 'synced' | 'unsynced' | 'victim' | 'cancelled';

/** One watch registration and where it stands in the event stream. */
export class Watcher {
  readonly range: KeyRange;
  readonly prevKv: boolean;
  private readonly noPut: boolean;
  private readonly noDelete: boolean;
  /** The next revision this watcher must receive. */
  minRevision: number;
  state: WatcherState = 'unsynced';
  /** A response the sink refused, to deliver before anything else (victims only). */
  pending: WatchResponse | undefined;
  /** minRevision to set once `pending` is taken; undefined = cancel after it (compaction notice). */
  pendingNextRevision: number | undefined;
  /**
   * The first revision written while this watcher existed: the store's cache of recent writes skips writes no
   * watcher watched, so it serves this watcher's catch-up only from here on.
   */
  cacheFrom = 0;

  constructor(
    readonly id: number,
    request: WatchRequest,
    readonly sink: WatchSink,
    minRevision: number,
  ) {
    this.range = toKeyRange(request.key, request.rangeEnd);
    this.prevKv = request.prevKv ?? false;
    this.noPut = request.filters?.noPut ?? false;
    this.noDelete = request.filters?.noDelete ?? false;
    this.minRevision = minRevision;
  }

  /** Whether this watcher takes every event of its range (no filter): it can share a set's event list. */
  get unfiltered(): boolean {
    return !this.noPut && !this.noDelete;
  }

  /** Whether this watcher wants `event` (its filters; the key match is the group's job). */
  accepts(event: WatchEvent): boolean {
    return event.type === 'put' ? !this.noPut : !this.noDelete;
  }

  /** The event as this watcher should see it (without prevKv unless asked for). */
  shape(event: WatchEvent): WatchEvent {
    if (!event.prevKv) return event;
    // A put's prevKv value is read on first use; a version compacted away by then is left out, as etcd does.
    if (this.prevKv && !prevValueGone(event.prevKv)) return event;
    // One stripped copy per event, shared by every watcher without prevKv: consumers may cache per event
    // object (the gRPC watch encodes each event once).
    let stripped = STRIPPED.get(event);
    if (!stripped) {
      stripped = { type: event.type, kv: event.kv, sub: event.sub };
      STRIPPED.set(event, stripped);
    }
    return stripped;
  }
}

const STRIPPED = new WeakMap<WatchEvent, WatchEvent>();
