// Watches over a KvStore (etcd's watchableStore). A write only queues its changes here (the apply path stays as
// cheap with 10,000 watchers as with none); the synced watchers hear them a turn later, in order, one response
// per revision, fanned out in bounded slices so writes are served in between. Unsynced watchers (start revision in the past,
// or back from being a victim) replay history from the backend in bounded turns, then join the synced
// set. A watcher whose sink refuses a response becomes a victim: the response is kept and retried,
// writes never wait, and nothing is lost or reordered.
import { decodeKeyValue, type KeyValue } from '../key-value';
import type { KvStore } from '../kvstore';
import { MvccError } from '../errors';
import { prevValueGone } from '../lazy-prev-kv';
import { decodeRevisionKey, revisionKeyFloor } from '../revision';
import { openRevisionLog } from '../revision-log';
import { keyId } from '../sorted-key-map';
import type { WriteResult } from '../types';
import type { WatchEvent, WatchRequest, WatchResponse, WatchSink } from './types';
import { Watcher } from './watcher';
import { WatcherGroup } from './watcher-group';

export interface WatchableStoreOptions {
  /** Unsynced watchers served per catch-up turn (etcd: 512). */
  maxWatchersPerSync?: number;
  /** Stored revisions read per catch-up turn (rounded up to a whole revision). */
  maxEventsPerSync?: number;
  /**
   * Bytes of stored values read per catch-up turn (rounded up to a whole revision): a turn's events are held
   * until its watchers take them, so big values must not make a turn hold hundreds of MiB. Default 1 MiB.
   */
  maxBytesPerSync?: number;
  /**
   * Bytes of keys and values of the latest revisions kept in memory, so that a watcher catching up on them (a
   * victim whose stream drained) reads them there instead of the backend. 0 turns the cache off. Default 8 MiB.
   */
  maxRecentBytes?: number;
  /**
   * Responses offered to synced watchers per fan-out turn (a turn may stop inside a revision and the next go on),
   * so a write arriving meanwhile waits one slice, not the whole fan-out. Default 256.
   */
  maxFanOutPerTurn?: number;
  /** Delay between retries of victims' refused responses. */
  victimRetryMs?: number;
  /** Hears of a sink that threw; that watcher has been cancelled. */
  onSinkError?: (error: unknown, watchId: number) => void;
}

export interface WatchStats {
  synced: number;
  unsynced: number;
  victims: number;
}

/** A revision being offered to its watchers: the matched sets, and how far the offers went. */
interface FanOut {
  revision: number;
  sets: Array<[ReadonlySet<Watcher> | Watcher, WatchEvent[]]>;
  /** The set being offered. */
  index: number;
  /** Where in that set (undefined: not started). */
  watchers: Iterator<Watcher> | undefined;
  /** That set's events without prevKv, once built. */
  stripped: WatchEvent[] | undefined;
}

interface Timers {
  fanOut: NodeJS.Immediate | undefined;
  sync: NodeJS.Immediate | undefined;
  syncRetry: NodeJS.Timeout | undefined;
  victims: NodeJS.Timeout | undefined;
}

const SYNC_RETRY_MS = 100;
/** Bytes of events a catch-up turn hands over at most (at least one watcher's). */
const MAX_HANDOVER_BYTES = 4 * 1024 * 1024;
/** The victim retry timer backs off to at most 2^6 x victimRetryMs, and at most this long. */
const MAX_VICTIM_BACKOFF = 64;
const MAX_VICTIM_DELAY_MS = 100;

