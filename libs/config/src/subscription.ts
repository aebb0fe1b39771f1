// One subscriber's view of an app: which release of each item applies to its labels (main or gray), sent as
// snapshot/change events. Normally served from the member's shared feed of the app (app-feed.ts: one watch
// and one event per view for all its subscribers). A subscription that is behind the feed (resuming from an
// older revision) or whose transport filled up catches up on its own: it rebuilds the state as of its
// revision and replays every later revision in order from its own watch (parked by the store while the
// transport is full, as etcd's victims), then rejoins the feed once it caught up. A compacted revision
// gets a fresh snapshot. Either way a subscriber sees each publish once, in order.
// It proves READ on the app under the context of the call that opened it (its own reads and watch run under
// that context too); secret items are opened (decrypted) for it, since a subscriber is who the config is for.
import { etcdError } from '@cairn/api';
import type { CallContext, PortWatch, WatchResponse } from '@cairn/server';
import type { AppFeed, AppFeeds, FeedSubscriber } from './app-feed';
import { AppState, type Viewer, applicableOf, grayBucket, keyOf, sameRelease } from './app-view';
import { subscriptionRange } from './keys';
import type { ConfigStore } from './store';
import type { AppliedItem, ConfigWatchEvent } from './types';

export { grayApplies, grayBucket } from './app-view';

export interface SubscribeParams {
  namespace: string;
  app: string;
  labels?: Record<string, string>;
  /** Stable subscriber ID: percentage gray releases hash it. */
  subscriberId?: string;
  /** Resume after this KV revision (0 = start with a snapshot). */
  revision?: number;
  /**
   * The subscriber's transport has room (an SSE stream or gRPC call below its send-buffer bound). While it
   * returns false the subscription refuses watch responses: the store keeps them and offers them again (the
   * watcher is parked, as etcd's victims), so nothing queues up in the member for a reader that does not read.
   * Omitted: always room (a long-poll collects into its answer).
   */
  ready?: () => boolean;
}

const RESUME_WAIT_MS = 2000;

/** A subscription catching up on its own: its state, what it sent of it, and its own watch. */
interface Own {
  state: AppState;
  sent: Map<string, AppliedItem>;
  watch?: PortWatch;
  /** Every change of the app up to this revision is applied (the last event's, or where the watch started). */
  upTo: number;
}

export class ConfigSubscription implements FeedSubscriber {
  readonly viewer: Viewer;
  readonly labelsKey: string;
  lastRevision = 0;
  private closed = false;
  private feed: AppFeed | undefined;
  private attached = false;
  private own: Own | undefined;
  private stopGuards: (() => void) | undefined;

