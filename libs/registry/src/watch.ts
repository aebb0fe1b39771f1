// A registry watch of one service (or a whole namespace): an initial snapshot at revision R, then every
// change after R as added/updated/removed events, each carrying its revision. Started from a revision it
// replays the changes since then; if that revision was compacted it sends a fresh snapshot instead of
// failing (the subscriber replaces its list).
import type { CairnNode } from '@cairn/server';
import { prefixEnd } from './kv';
import type { RegistryInstance, RegistryWatchEvent } from './model';
import type { Registry } from './registry';

export interface RegistryWatchOptions {
  namespace: string;
  /** Empty/undefined: the whole namespace. */
  service?: string;
  /** First revision of changes to send (0/undefined: snapshot now, then changes). */
  startRevision?: number;
}

export type RegistryWatchSink = (event: RegistryWatchEvent) => void;

type StoreSink = Parameters<CairnNode['watchable']['watch']>[1];
type StoreResponse = Parameters<StoreSink>[0];

export class RegistryWatch {
  private storeId?: number;
  private closed = false;
  private readonly prefix: string;

  constructor(
    private readonly registry: Registry,
    private readonly options: RegistryWatchOptions,
    private readonly sink: RegistryWatchSink,
    private readonly onClose: () => void,
  ) {
    this.prefix = options.service
      ? registry.keys.servicePrefix(options.namespace, options.service)
      : registry.keys.namespacePrefix(options.namespace);
  }

  start(): void {
    const start = this.options.startRevision ?? 0;
    if (start > 0) this.subscribe(start);
    else void this.snapshot();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelStoreWatch();
    this.onClose();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private cancelStoreWatch(): void {
    if (this.storeId !== undefined) {
      try {
        this.registry.node.watchable.cancel(this.storeId);
      } catch {
        // store closed
      }
      this.storeId = undefined;
    }
  }

  private async snapshot(): Promise<void> {
    try {
      const { kvs, revision } = await this.registry.kv.prefix(this.prefix);
      if (this.closed) return;
      const instances: RegistryInstance[] = [];
      for (const kv of kvs) {
        const record = this.registry.tryParse(kv);
        if (record && this.registry.keys.parse(kv.key.toString())) {
          instances.push(this.registry.view(record, Number(kv.mod_revision)));
        }
      }
      this.sink({ type: 'snapshot', revision: String(revision), instances });
      this.subscribe(revision + 1);
    } catch (err) {
      this.registry.options.logger?.warn({ err, prefix: this.prefix }, 'registry: watch snapshot failed');
      this.close();
    }
  }

  private subscribe(from: number): void {
    if (this.closed) return;
    this.storeId = this.registry.node.watchable.watch(
      {
        key: Buffer.from(this.prefix),
        rangeEnd: prefixEnd(this.prefix),
        startRevision: from,
        prevKv: true,
      },
      (response) => this.deliver(response),
    );
  }

  private deliver(response: StoreResponse): boolean {
    if (this.closed) return true;
    if (response.compactRevision !== undefined) {
      // The revision to resume from is gone: start over with a snapshot.
      this.cancelStoreWatch();
      void this.snapshot();
      return true;
    }
    for (const event of response.events) {
      const key = event.kv.key.toString();
      const parts = this.registry.keys.parse(key);
      if (!parts) continue;
      const revision = event.kv.modRevision;
      if (event.type === 'put') {
        const record = this.registry.tryParse({
          ...event.kv,
          create_revision: event.kv.createRevision,
          mod_revision: revision,
          version: event.kv.version,
          lease: event.kv.lease.toString(),
        });
        if (!record) continue;
        this.sink({
          type: event.kv.createRevision === revision ? 'added' : 'updated',
          revision: String(revision),
          instance: this.registry.view(record, revision),
        });
      } else {
        const previous = event.prevKv
          ? this.registry.tryParse({
              ...event.prevKv,
              create_revision: event.prevKv.createRevision,
              mod_revision: event.prevKv.modRevision,
              version: event.prevKv.version,
              lease: event.prevKv.lease.toString(),
            })
          : undefined;
        const instance: RegistryInstance = previous
          ? { ...previous, last_heartbeat: '', mod_revision: String(revision) }
          : ({ ...parts, mod_revision: String(revision) } as RegistryInstance);
        this.sink({ type: 'removed', revision: String(revision), instance });
      }
    }
    return true;
  }
}