export class WatchableStore {
  private readonly synced = new WatcherGroup();
  private readonly unsynced = new Set<Watcher>();
  private readonly victims = new Set<Watcher>();
  private readonly watchers = new Map<number, Watcher>();
  private readonly timers: Timers = {
    fanOut: undefined,
    sync: undefined,
    syncRetry: undefined,
    victims: undefined,
  };
  private readonly unsubscribe: () => void;
  private readonly maxWatchersPerSync: number;
  private readonly maxEventsPerSync: number;
  private readonly maxBytesPerSync: number;
  private readonly victimRetryMs: number;
  private readonly maxRecentBytes: number;
  private readonly maxFanOutPerTurn: number;
  /** Writes not yet offered to every synced watcher, oldest first (queue[queueHead] on). */
  private queue: WriteResult[] = [];
  private queueHead = 0;
  /** The fan-out of queue[queueHead] where the last turn stopped inside it. */
  private inFlight: FanOut | undefined;
  /** The synced watcher being handed a queued write right now (offer()): what it receives is live. */
  private deliveringLive: Watcher | undefined;
  /** The changes of every write at revision >= recentFrom, oldest first (those notify() saw). */
  private recent: WriteResult[] = [];
  private recentHead = 0;
  private recentFrom: number;
  private recentBytes = 0;
  private readonly onSinkError: (error: unknown, watchId: number) => void;
  private nextId = 1;
  /** Multiplier of victimRetryMs while retries find every consumer still full. */
  private victimBackoff = 1;
  private syncing: Promise<void> | undefined;
  private closed = false;
  /** Between pause() and restore(): the KvStore's backend is being replaced, no catch-up turn may read it. */
  private paused = false;

  constructor(
    readonly kv: KvStore,
    options: WatchableStoreOptions = {},
  ) {
    this.maxWatchersPerSync = options.maxWatchersPerSync ?? 512;
    this.maxEventsPerSync = options.maxEventsPerSync ?? 1000;
    this.maxBytesPerSync = options.maxBytesPerSync ?? 1024 * 1024;
    this.victimRetryMs = options.victimRetryMs ?? 10;
    this.maxRecentBytes = options.maxRecentBytes ?? 8 * 1024 * 1024;
    this.maxFanOutPerTurn = options.maxFanOutPerTurn ?? 256;
    this.recentFrom = kv.currentRevision + 1;
    this.onSinkError = options.onSinkError ?? (() => undefined);
    this.unsubscribe = kv.onChanges((result) => this.notify(result));
  }

  get currentRevision(): number {
    return this.kv.currentRevision;
  }

  get stats(): WatchStats {
    return { synced: this.synced.size, unsynced: this.unsynced.size, victims: this.victims.size };
  }

  /**
   * Start watching; returns the watch ID. startRevision <= 0 (or in the future) delivers changes
   * after now (from startRevision); a past one replays history first. A start revision below the
   * compact revision gets one response with compactRevision set and the watcher is cancelled.
   */
  watch(request: WatchRequest, sink: WatchSink): number {
    if (this.closed) throw new MvccError('closed');
    const current = this.kv.currentRevision;
    const start = request.startRevision ?? 0;
    const id = this.nextId++;
    const made = (watcher: Watcher): Watcher => {
      watcher.cacheFrom = current + 1;
      return watcher;
    };
    if (start <= 0 || start > current) {
      const watcher = made(new Watcher(id, request, sink, Math.max(current + 1, start)));
      watcher.state = 'synced';
      this.synced.add(watcher);
      this.watchers.set(id, watcher);
    } else {
      const watcher = made(new Watcher(id, request, sink, start));
      this.watchers.set(id, watcher);
      this.toUnsynced(watcher);
    }
    return id;
  }

  /** Stop a watcher; false if it was not there (already cancelled or compacted). */
  cancel(watchId: number): boolean {
    const watcher = this.watchers.get(watchId);
    if (!watcher) return false;
    this.remove(watcher);
    return true;
  }

  /**
   * Synced, and every write so far offered to it (none still queued for the fan-out) — or, asked by its own
   * sink while the fan-out hands it a write, true: that write is live, not caught up from history.
   */
  isSynced(watchId: number): boolean {
    const watcher = this.watchers.get(watchId);
    if (watcher === undefined || watcher.state !== 'synced') return false;
    return watcher === this.deliveringLive || !this.fanOutPending(watcher);
  }

