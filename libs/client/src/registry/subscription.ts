// A live, ordered view of one service's instances: a range of its prefix at revision R, then a watch from
// R + 1 that resumes from the last revision it saw after any reconnect (so every change is applied once,
// in order) and re-lists when that revision was compacted. Push-empty protection keeps the last good
// list for a while when the view would suddenly become empty.
import { EventEmitter } from 'node:events';
import type { EtcdClient } from '../etcd/client';
import type { WatchBatch } from '../etcd/types';
import type { Watcher } from '../etcd/watch';
import { type RegistryInstance, isHealthyInstance } from './types';

export interface SubscribeOptions {
  namespace?: string;
  /** Only instances that are UP and not critical (default false). */
  healthyOnly?: boolean;
  /**
   * Push-empty protection: when the view would become empty while it had instances, keep serving the
   * last non-empty list for this long (ms); if instances come back meanwhile nobody sees the hole.
   * 0 disables (default 3000).
   */
  emptyProtectionMs?: number;
}

export interface InstanceChange {
  type: 'added' | 'updated' | 'removed';
  instance: RegistryInstance;
  /** Revision of the change. */
  revision: bigint;
}

export interface ServiceView {
  /** Revision the view is complete up to. */
  revision: bigint;
  /** Sorted by instance id. */
  instances: RegistryInstance[];
}

/**
 * Events:
 * - `ready` (view) — the first list is in;
 * - `change` (change: InstanceChange, view) — one applied change (every change, whatever the filter);
 * - `update` (view) — the published list changed (after filtering and empty protection);
 * - `relisted` (view) — the watch's revision was compacted and the list was read again;
 * - `protected` (lastGood) — the list went empty and the last good one is kept for now;
 * - `error` (err) — a re-list failed (it retries).
 */
export class ServiceSubscription extends EventEmitter {
  /** Every instance, by id (no filter). */
  private readonly all = new Map<string, RegistryInstance>();
  private publishPending = false;
  /**
   * The instances the filter lets through, sorted by id, kept up to date change by change (binary-search
   * insert/delete) with their ids alongside: a publish copies it instead of rebuilding it from `all`, which
   * at 100,000 instances cost a Map lookup per instance on every turn that brought a change.
   */
  private visible: RegistryInstance[] = [];
  private visibleIds: string[] = [];
  /** `visible` changed since the last publish. */
  private dirty = false;
  private watcher?: Watcher;
  private closed = false;
  private published: RegistryInstance[] = [];
  private protectUntil = 0;
  private protectTimer?: NodeJS.Timeout;
  private relistTimer?: NodeJS.Timeout;
  /** Revision the view is complete up to. */
  revision = 0n;
  private readonly readyPromise: Promise<ServiceView>;
  private resolveReady!: (view: ServiceView) => void;
  private readonly prefix: string;

  constructor(
    private readonly client: EtcdClient,
    readonly service: string,
    private readonly options: SubscribeOptions & { root: string; namespace: string },
  ) {
    super();
    this.prefix = `${options.root}${options.namespace}/${service}/`;
    this.readyPromise = new Promise((resolve) => (this.resolveReady = resolve));
    void this.list(false);
  }

  /** Resolves with the first view. */
  ready(): Promise<ServiceView> {
    return this.readyPromise;
  }

  /** The current (filtered, protected) list, sorted by id. */
  instances(): RegistryInstance[] {
    return this.published;
  }