  constructor(
    private readonly store: ConfigStore,
    private readonly feeds: AppFeeds,
    /** The subscriber's call: its permission, reads and watch (aborting it ends the subscription). */
    private readonly ctx: CallContext,
    private readonly params: SubscribeParams,
    private readonly send: (event: ConfigWatchEvent) => void,
    private readonly onEnd: (err?: Error) => void,
  ) {
    const labels = params.labels ?? {};
    this.viewer = { labels, bucket: grayBucket(params.subscriberId ?? '') };
    this.labelsKey = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  async start(): Promise<void> {
    const { key, rangeEnd } = subscriptionRange(this.params.namespace, this.params.app);
    // READ on what the subscription watches, as the watch itself would check it.
    await this.store.checkRead(this.ctx, key, rangeEnd);
    this.guard();
    let resume = Number(this.params.revision ?? 0);
    if (resume > this.store.revisions().current) {
      // The subscriber saw a revision this member has not applied yet: wait a little for it.
      const deadline = Date.now() + RESUME_WAIT_MS;
      while (this.store.revisions().current < resume && Date.now() < deadline && !this.closed) {
        await new Promise((r) => setTimeout(r, 20));
      }
      if (this.store.revisions().current < resume) resume = 0;
    }
    if (resume > 0 && resume < this.store.revisions().compact) resume = 0;
    const feed = this.feeds.acquire(this.params.namespace, this.params.app, resume);
    this.feed = feed;
    await feed.ready;
    if (this.closed) return;
    if (resume > 0) {
      if (!feed.closed && resume >= feed.revision) {
        // Nothing changed in the app since: the feed's state is the subscriber's.
        this.lastRevision = resume;
        this.send({ kind: 'resumed', revision: resume, items: [], deleted: [] });
        this.attach();
        return;
      }
      try {
        const state = new AppState(this.store, this.params.namespace, this.params.app);
        await state.load(this.ctx, resume);
        if (this.closed) return;
        this.own = { state, sent: this.applicableNow(state), upTo: resume };
        this.lastRevision = resume;
        this.send({ kind: 'resumed', revision: resume, items: [], deleted: [] });
        this.watchFrom(resume + 1);
        return;
      } catch {
        // compacted between the check and the read: fall through to a snapshot
      }
    }
    await this.snapshot();
  }

  /** Ends the subscription when its call is aborted, or (requireLeader) when the member loses its leader. */
  private guard(): void {
    const stops: (() => void)[] = [];
    if (this.ctx.requireLeader) {
      stops.push(
        this.store.port.member.onLeaderChange((leader) => {
          if (leader === 0n) this.end(etcdError('no-leader'));
        }),
      );
    }
    const signal = this.ctx.signal;
    if (signal) {
      const onAbort = (): void => this.end(etcdError('canceled'));
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        stops.push(() => signal.removeEventListener('abort', onAbort));
      }
    }
    this.stopGuards = () => stops.forEach((stop) => stop());
  }

  private end(err: Error): void {
    if (this.closed) return;
    this.close();
    this.onEnd(err);
  }

  /** A snapshot from the feed (shared by its view) and then the feed's changes; on its own if the feed ended. */
  private async snapshot(): Promise<void> {
    const feed = this.feed;
    if (feed && !feed.closed) {
      const event = feed.snapshotFor(this);
      this.own = undefined;
      this.lastRevision = event.revision;
      this.send(event);
      this.attach();
      return;
    }
    const state = new AppState(this.store, this.params.namespace, this.params.app);
    const revision = await state.load(this.ctx, 0);
    if (this.closed) return;
    const sent = this.applicableNow(state);
    this.own = { state, sent, upTo: revision };
    this.lastRevision = revision;
    this.send({ kind: 'snapshot', revision, items: [...sent.values()], deleted: [] });
    this.watchFrom(revision + 1);
  }

  private attach(): void {
    if (this.closed || !this.feed) return;
    this.attached = true;
    this.feed.attach(this);
  }

  /** What applies to this subscriber in `state`, by item name, sorted. */
  private applicableNow(state: AppState): Map<string, AppliedItem> {
    const sent = new Map<string, AppliedItem>();
    for (const name of [...state.items.keys()].sort()) {
      const a = applicableOf(name, state.items.get(name), this.viewer);
      if (a) sent.set(name, a);
    }
    return sent;
  }

  // ---- served by the feed ------------------------------------------------------------------------------------

  deliver(revision: number, event: ConfigWatchEvent | undefined): boolean {
    if (this.closed) return false;
    if (event) {
      if (this.params.ready && !this.params.ready()) {
        // Full: leave the feed and catch up on its own watch from the last revision it got.
        this.attached = false;
        this.catchUp().catch((err: unknown) => this.end(err as Error));
        return false;
      }
      this.send(event);
    }
    this.lastRevision = revision;
    return true;
  }

  feedLost(err?: Error): void {
    this.attached = false;
    if (this.closed) return;
    if (err) {
      this.end(err);
      return;
    }
    this.snapshot().catch((e: unknown) => this.end(e as Error));
  }