  /**
   * Progress notification: a synced watcher gets an empty response at the current revision (it has
   * seen everything up to it). Returns false, sending nothing, when the watcher is still catching up.
   */
  progress(watchId: number): boolean {
    const watcher = this.watchers.get(watchId);
    if (!watcher || watcher.state !== 'synced' || this.fanOutPending(watcher)) return false;
    return this.send(watcher, { watchId, revision: this.kv.currentRevision, events: [] }) === 'taken';
  }

  /**
   * Retry victims now (call when a consumer drained) instead of waiting for the retry timer; `only`: just these
   * watch IDs (the drained consumer's), so one stream draining does not offer every other stream's victims again.
   */
  retryVictims(only?: Iterable<number>): void {
    if (this.closed) return;
    let taken = false;
    if (only) {
      for (const id of only) {
        const watcher = this.watchers.get(id);
        if (watcher && this.victims.has(watcher)) taken = this.retryVictim(watcher) || taken;
      }
    } else {
      for (const watcher of [...this.victims]) taken = this.retryVictim(watcher) || taken;
    }
    // The timer backs off while every consumer stays full, so thousands of parked watchers are not offered
    // again every few milliseconds; anything taken brings it back to victimRetryMs.
    this.victimBackoff = taken ? 1 : Math.min(this.victimBackoff * 2, MAX_VICTIM_BACKOFF);
    this.armVictimTimer();
  }

  /** Offer a victim its pending response; true when it was taken (or the watcher is gone). */
  private retryVictim(watcher: Watcher): boolean {
    const pending = watcher.pending as WatchResponse;
    const outcome = this.send(watcher, pending);
    if (outcome === 'refused') return false;
    this.victims.delete(watcher);
    if (outcome === 'failed') return true;
    watcher.pending = undefined;
    if (watcher.pendingNextRevision === undefined) {
      this.remove(watcher);
      return true;
    }
    watcher.minRevision = watcher.pendingNextRevision;
    if (watcher.minRevision > this.kv.currentRevision) {
      watcher.state = 'synced';
      this.synced.add(watcher);
    } else {
      this.toUnsynced(watcher);
    }
    return true;
  }

  /**
   * The KvStore is about to be restored from another backend: no catch-up turn starts until restore(), and
   * one in flight is waited for. Watchers stay; synced ones still hear writes (none happen meanwhile).
   */
  async pause(): Promise<void> {
    this.paused = true;
    if (this.timers.sync) clearImmediate(this.timers.sync);
    if (this.timers.syncRetry) clearTimeout(this.timers.syncRetry);
    this.timers.sync = undefined;
    this.timers.syncRetry = undefined;
    await this.syncing;
  }

  /**
   * The KvStore was restored in place (etcd's watchableStore.Restore): every synced watcher goes back to
   * unsynced and catches up from its next revision against the new state, or gets the compact revision
   * when that revision is gone. Victims keep their pending response and follow once it is taken. Watch
   * IDs, sinks and filters are kept.
   */
  restore(): void {
    this.paused = false;
    // Queued writes were the old state's: the synced watchers catch up below from the new one.
    this.clearQueue();
    // The remembered writes were the old state's.
    this.forgetRecent(this.kv.currentRevision + 1);
    for (const watcher of this.watchers.values()) {
      if (watcher.state !== 'synced') continue;
      this.synced.delete(watcher);
      watcher.state = 'unsynced';
      this.unsynced.add(watcher);
    }
    this.scheduleSync();
  }

