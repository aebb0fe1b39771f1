// Lease keep-alives on one shared LeaseKeepAlive stream per client (thousands of leases cost one stream),
// and a per-lease handle that renews on an interval and reports when the lease is gone.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { LeaseKeepAliveRequest, LeaseKeepAliveResponse__Output } from '@cairn/api';
import { isStaleTokenError } from './auth-session';
import type { EndpointPool } from './endpoints';

type KeepAliveStream = grpc.ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse__Output>;

interface Pending {
  resolve(ttl: number): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

export class KeepAliveChannel {
  private stream?: KeepAliveStream;
  private address?: string;
  private lastAnswerAt = 0;
  private readonly pending = new Map<string, Pending[]>();

  constructor(private readonly pool: EndpointPool) {}

  /** One keep-alive of `id`: the new TTL in seconds, 0 when the lease no longer exists. */
  async once(id: bigint, timeoutMs = 5000): Promise<number> {
    await this.pool.auth.ready();
    const stream = this.open();
    const key = id.toString();
    return new Promise<number>((resolve, reject) => {
      const entry: Pending = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const list = this.pending.get(key);
          const at = list?.indexOf(entry) ?? -1;
          if (list && at >= 0) list.splice(at, 1);
          if (list?.length === 0) this.pending.delete(key);
          reject(new Error(`keep-alive of lease ${key} timed out`));
          // A stream that answered nothing for the whole timeout is likely dead: the next call opens a new
          // one. One slow answer on a busy stream is not a reason to fail every other pending keep-alive.
          if (Date.now() - this.lastAnswerAt >= timeoutMs)
            this.reset(new Error('keep-alive timed out'), false);
        }, timeoutMs),
      };
      const list = this.pending.get(key) ?? [];
      list.push(entry);
      this.pending.set(key, list);
      stream.write({ ID: key });
    });
  }

  close(): void {
    this.reset(new Error('client closed'), false);
  }

  private open(): KeepAliveStream {
    if (this.stream) return this.stream;
    const address = this.pool.current();
    const client = this.pool.client<
      grpc.Client & { LeaseKeepAlive(metadata: grpc.Metadata): KeepAliveStream }
    >('etcdserverpb.Lease', address);
    const stream = client.LeaseKeepAlive(new grpc.Metadata({ waitForReady: true }));
    this.stream = stream;
    this.address = address;
    this.lastAnswerAt = Date.now();
    stream.on('data', (response: LeaseKeepAliveResponse__Output) => {
      this.lastAnswerAt = Date.now();
      const list = this.pending.get(response.ID);
      const entry = list?.shift();
      if (list?.length === 0) this.pending.delete(response.ID);
      if (entry) {
        clearTimeout(entry.timer);
        entry.resolve(Number(response.TTL));
      }
    });
    const token = this.pool.auth.current;
    stream.on('error', (err) => {
      if (this.stream !== stream) return;
      // A token that stopped counting: renew it, the next keep-alive opens a stream with the new one.
      if (isStaleTokenError(err)) void this.pool.auth.recover(err, token).catch(() => undefined);
      this.reset(err, !isStaleTokenError(err));
    });
    stream.on('end', () => {
      if (this.stream === stream) this.reset(new Error('keep-alive stream ended'), true);
    });
    return stream;
  }

  private reset(err: unknown, failover: boolean): void {
    const stream = this.stream;
    this.stream = undefined;
    if (stream) {
      stream.removeAllListeners('data');
      stream.on('error', () => undefined);
      stream.cancel();
    }
    if (failover && this.address) this.pool.failover(this.address);
    for (const list of this.pending.values()) {
      for (const entry of list) {
        clearTimeout(entry.timer);
        entry.reject(err);
      }
    }
    this.pending.clear();
  }
}

export interface KeepAliveOptions {
  /** Renewal interval, ms (default: a third of the TTL the first renewal reports, at least 500 ms). */
  intervalMs?: number;
}

/**
 * Keeps one lease alive. Events: `keepalive` (ttl: number) after each renewal, `failed` (error) for a
 * renewal that got no answer (it keeps trying), `lost` () once the server says the lease is gone (TTL 0;
 * the keeper stops).
 */
export class LeaseKeepAlive extends EventEmitter {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  lastTtl = 0;
  lastRenewedAt = 0;

  constructor(
    private readonly channel: KeepAliveChannel,
    readonly id: bigint,
    private readonly options: KeepAliveOptions = {},
  ) {
    super();
    this.schedule(0);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.renew(), delayMs);
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    try {
      const ttl = await this.channel.once(this.id);
      if (this.stopped) return;
      if (ttl <= 0) {
        this.stopped = true;
        this.emit('lost');
        return;
      }
      this.lastTtl = ttl;
      this.lastRenewedAt = Date.now();
      this.emit('keepalive', ttl);
      this.schedule(this.options.intervalMs ?? Math.max(500, Math.floor((ttl * 1000) / 3)));
    } catch (err) {
      if (this.stopped) return;
      if (this.listenerCount('failed') > 0) this.emit('failed', err);
      this.schedule(Math.min(500, this.options.intervalMs ?? 500));
    }
  }
}