  /** Rebuilds the state as of lastRevision and watches from the next one (a snapshot if it was compacted). */
  private async catchUp(): Promise<void> {
    const from = this.lastRevision;
    const state = new AppState(this.store, this.params.namespace, this.params.app);
    try {
      await state.load(this.ctx, from);
    } catch {
      // Compacted meanwhile: a fresh snapshot (from the feed).
      await this.snapshot();
      return;
    }
    if (this.closed) return;
    this.own = { state, sent: this.applicableNow(state), upTo: from };
    this.watchFrom(from + 1);
  }

  // ---- catching up on its own --------------------------------------------------------------------------------

  private watchFrom(startRevision: number): void {
    if (this.closed) return;
    const { key, rangeEnd } = subscriptionRange(this.params.namespace, this.params.app);
    const own = this.own;
    if (!own) return;
    own.watch = this.store.watch(
      this.ctx,
      { key, rangeEnd, startRevision },
      (res) => this.onWatch(res),
      // Ended without us: the subscriber's call was cancelled or its deadline passed, or the member lost
      // its leader under requireLeader.
      (err) => this.end(err),
    );
  }

  /**
   * Takes a response whole, or refuses it (false) while the transport is full (`params.ready`): a refused
   * response is kept by the store and offered again, so this subscription resumes exactly where it parked
   * (or, compacted meanwhile, gets the compaction and re-snapshots). One response's events may go past the
   * transport's bound; never more.
   */
  private onWatch(res: WatchResponse): boolean {
    const own = this.own;
    if (this.closed || !own) return true;
    if (this.params.ready && !this.params.ready()) return false;
    if (res.compactRevision !== undefined) {
      // Fell behind past compaction while catching up (the port's watch ended): start over from a snapshot.
      this.own = undefined;
      this.snapshot().catch((err: unknown) => this.end(err as Error));
      return true;
    }
    // Events are whole revisions in order; handle one revision at a time.
    let i = 0;
    while (i < res.events.length) {
      const revision = res.events[i].kv.modRevision;
      const touched = new Set<string>();
      for (; i < res.events.length && res.events[i].kv.modRevision === revision; i++) {
        const event = res.events[i];
        const name = own.state.applyKv(keyOf(event.kv), event.type === 'put' ? event.kv : undefined);
        if (name) touched.add(name);
      }
      this.emit(own, revision, touched);
      own.upTo = revision;
    }
    this.lastRevision = Math.max(this.lastRevision, res.revision);
    // Not from inside the store's delivery to this watch, which rejoining cancels.
    if (res.events.length > 0) queueMicrotask(() => this.rejoin(own));
    return true;
  }

  private emit(own: Own, revision: number, touched: Set<string>): void {
    const items: AppliedItem[] = [];
    const deleted: string[] = [];
    for (const name of [...touched].sort()) {
      const a = applicableOf(name, own.state.items.get(name), this.viewer);
      const before = own.sent.get(name);
      if (!a) {
        if (before) deleted.push(name);
        own.sent.delete(name);
        own.state.prune(name);
        continue;
      }
      if (sameRelease(a, before)) continue;
      items.push(a);
      own.sent.set(name, a);
    }
    this.lastRevision = revision;
    if (items.length > 0 || deleted.length > 0) this.send({ kind: 'change', revision, items, deleted });
  }

  /**
   * Caught up (it has every change up to the feed's revision): back to the shared feed. The feed skips the
   * revisions this subscription already has, and its state from there on is the subscriber's.
   */
  private rejoin(own: Own): void {
    const feed = this.feed;
    if (this.closed || this.own !== own || !feed || feed.closed || own.upTo < feed.revision) return;
    own.watch?.cancel();
    this.own = undefined;
    this.lastRevision = own.upTo;
    this.attach();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopGuards?.();
    this.own?.watch?.cancel();
    this.own = undefined;
    if (this.feed) {
      if (this.attached) this.feed.detach(this);
      this.feeds.release(this.feed);
      this.feed = undefined;
    }
  }
}