  /** Stop every watcher and timer; waits for a catch-up turn in flight. The KvStore stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (this.timers.sync) clearImmediate(this.timers.sync);
    if (this.timers.syncRetry) clearTimeout(this.timers.syncRetry);
    if (this.timers.victims) clearTimeout(this.timers.victims);
    if (this.timers.fanOut) clearImmediate(this.timers.fanOut);
    this.timers.fanOut = undefined;
    this.clearQueue();
    this.timers.sync = undefined;
    this.timers.syncRetry = undefined;
    this.timers.victims = undefined;
    await this.syncing;
    for (const watcher of [...this.watchers.values()]) this.remove(watcher);
  }

  // ---- synced path -------------------------------------------------------------------------------

  /** The apply path: remember the write for catch-up and queue it for the fan-out; nothing more. */
  private notify(result: WriteResult): void {
    // No synced watcher watches a key of this write: the fan-out has nobody to offer it to, and a watcher synced
    // later starts after this revision (or catches up through it from the cache or the backend) anyway.
    const matched = this.synced.size > 0 && this.anySyncedWatches(result);
    this.remember(result, matched);
    if (!matched) return;
    this.queue.push(result);
    this.scheduleFanOut();
  }

  /** Whether a queued write may still be for this synced watcher. */
  private fanOutPending(watcher: Watcher): boolean {
    return (
      this.queueHead < this.queue.length && watcher.minRevision <= this.queue[this.queue.length - 1].revision
    );
  }

  private scheduleFanOut(): void {
    if (this.closed || this.timers.fanOut || this.queueHead === this.queue.length) return;
    this.timers.fanOut = setImmediate(() => {
      this.timers.fanOut = undefined;
      this.fanOutTurn();
      this.scheduleFanOut();
    });
  }

