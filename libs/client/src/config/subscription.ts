// config.subscribe(ns, app, {labels}): the current config of an app as it applies to this instance,
// kept current over a gRPC server stream (cairn.config.v1.Config/Watch) that resumes from the last
// applied revision after a reconnect (each later publish arrives once, in order), a `change` event per
// applied item change, a local cache file for starts while the server is unreachable, and reports of
// the applied versions to the server (its listeners API).
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { ConfigWatchEvent__Output } from '@cairn/api';
import { type EndpointPool, callWithFailover, sleep } from '../etcd/endpoints';
import { CacheWriter, cacheFilePath, readCache, toCache } from './cache';
import type { AppliedConfig, ConfigChange, ConfigFormat, ConfigSubscribeOptions } from './types';

export const CONFIG_SERVICE = 'cairn.config.v1.Config';

type WatchClient = grpc.Client & {
  Watch(request: object, metadata?: grpc.Metadata): grpc.ClientReadableStream<ConfigWatchEvent__Output>;
};

function fromWire(item: ConfigWatchEvent__Output['items'][number]): AppliedConfig {
  let value: unknown;
  try {
    value = JSON.parse(item.json) as unknown;
  } catch {
    value = null;
  }
  return {
    name: item.name,
    format: item.format as ConfigFormat,
    version: Number(item.version),
    content: item.content,
    value,
    gray: item.gray,
    revision: Number(item.revision),
  };
}

export interface ConfigSubscriptionEvents {
  change: [ConfigChange];
  /** The stream is (re)established and in sync with the server. */
  synced: [number];
  /** The stream broke; it reconnects on its own. */
  disconnected: [Error];
  error: [Error];
}

export class ConfigSubscription extends EventEmitter<ConfigSubscriptionEvents> {
  readonly labels: Record<string, string>;
  readonly subscriberId: string;
  private readonly items = new Map<string, AppliedConfig>();
  private revisionSeen = 0;
  private call: grpc.ClientReadableStream<ConfigWatchEvent__Output> | undefined;
  private closed = false;
  private loop: Promise<void> | undefined;
  private readonly cache: CacheWriter | undefined;
  private readonly cacheFile: string | undefined;
  private reporting: Promise<void> | undefined;
  private reportAgain = false;
  private firstSync: { promise: Promise<void>; resolve: () => void };
  /** Where the current state came from: the server, or the cache file (server not reached yet). */
  source: 'server' | 'cache' | 'none' = 'none';

  constructor(
    private readonly pool: EndpointPool,
    readonly namespace: string,
    readonly app: string,
    private readonly options: ConfigSubscribeOptions,
  ) {
    super();
    this.labels = { ...(options.labels ?? {}) };
    this.subscriberId =
      options.subscriberId ??
      `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`.replace(/[^A-Za-z0-9._:@-]/g, '-');
    if (options.cacheDir !== false) {
      const dir = options.cacheDir ?? join(tmpdir(), 'cairn-config-cache');
      this.cacheFile = cacheFilePath(dir, namespace, app, this.labels);
      this.cache = new CacheWriter(this.cacheFile);
    }
    let resolve: () => void = () => undefined;
    const promise = new Promise<void>((r) => (resolve = r));
    this.firstSync = { promise, resolve };
  }

  /** The KV revision this subscriber's config is current as of. */
  get revision(): number {
    return this.revisionSeen;
  }

