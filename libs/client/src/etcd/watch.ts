// One etcd watcher on its own Watch stream, resumed after a reconnect from the last revision it
// delivered (start_revision = last + 1), so a caller sees every change exactly once and in order. When
// the revision to resume from was compacted it emits 'compacted' and stops: the caller re-lists
// (range at the current revision) and starts a new watch after it.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { WatchRequest, WatchResponse__Output } from '@cairn/api';
import { isStaleTokenError } from './auth-session';
import type { EndpointPool } from './endpoints';
import { prefixEnd } from '@cairn/api';
import { type Bytes, type WatchBatch, type WatchEvent, fromWireKv, toBuffer } from './types';

export interface WatchOptions {
  rangeEnd?: Bytes;
  prefix?: boolean;
  /** First revision to deliver (0/undefined = changes after now). */
  startRevision?: bigint;
  prevKv?: boolean;
  /** Ask the server for progress notifications (keeps `lastRevision` moving on a quiet key). */
  progressNotify?: boolean;
  /** Reconnect back-off bounds, ms (defaults 100 .. 2000). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Events:
 * - `created` (revision: bigint) — the watcher is live on a stream (again, after a reconnect);
 * - `events` (batch: WatchBatch) — one revision's (or several whole revisions') changes, in order;
 * - `progress` (revision: bigint) — nothing changed up to `revision`;
 * - `disconnected` (error) — the stream broke; a reconnect is scheduled;
 * - `compacted` (compactRevision: bigint) — the resume revision was compacted; the watcher stopped;
 * - `error` (error) — the server canceled the watcher for another reason; it stopped;
 * - `closed`.
 */
export class Watcher extends EventEmitter {
  /** The last revision fully delivered (0n before the first `created`). */
  lastRevision = 0n;
  private stream?: grpc.ClientDuplexStream<WatchRequest, WatchResponse__Output>;
  private stopped = false;
  private failures = 0;
  private timer?: NodeJS.Timeout;
  private readonly key: Buffer;
  private readonly rangeEnd?: Buffer;
  private readonly firstStart: bigint;
  private readonly readyPromise: Promise<void>;
  private resolveReady!: () => void;

  constructor(
    private readonly pool: EndpointPool,
    key: Bytes,
    private readonly options: WatchOptions = {},
  ) {
    super();
    this.key = toBuffer(key);
    this.rangeEnd = options.prefix
      ? prefixEnd(key)
      : options.rangeEnd !== undefined
        ? toBuffer(options.rangeEnd)
        : undefined;
    this.firstStart = options.startRevision ?? 0n;
    this.readyPromise = new Promise((resolve) => (this.resolveReady = resolve));
    this.open();
  }

  /** Resolves when the watcher was first created on the server. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  close(): void {
    if (this.stopped) return;
    this.stop();
    this.emit('closed');
  }

  /** Batches as an async iterator (ends when the watcher stops; throws on `compacted` / `error`). */
  async *[Symbol.asyncIterator](): AsyncGenerator<WatchBatch> {
    const queue: WatchBatch[] = [];
    let wake: (() => void) | undefined;
    let failure: unknown;
    let done = false;
    const onEvents = (batch: WatchBatch) => {
      queue.push(batch);
      wake?.();
    };
    const onEnd = (err?: unknown) => {
      done = true;
      failure = err;
      wake?.();
    };
    const onCompacted = (rev: bigint) => onEnd(new WatchCompactedError(rev));
    this.on('events', onEvents);
    this.on('compacted', onCompacted);
    this.on('error', onEnd);
    this.on('closed', onEnd);
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (done) {
          if (failure !== undefined) throw failure;
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.off('events', onEvents);
      this.off('compacted', onCompacted);
      this.off('error', onEnd);
      this.off('closed', onEnd);
    }
  }

  private stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    const stream = this.stream;
    this.stream = undefined;
    if (stream) {
      stream.removeAllListeners('data');
      stream.on('error', () => undefined);
      stream.cancel();
    }
  }

  private startRevision(): bigint {
    return this.lastRevision > 0n ? this.lastRevision + 1n : this.firstStart;
  }