  /**
   * Offers the oldest queued writes to the synced watchers, in order, about maxFanOutPerTurn responses a turn. A
   * turn may end inside a revision (10,000 watchers of one prefix are 10,000 responses): the next one goes on
   * where it stopped, and the write stays queued until every watcher was offered it.
   */
  private fanOutTurn(): void {
    let budget = this.maxFanOutPerTurn;
    while (budget > 0) {
      if (!this.inFlight) {
        if (this.queueHead === this.queue.length) break;
        this.inFlight = this.matchRevision(this.queue[this.queueHead]);
      }
      budget = this.continueFanOut(this.inFlight, budget - 1);
      if (this.inFlight.index < this.inFlight.sets.length) break;
      this.inFlight = undefined;
      this.queue[this.queueHead++] = undefined as unknown as WriteResult; // the cache keeps it if needed
    }
    if (this.queueHead === this.queue.length) this.clearQueue();
    else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private clearQueue(): void {
    this.queue = [];
    this.queueHead = 0;
    this.inFlight = undefined;
  }

  /**
   * A revision's events matched to the synced watchers: once per set of watchers on the same key or prefix (not
   * once per watcher); the watchers of a set without filters then share that set's event list.
   */
  private matchRevision(result: WriteResult): FanOut {
    const bySet = new Map<ReadonlySet<Watcher> | Watcher, WatchEvent[]>();
    if (this.synced.size > 0) {
      for (const event of result.events) {
        this.synced.forEachMatchSet(eventKeyId(event), (set) => {
          const list = bySet.get(set);
          if (list) list.push(event);
          else bySet.set(set, [event]);
        });
      }
    }
    return {
      revision: result.revision,
      sets: [...bySet],
      index: 0,
      watchers: undefined,
      stripped: undefined,
    };
  }

  /** Offers a revision to its watchers until `budget` responses were offered; returns the budget left. */
  private continueFanOut(state: FanOut, budget: number): number {
    while (state.index < state.sets.length) {
      const [set, events] = state.sets[state.index];
      if (set instanceof Watcher) {
        if (budget <= 0) return budget;
        budget -= this.offer(set, state.revision, this.eventsFor(set, events));
      } else {
        // A live iterator: a watcher parked or cancelled meanwhile is skipped (offer() checks its state), one
        // added to the set meanwhile starts after this revision.
        const watchers = (state.watchers ??= set.values());
        for (;;) {
          if (budget <= 0) return budget;
          const next = watchers.next();
          if (next.done) break;
          const watcher = next.value;
          let list: WatchEvent[];
          if (!watcher.unfiltered) list = this.eventsFor(watcher, events);
          else if (watcher.prevKv) list = events.some(prevKvGone) ? this.eventsFor(watcher, events) : events;
          else list = state.stripped ??= events.map((event) => watcher.shape(event));
          budget -= this.offer(watcher, state.revision, list);
        }
      }
      state.index++;
      state.watchers = undefined;
      state.stripped = undefined;
    }
    return budget;
  }

  /** The events of one revision this watcher takes, shaped for it. */
  private eventsFor(watcher: Watcher, events: readonly WatchEvent[]): WatchEvent[] {
    const list: WatchEvent[] = [];
    for (const event of events) if (watcher.accepts(event)) list.push(watcher.shape(event));
    return list;
  }

  /** Offers a synced watcher its events of `revision` (none: nothing is sent); 1 when a response was offered. */
  private offer(watcher: Watcher, revision: number, events: WatchEvent[]): number {
    if (watcher.state !== 'synced' || revision < watcher.minRevision || events.length === 0) return 0;
    const response: WatchResponse = { watchId: watcher.id, revision, events };
    this.deliveringLive = watcher;
    const outcome = this.send(watcher, response); // never throws
    this.deliveringLive = undefined;
    if (outcome === 'refused') this.toVictim(watcher, response, revision + 1);
    else if (outcome === 'taken') watcher.minRevision = revision + 1;
    return 1;
  }

  // ---- recent revisions --------------------------------------------------------------------------

  /** Keep a write's changes (bounded by maxRecentBytes, oldest dropped first) for catch-up turns. */
  private remember(result: WriteResult, matched: boolean): void {
    if (this.maxRecentBytes <= 0 || this.watchers.size === 0) {
      // Nobody can catch up on it: start again after this write.
      this.forgetRecent(result.revision + 1);
      return;
    }
    // Every watcher synced and none watching a key of this write: no watcher there now will ever catch up on
    // it, and one made later reads the revisions before it was made from the backend (Watcher.cacheFrom). Keeping
    // it would hold every write's objects past the young generation (the archiver's range watch sits on every
    // member while clients write elsewhere).
    if (this.unsynced.size === 0 && this.victims.size === 0 && !matched) return;
    this.recent.push(result);
    this.recentBytes += changeBytes(result);
    while (this.recentBytes > this.maxRecentBytes && this.recentHead < this.recent.length) {
      const dropped = this.recent[this.recentHead++];
      this.recentBytes -= changeBytes(dropped);
      this.recentFrom = dropped.revision + 1;
    }
    if (this.recentHead > 1024 && this.recentHead * 2 > this.recent.length) {
      this.recent = this.recent.slice(this.recentHead);
      this.recentHead = 0;
    }
  }

  /** Whether a synced watcher's range holds a key this write changed. */
  private anySyncedWatches(result: WriteResult): boolean {
    for (const event of result.events) if (this.synced.matchesAny(eventKeyId(event))) return true;
    return false;
  }

  /** Empty the cache; it is complete again for the writes from revision `from` on. */
  private forgetRecent(from: number): void {
    this.recent = [];
    this.recentHead = 0;
    this.recentBytes = 0;
    this.recentFrom = from;
  }

  /**
   * The remembered events of revisions [from, until], bounded as a backend read is (never splitting a
   * revision); undefined when revisions from `from` on are not all remembered.
   */
  private recentEvents(
    from: number,
    until: number,
  ):
    | { events: Array<{ revision: number; event: WatchEvent }>; lastRevision: number; reachedEnd: boolean }
    | undefined {
    if (from < this.recentFrom) return undefined;
    const events: Array<{ revision: number; event: WatchEvent }> = [];
    let lastRevision = from - 1;
    let bytes = 0;
    let lo = this.recentHead;
    let hi = this.recent.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.recent[mid].revision < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.recent.length; i++) {
      const result = this.recent[i];
      if (result.revision > until) break;
      if (events.length >= this.maxEventsPerSync || bytes >= this.maxBytesPerSync)
        return { events, lastRevision, reachedEnd: false };
      for (const event of result.events) events.push({ revision: result.revision, event });
      bytes += changeBytes(result);
      lastRevision = result.revision;
    }
    return { events, lastRevision, reachedEnd: true };
  }