  /** Item name → parsed value. */
  get config(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, item] of this.items) out[name] = item.value;
    return out;
  }

  get(name: string): unknown {
    return this.items.get(name)?.value;
  }

  item(name: string): AppliedConfig | undefined {
    return this.items.get(name);
  }

  /** Item name → applied release number. */
  versions(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, item] of this.items) out[name] = item.version;
    return out;
  }

  /** Starts the stream; resolves once in sync with the server, or with the cache after startTimeoutMs. */
  async start(): Promise<void> {
    const cached = this.cacheFile ? readCache(this.cacheFile) : undefined;
    if (cached) {
      for (const item of cached.items) this.items.set(item.name, item);
      this.revisionSeen = cached.revision;
      this.source = 'cache';
    }
    this.loop = this.run();
    const timeoutMs = this.options.startTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.firstSync.promise.then(() => 'synced' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout' && !cached) {
      this.close();
      throw new Error(
        `config ${this.namespace}/${this.app}: no server reachable at ${this.pool.addresses.join(',')} within ${timeoutMs} ms and no cache file`,
      );
    }
  }

  private async run(): Promise<void> {
    let backoff = this.options.minBackoffMs ?? 100;
    const maxBackoff = this.options.maxBackoffMs ?? 2000;
    while (!this.closed) {
      const address = this.pool.current();
      const ready = await this.pool.waitReady(address).catch(() => false);
      if (this.closed) return;
      if (!ready) {
        this.pool.failover(address);
        await sleep(backoff);
        backoff = Math.min(maxBackoff, backoff * 2);
        continue;
      }
      const err = await this.stream(address);
      if (this.closed) return;
      this.emit('disconnected', err);
      this.pool.failover(address);
      await sleep(backoff);
      backoff = Math.min(maxBackoff, backoff * 2);
      if (this.source === 'server') backoff = this.options.minBackoffMs ?? 100;
    }
  }

  /** One stream; resolves with why it ended. */
  private stream(address: string): Promise<Error> {
    return new Promise<Error>((resolve) => {
      const client = this.pool.client<WatchClient>(CONFIG_SERVICE, address);
      const call = client.Watch({
        namespace: this.namespace,
        app: this.app,
        labels: this.labels,
        subscriber_id: this.subscriberId,
        revision: String(this.revisionSeen),
        host: this.options.host ?? hostname(),
      });
      this.call = call;
      let done = false;
      const finish = (err: Error): void => {
        if (done) return;
        done = true;
        if (this.call === call) this.call = undefined;
        resolve(err);
      };
      call.on('data', (event: ConfigWatchEvent__Output) => {
        try {
          this.apply(event);
        } catch (err) {
          this.emit('error', err as Error);
        }
      });
      call.on('error', (err: Error) => {
        const code = (err as { code?: number }).code;
        // A permanent error (bad namespace, ...) would loop forever: surface it.
        if (code === grpc.status.INVALID_ARGUMENT || code === grpc.status.NOT_FOUND) this.emit('error', err);
        finish(err);
      });
      call.on('end', () => finish(new Error('stream ended')));
    });
  }

  private apply(event: ConfigWatchEvent__Output): void {
    const revision = Number(event.revision);
    const changes: ConfigChange[] = [];
    if (event.kind === 'snapshot') {
      const next = new Map(event.items.map((i) => [i.name, fromWire(i)] as const));
      for (const [name, item] of next) {
        const old = this.items.get(name);
        if (old && old.version === item.version && old.gray === item.gray && old.content === item.content)
          continue;
        changes.push(this.change(name, old, item, revision));
      }
      for (const [name, old] of this.items) {
        if (!next.has(name)) changes.push(this.change(name, old, undefined, revision));
      }
      this.items.clear();
      for (const [name, item] of next) this.items.set(name, item);
    } else if (event.kind === 'change') {
      for (const wire of event.items) {
        const item = fromWire(wire);
        const old = this.items.get(item.name);
        if (old && old.version === item.version && old.gray === item.gray) continue; // already applied
        this.items.set(item.name, item);
        changes.push(this.change(item.name, old, item, revision));
      }
      for (const name of event.deleted) {
        const old = this.items.get(name);
        if (!old) continue;
        this.items.delete(name);
        changes.push(this.change(name, old, undefined, revision));
      }
    }
    if (revision > this.revisionSeen || event.kind === 'snapshot') this.revisionSeen = revision;
    const wasSynced = this.source === 'server';
    this.source = 'server';
    if (changes.length > 0 || event.kind === 'snapshot') {
      this.cache?.save(
        toCache(this.namespace, this.app, this.labels, this.revisionSeen, this.items.values()),
      );
    }
    for (const change of changes) this.emit('change', change);
    if (!wasSynced || event.kind !== 'change') {
      this.firstSync.resolve();
      this.emit('synced', this.revisionSeen);
    }
    if (changes.length > 0 || event.kind !== 'change') this.report();
  }

  private change(
    name: string,
    old: AppliedConfig | undefined,
    item: AppliedConfig | undefined,
    revision: number,
  ): ConfigChange {
    return {
      name,
      oldValue: old?.value,
      newValue: item?.value,
      oldVersion: old?.version ?? 0,
      newVersion: item?.version ?? 0,
      gray: item?.gray ?? false,
      revision,
      item,
    };
  }

  /** Reports applied versions (coalesced: at most one report in flight, one more queued). */
  private report(): void {
    if (this.options.report === false || this.closed) return;
    if (this.reporting) {
      this.reportAgain = true;
      return;
    }
    this.reporting = (async () => {
      do {
        this.reportAgain = false;
        try {
          await callWithFailover(this.pool, CONFIG_SERVICE, 'Report', {
            subscriber_id: this.subscriberId,
            namespace: this.namespace,
            app: this.app,
            labels: this.labels,
            versions: this.versions(),
            host: this.options.host ?? hostname(),
          });
        } catch {
          // the next applied change reports again
        }
      } while (this.reportAgain && !this.closed);
      this.reporting = undefined;
    })();
  }

  /** Resolves when the last report and cache write finished (tests, clean shutdown). */
  async settle(): Promise<void> {
    while (this.reporting) await this.reporting;
    await this.cache?.flush();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.call?.cancel();
    this.call = undefined;
    this.firstSync.resolve();
  }

  /** close() and wait for the stream loop, the last report and the cache write. */
  async closeAndWait(): Promise<void> {
    this.close();
    await this.loop;
    await this.settle();
  }
}
