// One watch of an app's keys per member, shared by every subscription to that app on the member (issue 18:
// 10,000 subscribers must not mean 10,000 MVCC watchers each decoding every release). The feed keeps the
// app's state once; per revision it computes the change event once per view (label set, and gray bucket
// class while a percentage gray release is involved) and hands the same event object to every subscriber
// with that view, so the transport encodes it once too (grpc.ts). A subscriber whose transport is full
// leaves the feed and catches up on its own watch from its last revision (subscription.ts), so a slow
// reader never holds the others up and nothing queues in the member for it.
import { type CallContext, type PortWatch, type WatchResponse, internalContext } from '@cairn/server';
import { type ItemState, type Viewer, AppState, applicableOf, keyOf, sameRelease } from './app-view';
import { subscriptionRange } from './keys';
import type { ConfigStore } from './store';
import type { AppliedItem, ConfigWatchEvent } from './types';

/** A subscription as the feed sees it. */
export interface FeedSubscriber {
  readonly viewer: Viewer;
  /** Its labels, canonical: subscribers with equal keys get the same events. */
  readonly labelsKey: string;
  /** The revision it is current as of: the feed skips revisions at or before it. */
  readonly lastRevision: number;
  /** The event of `revision` for it (undefined: nothing changed for it); false: its transport is full, it left. */
  deliver(revision: number, event: ConfigWatchEvent | undefined): boolean;
  /** The feed ended: with `err` when its watch failed, without when it must start over (compaction). */
  feedLost(err?: Error): void;
}

/** One revision's changes: the touched items' states before and after it. */
interface Change {
  revision: number;
  names: string[];
  before: Map<string, ItemState | undefined>;
  after: Map<string, ItemState | undefined>;
  /** Partial gray percentages involved: subscribers' buckets split into classes by them. */
  thresholds: number[];
  /** View key → the event (null: nothing to send to that view). */
  events: Map<string, ConfigWatchEvent | null>;
}

/** Subscribers handed their event per turn before yielding to I/O (100,000 on a member take several turns). */
const FAN_OUT_CHUNK = 2000;

function copyOf(s: ItemState | undefined): ItemState | undefined {
  return s ? { ...s } : undefined;
}

function partialPercentage(s: ItemState | undefined): number | undefined {
  const p = s?.gray?.record.rule.percentage;
  return p !== undefined && p > 0 && p < 100 ? p : undefined;
}

/** Which subscribers see the same thing: equal labels and, per partial gray percentage, the same side of it. */
function viewKey(sub: FeedSubscriber, thresholds: number[]): string {
  if (thresholds.length === 0) return sub.labelsKey;
  let above = 0;
  for (const p of thresholds) if (sub.viewer.bucket < p) above++;
  return `${sub.labelsKey}\0${above}`;
}

export class AppFeed {
  readonly state: AppState;
  /** The revision the state is as of (every change of the app up to it is in the state). */
  revision = 0;
  closed = false;
  /** Subscriptions holding the feed (attached or catching up on their own). */
  refs = 0;
  readonly ready: Promise<void>;
  private watch: PortWatch | undefined;
  private readonly attached = new Set<FeedSubscriber>();
  private readonly queue: Change[] = [];
  private cursor: Iterator<FeedSubscriber> | undefined;
  private pumping = false;
  private snapshots = new Map<string, ConfigWatchEvent>();
  private snapshotsAt = -1;

  constructor(
    private readonly store: ConfigStore,
    namespace: string,
    app: string,
    from: number,
    private readonly onClosed: (feed: AppFeed) => void,
  ) {
    this.state = new AppState(store, namespace, app);
    this.ready = this.open(from);
    // A failed open is reported to each subscription awaiting `ready`; never unhandled.
    this.ready.catch(() => undefined);
  }

  /** Loads the app's state (at `from`, so resuming subscribers can join; now when that is compacted) and watches on. */
  private async open(from: number): Promise<void> {
    // The feed is the member's own duty: subscribers prove READ on the app before they are served from it.
    const ctx: CallContext = internalContext();
    let at: number;
    try {
      // A revision compacted meanwhile: now.
      at = await this.state.load(ctx, from).catch(() => this.state.load(ctx, 0));
    } catch (err) {
      this.close();
      throw err;
    }
    if (this.closed) return;
    this.revision = at;
    const { key, rangeEnd } = subscriptionRange(this.state.namespace, this.state.app);
    this.watch = this.store.watch(
      ctx,
      { key, rangeEnd, startRevision: at + 1 },
      (res) => this.onWatch(res),
      (err) => this.lost(err),
    );
  }

  /** Number of subscribers served by the feed right now (tests). */
  get attachedCount(): number {
    return this.attached.size;
  }

  attach(sub: FeedSubscriber): void {
    this.attached.add(sub);
  }

  detach(sub: FeedSubscriber): void {
    this.attached.delete(sub);
  }