  // ---- unsynced path -----------------------------------------------------------------------------

  private toUnsynced(watcher: Watcher): void {
    watcher.state = 'unsynced';
    this.unsynced.add(watcher);
    this.scheduleSync();
  }

  private toVictim(watcher: Watcher, response: WatchResponse, nextRevision: number | undefined): void {
    if (watcher.state === 'synced') this.synced.delete(watcher);
    this.unsynced.delete(watcher);
    watcher.state = 'victim';
    watcher.pending = response;
    watcher.pendingNextRevision = nextRevision;
    this.victims.add(watcher);
    this.armVictimTimer();
  }

  private armVictimTimer(): void {
    if (this.closed || this.victims.size === 0 || this.timers.victims) return;
    this.timers.victims = setTimeout(
      () => {
        this.timers.victims = undefined;
        this.retryVictims();
      },
      Math.max(this.victimRetryMs, Math.min(this.victimRetryMs * this.victimBackoff, MAX_VICTIM_DELAY_MS)),
    );
  }

  private scheduleSync(): void {
    if (
      this.closed ||
      this.paused ||
      this.timers.sync ||
      this.timers.syncRetry ||
      this.syncing ||
      this.unsynced.size === 0
    )
      return;
    this.timers.sync = setImmediate(() => {
      this.timers.sync = undefined;
      this.syncing = this.syncTurn().then(
        () => {
          this.syncing = undefined;
          this.scheduleSync();
        },
        () => {
          // A failed read (e.g. the backend is going away): try again later instead of spinning.
          this.syncing = undefined;
          if (this.closed) return;
          this.timers.syncRetry = setTimeout(() => {
            this.timers.syncRetry = undefined;
            this.scheduleSync();
          }, SYNC_RETRY_MS);
        },
      );
    });
  }