  private open(): void {
    if (this.stopped || this.pool.isClosed) return;
    const address = this.pool.current();
    void this.pool.auth
      .ready()
      .then(() => this.pool.waitReady(address))
      .then(
        (ready) =>
          ready ? this.openOn(address) : this.retry(address, new Error(`cannot connect to ${address}`)),
        (err: unknown) => this.retry(address, err),
      );
  }

  private openOn(address: string): void {
    if (this.stopped || this.pool.isClosed) return;
    let stream: grpc.ClientDuplexStream<WatchRequest, WatchResponse__Output>;
    try {
      const client = this.pool.client<grpc.Client & { Watch(metadata: grpc.Metadata): typeof stream }>(
        'etcdserverpb.Watch',
        address,
      );
      stream = client.Watch(new grpc.Metadata({ waitForReady: true }));
    } catch (err) {
      this.retry(address, err);
      return;
    }
    this.stream = stream;
    const token = this.pool.auth.current;
    const start = this.startRevision();
    let created = false;
    stream.on('data', (response: WatchResponse__Output) => {
      if (this.stream !== stream) return;
      const revision = BigInt(response.header?.revision ?? '0');
      if (response.created && !created) {
        created = true;
        if (response.canceled) return this.onCanceled(response);
        this.failures = 0;
        if (this.lastRevision === 0n) this.lastRevision = start > 0n ? start - 1n : revision;
        this.resolveReady();
        this.emit('created', this.lastRevision);
        return;
      }
      if (response.canceled) return this.onCanceled(response);
      if (response.events.length === 0) {
        if (revision > this.lastRevision) this.lastRevision = revision;
        this.emit('progress', revision);
        return;
      }
      const events: WatchEvent[] = response.events.map((event) => ({
        type: Number(event.type) === 1 ? 'delete' : 'put',
        kv: fromWireKv(event.kv!),
        ...(event.prev_kv ? { prevKv: fromWireKv(event.prev_kv) } : {}),
      }));
      // Resumed streams never repeat a delivered revision (start = last + 1); guard anyway.
      const fresh = events.filter((e) => e.kv.modRevision > this.lastRevision);
      const batchRevision = revision > 0n ? revision : fresh[fresh.length - 1]!.kv.modRevision;
      this.lastRevision = batchRevision > this.lastRevision ? batchRevision : this.lastRevision;
      if (fresh.length > 0) this.emit('events', { revision: this.lastRevision, events: fresh });
    });
    const broken = (err: unknown) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.emit('disconnected', err);
      // A token that stopped counting is renewed before the retry opens the next stream (open() waits).
      if (isStaleTokenError(err)) void this.pool.auth.recover(err, token).catch(() => undefined);
      this.retry(address, err);
    };
    stream.on('error', broken);
    stream.on('end', () => broken(new Error('watch stream ended')));
    stream.write({
      create_request: {
        key: this.key,
        range_end: this.rangeEnd ?? Buffer.alloc(0),
        start_revision: start.toString(),
        prev_kv: this.options.prevKv ?? false,
        progress_notify: this.options.progressNotify ?? false,
      },
    });
  }

  private onCanceled(response: WatchResponse__Output): void {
    const compact = BigInt(response.compact_revision || '0');
    this.stop();
    if (compact > 0n || /compacted/.test(response.cancel_reason)) {
      this.emit('compacted', compact);
    } else if (this.listenerCount('error') > 0) {
      this.emit('error', new Error(`watch canceled: ${response.cancel_reason || 'by the server'}`));
    } else {
      this.emit('closed');
    }
  }

  private retry(address: string, _err: unknown): void {
    if (this.stopped) return;
    this.pool.failover(address);
    const min = this.options.minBackoffMs ?? 100;
    const max = this.options.maxBackoffMs ?? 2000;
    const delay = Math.min(max, min * 2 ** Math.min(this.failures++, 5));
    this.timer = setTimeout(() => this.open(), delay);
  }
}

export class WatchCompactedError extends Error {
  constructor(readonly compactRevision: bigint) {
    super(`mvcc: required revision has been compacted (compact revision ${compactRevision})`);
  }
}