  /** The app as it applies to `sub` now: one event object per view, shared until the next change. */
  snapshotFor(sub: FeedSubscriber): ConfigWatchEvent {
    if (this.snapshotsAt !== this.revision) {
      this.snapshots = new Map();
      this.snapshotsAt = this.revision;
    }
    const thresholds = new Set<number>();
    for (const s of this.state.items.values()) {
      const p = partialPercentage(s);
      if (p !== undefined) thresholds.add(p);
    }
    const key = viewKey(sub, [...thresholds]);
    let event = this.snapshots.get(key);
    if (!event) {
      const items: AppliedItem[] = [];
      for (const name of [...this.state.items.keys()].sort()) {
        const a = applicableOf(name, this.state.items.get(name), sub.viewer);
        if (a) items.push(a);
      }
      event = { kind: 'snapshot', revision: this.revision, items, deleted: [] };
      this.snapshots.set(key, event);
    }
    return event;
  }

  private onWatch(res: WatchResponse): boolean {
    if (this.closed) return true;
    if (res.compactRevision !== undefined) {
      // Cannot happen while the feed keeps up (it never refuses); if it does, everyone starts over.
      this.lost(undefined);
      return true;
    }
    let i = 0;
    while (i < res.events.length) {
      const revision = res.events[i].kv.modRevision;
      const before = new Map<string, ItemState | undefined>();
      for (; i < res.events.length && res.events[i].kv.modRevision === revision; i++) {
        const event = res.events[i];
        const key = keyOf(event.kv);
        const name = this.state.nameOf(key);
        if (name === undefined) continue;
        if (!before.has(name)) before.set(name, copyOf(this.state.items.get(name)));
        this.state.applyKv(key, event.type === 'put' ? event.kv : undefined);
      }
      const names = [...before.keys()].sort();
      const after = new Map<string, ItemState | undefined>();
      const thresholds = new Set<number>();
      for (const name of names) {
        const s = this.state.items.get(name);
        after.set(name, copyOf(s));
        this.state.prune(name);
        for (const p of [partialPercentage(s), partialPercentage(before.get(name))])
          if (p !== undefined) thresholds.add(p);
      }
      this.revision = revision;
      if (names.length > 0)
        this.queue.push({ revision, names, before, after, thresholds: [...thresholds], events: new Map() });
    }
    this.pump();
    return true;
  }

  /** Hands each queued change to every attached subscriber, in order, a chunk of subscribers per turn. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      let budget = FAN_OUT_CHUNK;
      while (this.queue.length > 0 && !this.closed) {
        const change = this.queue[0];
        this.cursor ??= this.attached.values();
        for (;;) {
          if (budget-- <= 0) {
            setImmediate(() => this.pump());
            return;
          }
          const next = this.cursor.next();
          if (next.done) break;
          this.offer(change, next.value);
        }
        this.cursor = undefined;
        this.queue.shift();
      }
    } finally {
      this.pumping = false;
    }
  }

  private offer(change: Change, sub: FeedSubscriber): void {
    if (sub.lastRevision >= change.revision) return;
    const key = viewKey(sub, change.thresholds);
    let event = change.events.get(key);
    if (event === undefined) {
      event = this.changeEvent(change, sub.viewer);
      change.events.set(key, event);
    }
    if (!sub.deliver(change.revision, event ?? undefined)) this.attached.delete(sub);
  }

  /** What one view sees of a change: the items whose applicable release moved, and those that went away. */
  private changeEvent(change: Change, viewer: Viewer): ConfigWatchEvent | null {
    const items: AppliedItem[] = [];
    const deleted: string[] = [];
    for (const name of change.names) {
      const now = applicableOf(name, change.after.get(name), viewer);
      const was = applicableOf(name, change.before.get(name), viewer);
      if (!now) {
        if (was) deleted.push(name);
      } else if (!sameRelease(now, was)) {
        items.push(now);
      }
    }
    if (items.length === 0 && deleted.length === 0) return null;
    return { kind: 'change', revision: change.revision, items, deleted };
  }

  /** The watch ended without us (member stopping, or compaction): every attached subscriber is told. */
  private lost(err: Error | undefined): void {
    if (this.closed) return;
    const subs = [...this.attached];
    this.close();
    for (const sub of subs) sub.feedLost(err);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch?.cancel();
    this.watch = undefined;
    this.attached.clear();
    this.queue.length = 0;
    this.cursor = undefined;
    this.onClosed(this);
  }
}

/** The member's feeds, one per app with subscribers; a feed closes with its last subscription. */
export class AppFeeds {
  private readonly feeds = new Map<string, AppFeed>();

  constructor(private readonly store: ConfigStore) {}

  /** The app's feed (opened at `from` when it is the first), held until release(). */
  acquire(namespace: string, app: string, from: number): AppFeed {
    const key = `${namespace}/${app}`;
    let feed = this.feeds.get(key);
    if (!feed || feed.closed) {
      feed = new AppFeed(this.store, namespace, app, from, (closed) => {
        if (this.feeds.get(key) === closed) this.feeds.delete(key);
      });
      this.feeds.set(key, feed);
    }
    feed.refs++;
    return feed;
  }

  release(feed: AppFeed): void {
    feed.refs--;
    if (feed.refs <= 0) feed.close();
  }

  /** Open feeds (one MVCC watcher each). */
  get size(): number {
    return this.feeds.size;
  }

  close(): void {
    for (const feed of [...this.feeds.values()]) feed.close();
  }
}