  /** One bounded catch-up turn for up to maxWatchersPerSync unsynced watchers. */
  private async syncTurn(): Promise<void> {
    const compactRevision = this.kv.compactRevision;
    const chosen: Watcher[] = [];
    for (const watcher of this.unsynced) {
      if (chosen.length >= this.maxWatchersPerSync) break;
      if (watcher.minRevision < compactRevision) {
        // Its history is gone: tell it the compact revision and drop it.
        const notice: WatchResponse = {
          watchId: watcher.id,
          revision: this.kv.currentRevision,
          events: [],
          compactRevision,
        };
        const outcome = this.send(watcher, notice);
        if (outcome === 'taken') this.remove(watcher);
        else if (outcome === 'refused') this.toVictim(watcher, notice, undefined);
        continue;
      }
      chosen.push(watcher);
    }
    if (chosen.length === 0) return;

    const untilRevision = this.kv.currentRevision;
    const fromRevision = Math.min(...chosen.map((watcher) => watcher.minRevision));
    const group = new WatcherGroup();
    for (const watcher of chosen) group.add(watcher);

    // The latest revisions are in memory (with prevKv where the key had one): no backend read, no await.
    // Only for watchers that existed when those revisions were written (the cache skips writes nobody watched).
    const remembered = chosen.every((watcher) => watcher.minRevision >= watcher.cacheFrom)
      ? this.recentEvents(fromRevision, untilRevision)
      : undefined;
    if (remembered) {
      const { events, lastRevision, reachedEnd } = remembered;
      this.handOver(chosen, group, events, reachedEnd ? untilRevision : lastRevision, new Map());
      return;
    }

    // Read stored revisions [fromRevision, untilRevision], at most maxEventsPerSync events or
    // maxBytesPerSync bytes plus the rest of the last revision, so a revision is never split.
    const log = openRevisionLog(this.kv.internalState);
    const events: Array<{ revision: number; event: WatchEvent }> = [];
    let lastRevision = fromRevision - 1;
    let reachedEnd = true;
    let bytes = 0;
    try {
      for await (const [revKey, value] of log.entries(
        revisionKeyFloor(fromRevision),
        revisionKeyFloor(untilRevision + 1),
      )) {
        const { revision, tombstone } = decodeRevisionKey(revKey);
        const full = events.length >= this.maxEventsPerSync || bytes >= this.maxBytesPerSync;
        if (full && revision.main !== lastRevision) {
          reachedEnd = false;
          break;
        }
        lastRevision = revision.main;
        bytes += value.length;
        const stored = decodeKeyValue(value);
        const kv: KeyValue = tombstone ? { ...stored, modRevision: revision.main } : stored;
        events.push({
          revision: revision.main,
          event: { type: tombstone ? 'delete' : 'put', kv, sub: revision.sub },
        });
      }
    } finally {
      await log.close();
    }
    const throughRevision = reachedEnd ? untilRevision : lastRevision;

    const wantsPrev = new Set<WatchEvent>();
    for (const { revision, event } of events) {
      group.forEachMatch(eventKeyId(event), (watcher) => {
        if (revision >= watcher.minRevision && watcher.prevKv && watcher.accepts(event)) wantsPrev.add(event);
      });
    }
    const withPrev = await this.attachPrevKvs(wantsPrev);
    this.handOver(chosen, group, events, throughRevision, withPrev);
  }

  /**
   * Give each chosen watcher its events of [its minRevision, throughRevision] in one response, then move it
   * to the synced set if that brings it up to date. No await here: the hand-over cannot miss a write.
   */
  private handOver(
    chosen: readonly Watcher[],
    group: WatcherGroup,
    events: ReadonlyArray<{ revision: number; event: WatchEvent }>,
    throughRevision: number,
    withPrev: ReadonlyMap<WatchEvent, WatchEvent>,
  ): void {
    // Matched once per set of watchers on one key or prefix; each watcher takes its part from its minRevision.
    const bySet = new Map<ReadonlySet<Watcher> | Watcher, Array<{ revision: number; event: WatchEvent }>>();
    for (const entry of events) {
      group.forEachMatchSet(eventKeyId(entry.event), (set) => {
        const list = bySet.get(set);
        if (list) list.push(entry);
        else bySet.set(set, [entry]);
      });
    }
    const perWatcher = new Map<Watcher, WatchEvent[]>();
    for (const [set, entries] of bySet) {
      // The set's events as an unfiltered watcher without prevKv sees them: shared by those from the start.
      let stripped: WatchEvent[] | undefined;
      for (const watcher of set instanceof Watcher ? [set] : set) {
        const from = firstAtOrAfter(entries, watcher.minRevision);
        if (from === entries.length) continue;
        let list: WatchEvent[];
        if (watcher.unfiltered && !watcher.prevKv) {
          stripped ??= entries.map(({ event }) => watcher.shape(event));
          list = from === 0 ? stripped : stripped.slice(from);
        } else {
          list = [];
          for (let i = from; i < entries.length; i++) {
            const event = entries[i].event;
            if (watcher.accepts(event))
              list.push(watcher.shape(watcher.prevKv ? (withPrev.get(event) ?? event) : event));
          }
        }
        if (list.length > 0) perWatcher.set(watcher, list);
      }
    }
    // A turn hands over about MAX_HANDOVER_BYTES (a turn is synchronous: writes wait for it); the watchers left
    // stay unsynced, first in line for the next turn.
    let eventBytes = 0;
    for (const { event } of events) eventBytes += 64 + event.kv.key.length + event.kv.value.length;
    const averageBytes = events.length > 0 ? eventBytes / events.length : 0;
    let handed = 0;
    for (const watcher of chosen) {
      if (handed >= MAX_HANDOVER_BYTES) break;
      if (watcher.state !== 'unsynced') continue; // cancelled meanwhile
      const next = Math.max(watcher.minRevision, throughRevision + 1);
      const list = perWatcher.get(watcher);
      if (list) {
        handed += list.length * averageBytes;
        const response: WatchResponse = { watchId: watcher.id, revision: throughRevision, events: list };
        const outcome = this.send(watcher, response);
        if (outcome === 'failed') continue;
        if (outcome === 'refused') {
          this.toVictim(watcher, response, next);
          continue;
        }
      }
      watcher.minRevision = next;
      if (next > this.kv.currentRevision) {
        this.unsynced.delete(watcher);
        watcher.state = 'synced';
        this.synced.add(watcher);
      }
    }
  }