  view(): ServiceView {
    return { revision: this.revision, instances: this.published };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.protectTimer);
    clearTimeout(this.relistTimer);
    this.watcher?.close();
    this.emit('closed');
  }

  /** Views as an async iterator: the current one first, then one per published update. */
  async *[Symbol.asyncIterator](): AsyncGenerator<ServiceView> {
    const queue: ServiceView[] = [];
    let wake: (() => void) | undefined;
    const onUpdate = (view: ServiceView) => {
      queue.push(view);
      wake?.();
    };
    const onClosed = () => wake?.();
    this.on('update', onUpdate);
    this.on('closed', onClosed);
    try {
      queue.push(await this.ready());
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (this.closed) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.off('update', onUpdate);
      this.off('closed', onClosed);
    }
  }

  private async list(relist: boolean, attempt = 0): Promise<void> {
    if (this.closed) return;
    try {
      const result = await this.client.range(this.prefix, { prefix: true });
      if (this.closed) return;
      this.all.clear();
      for (const kv of result.kvs) {
        const instance = decode(kv.value, kv.modRevision);
        if (instance) this.all.set(instance.id, instance);
      }
      this.visible = [];
      this.visibleIds = [];
      for (const id of [...this.all.keys()].sort()) this.show(id, this.all.get(id)!);
      this.dirty = true;
      this.revision = result.revision;
      this.watch(result.revision + 1n);
      this.publish();
      if (relist) this.emit('relisted', this.view());
      else this.resolveReady(this.view());
    } catch (err) {
      if (this.listenerCount('error') > 0) this.emit('error', err);
      this.relistTimer = setTimeout(
        () => void this.list(relist, attempt + 1),
        Math.min(2000, 100 * 2 ** attempt),
      );
    }
  }

  private watch(from: bigint): void {
    this.watcher?.close();
    const watcher = this.client.watch(this.prefix, { prefix: true, startRevision: from, prevKv: true });
    this.watcher = watcher;
    watcher.on('events', (batch: WatchBatch) => this.apply(batch));
    watcher.on('progress', (revision: bigint) => {
      if (revision > this.revision) this.revision = revision;
    });
    watcher.on('compacted', () => {
      if (this.watcher === watcher) void this.list(true);
    });
  }

  private apply(batch: WatchBatch): void {
    if (this.closed) return;
    for (const event of batch.events) {
      const revision = event.kv.modRevision;
      // Already in the view (never expected; kept for safety). One revision may hold many events (a txn, or
      // a session's lease revoke deleting every instance of the process at once): equal is not older.
      if (revision < this.revision) continue;
      const id = event.kv.key.toString().slice(this.prefix.length);
      if (event.type === 'put') {
        const instance = decode(event.kv.value, revision);
        if (!instance) continue;
        const type = this.all.has(id) ? 'updated' : 'added';
        this.all.set(id, instance);
        this.show(id, instance);
        this.revision = revision;
        this.emit('change', { type, instance, revision } satisfies InstanceChange, this.view());
      } else {
        const previous =
          this.all.get(id) ?? (event.prevKv ? decode(event.prevKv.value, revision) : undefined);
        if (this.all.delete(id)) this.hide(id);
        this.revision = revision;
        if (previous)
          this.emit(
            'change',
            { type: 'removed', instance: previous, revision } satisfies InstanceChange,
            this.view(),
          );
      }
    }
    if (batch.revision > this.revision) this.revision = batch.revision;
    this.schedulePublish();
  }

  /**
   * Publishing rebuilds and compares the whole list (O(n)); watch responses that arrive in the same
   * event-loop turn share one publish, so a burst of registrations does not cost O(n) per response.
   */
  private schedulePublish(): void {
    if (this.publishPending) return;
    this.publishPending = true;
    setImmediate(() => {
      this.publishPending = false;
      if (!this.closed) this.publish();
    });
  }

  /** Puts the instance's new version in `visible` if the filter lets it through, else takes it out. */
  private show(id: string, instance: RegistryInstance): void {
    if (this.options.healthyOnly && !isHealthyInstance(instance)) {
      this.hide(id);
      return;
    }
    const at = lowerBound(this.visibleIds, id);
    if (this.visibleIds[at] === id) {
      this.visible[at] = instance;
    } else {
      this.visibleIds.splice(at, 0, id);
      this.visible.splice(at, 0, instance);
    }
    this.dirty = true;
  }

  private hide(id: string): void {
    const at = lowerBound(this.visibleIds, id);
    if (this.visibleIds[at] !== id) return;
    this.visibleIds.splice(at, 1);
    this.visible.splice(at, 1);
    this.dirty = true;
  }

  private publish(): void {
    // Nothing changed since the last publish (an ended protection leaves `dirty` set: it did not publish).
    if (!this.dirty) return;
    const list = this.visible;
    const protectMs = this.options.emptyProtectionMs ?? 3000;
    if (list.length === 0 && this.published.length > 0 && protectMs > 0) {
      const now = Date.now();
      if (this.protectUntil === 0) {
        this.protectUntil = now + protectMs;
        this.emit('protected', this.published);
        this.protectTimer = setTimeout(() => this.publish(), protectMs + 1);
        return;
      }
      if (now < this.protectUntil) return;
    }
    if (list.length > 0 && this.protectUntil !== 0) {
      this.protectUntil = 0;
      clearTimeout(this.protectTimer);
    }
    if (list.length === 0) {
      this.protectUntil = 0;
      clearTimeout(this.protectTimer);
    }
    this.dirty = false;
    if (sameList(list, this.published)) return;
    // A copy: `visible` keeps changing, and a published list never changes under its holder.
    this.published = list.slice();
    this.emit('update', this.view());
  }
}

function lowerBound(sorted: string[], id: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sameList(a: RegistryInstance[], b: RegistryInstance[]): boolean {
  return (
    a.length === b.length && a.every((x, i) => x.id === b[i]!.id && x.mod_revision === b[i]!.mod_revision)
  );
}

function decode(value: Buffer, modRevision: bigint): RegistryInstance | undefined {
  try {
    const record = JSON.parse(value.toString()) as RegistryInstance;
    if (typeof record !== 'object' || record === null || typeof record.id !== 'string') return undefined;
    return { ...record, mod_revision: modRevision.toString() };
  } catch {
    return undefined;
  }
}
