// A registry watch of one service (or a whole namespace): an initial snapshot at revision R, then every
// change after R as added/updated/removed events, each carrying its revision. Started from a revision it
// replays the changes since then; if that revision was compacted it sends a fresh snapshot instead of
// failing (the subscriber replaces its list). It watches through the member's EtcdPort, so it lives across
// a snapshot install (the port's watcher catches up, or reports a compaction: a fresh snapshot then).
//
// Events leave in revision order: each store response is turned into events (the lease lookups of
// last_heartbeat are async) one after another on a queue. When the queue is long, or the consumer says it
// is full (its RegistryWatchFlow: an SSE stream or gRPC call whose socket buffer passed its bound), the watch
// refuses the store's response, which keeps it and offers it again (the port's watcher is parked, as etcd's
// victims): nothing is lost, memory stays bounded whatever the reader does. Events already taken wait on
// the queue for the consumer's room, so the consumer never gets more than one event past its bound.
import type { CallContext, EtcdPort, Logger, PortWatch, WatchResponse } from '@cairn/server';
import { prefixRange } from './kv';
import type { RegistryInstance, RegistryKeys, RegistryWatchEvent } from './model';
import { type InstanceViews, tryParse } from './records';

export interface RegistryWatchOptions {
  namespace: string;
  /** Empty/undefined: the whole namespace. */
  service?: string;
  /** First revision of changes to send (0/undefined: snapshot now, then changes). */
  startRevision?: number;
}

export type RegistryWatchSink = (event: RegistryWatchEvent) => void;

/** A consumer that can be full (a stream with a bounded send buffer). Without one the sink takes everything. */
export interface RegistryWatchFlow {
  /** False while the consumer is full: the watch takes no more store responses and holds its events. */
  readonly writable: boolean;
  /** The consumer is gone (the watch then ends). */
  readonly closed: boolean;
  /** Resolves when the consumer has room again (or is gone). */
  drained(): Promise<void>;
}

/** What a watch needs of the registry (not the Registry itself: registry.ts builds watches). */
export interface RegistryWatchSource {
  readonly port: EtcdPort;
  readonly keys: RegistryKeys;
  readonly views: InstanceViews;
  readonly logger?: Logger;
}

/** Store responses queued for conversion above which the watch refuses more (they wait in the store). */
const MAX_QUEUED = 64;

export class RegistryWatch {
  private watcher?: PortWatch;
  /** Bumped by every port watch started or ended, so a sink of an earlier one is ignored. */
  private generation = 0;
  private closed = false;
  private readonly prefix: string;
  /** The watched range: a service's prefix, or a namespace's instance records (not its naming entries). */
  private readonly range: { key: Buffer; rangeEnd: Buffer };
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(
    private readonly source: RegistryWatchSource,
    /** The context of the request that opened the watch: its reads and its port watch run under it. */
    private readonly ctx: CallContext,
    private readonly options: RegistryWatchOptions,
    private readonly sink: RegistryWatchSink,
    private readonly onClose: () => void,
    private readonly flow?: RegistryWatchFlow,
  ) {
    this.prefix = options.service
      ? source.keys.servicePrefix(options.namespace, options.service)
      : source.keys.namespacePrefix(options.namespace);
    this.range = options.service ? prefixRange(this.prefix) : source.keys.namespaceRecords(options.namespace);
  }

  start(): void {
    const start = this.options.startRevision ?? 0;
    if (start > 0) this.subscribe(start);
    else this.enqueue(() => this.snapshot());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelPortWatch();
    this.onClose();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private cancelPortWatch(): void {
    this.generation++;
    this.watcher?.cancel();
    this.watcher = undefined;
  }

  /** Runs `step` after every step queued before it; a failing step ends the watch. */
  private enqueue(step: () => Promise<void>): void {
    this.queued++;
    this.queue = this.queue
      .then(() => (this.closed ? undefined : step()))
      .catch((err: unknown) => {
        this.source.logger?.warn({ err, prefix: this.prefix }, 'registry: watch failed; closing it');
        this.close();
      })
      .finally(() => {
        this.queued--;
      });
  }

  private async snapshot(): Promise<void> {
    const result = await this.source.port.range(this.ctx, this.range);
    if (this.closed) return;
    const records = [];
    for (const kv of result.kvs) {
      const record = tryParse(kv);
      if (record && this.source.keys.parse(kv.key.toString())) {
        records.push({ record, modRevision: kv.modRevision });
      }
    }
    const instances = await this.source.views.views(records);
    await this.room();
    if (this.closed) return;
    this.sink({ type: 'snapshot', revision: String(result.revision), instances });
    this.subscribe(result.revision + 1);
  }

  private subscribe(from: number): void {
    if (this.closed) return;
    this.cancelPortWatch();
    const generation = this.generation;
    this.watcher = this.source.port.watch(
      this.ctx,
      { ...this.range, startRevision: from, prevKv: true },
      (response) => this.receive(generation, response),
      (error) => {
        if (generation !== this.generation) return;
        this.source.logger?.warn({ err: error, prefix: this.prefix }, 'registry: watch ended');
        this.close();
      },
    );
  }

  private receive(generation: number, response: WatchResponse): boolean {
    if (this.closed || generation !== this.generation) return true;
    if (response.compactRevision !== undefined) {
      // The revision to resume from is gone (the port ended its watcher): start over with a snapshot.
      this.cancelPortWatch();
      this.enqueue(() => this.snapshot());
      return true;
    }
    // Parked: kept by the store and offered again (on its victim retry) until there is room.
    if (this.queued >= MAX_QUEUED || this.flow?.writable === false) return false;
    this.enqueue(() => this.deliver(response));
    return true;
  }

  private async deliver(response: WatchResponse): Promise<void> {
    const events = await Promise.all(response.events.map((event) => this.toEvent(event)));
    for (const event of events) {
      if (!event) continue;
      await this.room();
      if (this.closed) return;
      this.sink(event);
    }
  }

  /** Waits while the consumer is full (events taken from the store wait here, in order). */
  private async room(): Promise<void> {
    const flow = this.flow;
    if (!flow) return;
    while (!flow.writable && !this.closed) {
      if (flow.closed) {
        this.close();
        return;
      }
      await flow.drained();
    }
  }

  private async toEvent(event: WatchResponse['events'][number]): Promise<RegistryWatchEvent | undefined> {
    const parts = this.source.keys.parse(event.kv.key.toString());
    if (!parts) return undefined;
    const revision = event.kv.modRevision;
    if (event.type === 'put') {
      const record = tryParse(event.kv);
      if (!record) return undefined;
      return {
        type: event.kv.createRevision === revision ? 'added' : 'updated',
        revision: String(revision),
        instance: await this.source.views.view(record, revision),
      };
    }
    const previous = event.prevKv ? tryParse(event.prevKv) : undefined;
    const instance: RegistryInstance = previous
      ? { ...previous, last_heartbeat: '', mod_revision: String(revision) }
      : // Without the previous record only the key's parts are known.
        ({ ...parts, mod_revision: String(revision) } as RegistryInstance);
    return { type: 'removed', revision: String(revision), instance };
  }
}