  /** Events with prevKv set to the key's version just before the event, where history still has it. */
  private async attachPrevKvs(events: Set<WatchEvent>): Promise<Map<WatchEvent, WatchEvent>> {
    const out = new Map<WatchEvent, WatchEvent>();
    for (const event of events) {
      // A create has no previous version.
      if (event.type === 'put' && event.kv.version === 1) continue;
      try {
        const read = await this.kv.range({ key: event.kv.key, revision: event.kv.modRevision - 1 });
        const prevKv = read.kvs[0];
        if (prevKv) out.set(event, { ...event, prevKv });
      } catch (error) {
        // Compacted meanwhile: etcd sends the event without prevKv too.
        if (!(error instanceof MvccError)) throw error;
      }
    }
    return out;
  }

  /**
   * Offer a response to a watcher's sink. A sink that throws is cancelled (and reported), so a broken
   * consumer can never fail the write that notified it.
   */
  private send(watcher: Watcher, response: WatchResponse): 'taken' | 'refused' | 'failed' {
    try {
      return watcher.sink(response) ? 'taken' : 'refused';
    } catch (error) {
      this.remove(watcher);
      this.onSinkError(error, watcher.id);
      return 'failed';
    }
  }

  private remove(watcher: Watcher): void {
    this.watchers.delete(watcher.id);
    this.synced.delete(watcher);
    this.unsynced.delete(watcher);
    this.victims.delete(watcher);
    watcher.state = 'cancelled';
    watcher.pending = undefined;
  }
}

const keyIds = new WeakMap<WatchEvent, string>();

/**
 * keyId of an event's key: the store's own (a write's events carry it), else computed once per event (the fan-out
 * and every catch-up turn match it again).
 */
function eventKeyId(event: WatchEvent): string {
  if (event.keyId !== undefined) return event.keyId;
  let id = keyIds.get(event);
  if (id === undefined) {
    id = keyId(event.kv.key);
    keyIds.set(event, id);
  }
  return id;
}

/** The index of the first entry at or after `revision` (entries in revision order). */
function firstAtOrAfter(entries: ReadonlyArray<{ revision: number }>, revision: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid].revision < revision) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether an event's prevKv was compacted away before anyone read its value (lazy-prev-kv.ts). */
function prevKvGone(event: WatchEvent): boolean {
  return event.prevKv !== undefined && prevValueGone(event.prevKv);
}

/** What a write's changes weigh in the recent-revisions cache: keys and values, prevKv included. */
function changeBytes(result: WriteResult): number {
  let bytes = 64;
  for (const event of result.events) {
    bytes += 64 + event.kv.key.length + event.kv.value.length;
    // A put's previous value is read only if a watcher asks (lazy-prev-kv.ts): its new value's size stands in.
    if (event.prevKv) {
      const prevBytes = event.type === 'put' ? event.kv.value.length : event.prevKv.value.length;
      bytes += 64 + event.prevKv.key.length + prevBytes;
    }
  }
  return bytes;
}
