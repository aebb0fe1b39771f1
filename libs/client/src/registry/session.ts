// Session mode (as Consul sessions and Nacos's connection-level liveness): one lease per client process,
// shared by every instance it registers, so heartbeats scale with processes, not instances. Opened lazily by
// the first registration, renewed with the registry's batched KeepAlive at TTL/3; when the server answers
// that the lease is gone (expired during a partition, revoked), the session is `lost`: its registrations
// then open a new one (acquire) and register again. close() revokes the lease, which deregisters them all.
import { EventEmitter } from 'node:events';
import type { EtcdClient } from '../etcd/client';
import { RegisterBatcher, type RegisterResponse } from './register-batcher';

export interface SessionOptions {
  /** Session lease TTL, seconds (default 10). */
  ttl?: number;
  /** Keep-alive interval, ms (default TTL/3). */
  keepAliveIntervalMs?: number;
  /**
   * Registrations are sent in batches (one Registry.RegisterBatch): those of the same event-loop turn
   * (0, the default) or of this many ms.
   */
  registerBatchDelayMs?: number;
}

const SERVICE = 'cairn.registry.v1.Registry';

/** Events: `opened` (lease) after every (re-)open, `keepalive` (ttl), `lost` (lease), `error` (err). */
export class RegistrySession extends EventEmitter {
  /** The open session's lease (0n while none is open). */
  lease = 0n;
  ttl: number;
  private opening?: Promise<bigint>;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private readonly batcher: RegisterBatcher;

  constructor(
    private readonly client: EtcdClient,
    readonly namespace: string,
    private readonly options: SessionOptions = {},
  ) {
    super();
    this.ttl = options.ttl ?? 10;
    this.batcher = new RegisterBatcher(client, options.registerBatchDelayMs ?? 0);
  }

  /** Registers `instance` (in `namespace`) on `lease`, batched with the other registrations of this turn. */
  register(namespace: string, lease: bigint, instance: object): Promise<RegisterResponse> {
    return this.batcher.register(namespace, lease, instance);
  }

  /** The open session's lease, opening one first when there is none. */
  acquire(): Promise<bigint> {
    if (this.closed) return Promise.reject(new Error('the registry session is closed'));
    if (this.lease !== 0n) return Promise.resolve(this.lease);
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  /** Forgets `lease` (a register answered that it is gone): the next acquire() opens another. */
  invalidate(lease: bigint): void {
    if (this.lease !== lease || lease === 0n) return;
    this.lease = 0n;
    clearInterval(this.timer);
    this.emit('lost', lease);
  }

  private async open(): Promise<bigint> {
    const res = await this.client.call<object, { session: string; ttl: number }>(SERVICE, 'OpenSession', {
      namespace: this.namespace,
      ttl: this.ttl,
    });
    const lease = BigInt(res.session);
    if (this.closed) {
      await this.revoke(lease);
      throw new Error('the registry session is closed');
    }
    this.lease = lease;
    this.ttl = res.ttl;
    const interval = this.options.keepAliveIntervalMs ?? Math.max(200, Math.floor((this.ttl * 1000) / 3));
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.renew(lease), interval);
    this.emit('opened', lease);
    return lease;
  }

  private async renew(lease: bigint): Promise<void> {
    try {
      const res = await this.client.call<object, { ttls: string[] }>(
        SERVICE,
        'KeepAlive',
        { namespace: this.namespace, leases: [lease.toString()] },
        Math.max(1000, Math.floor((this.ttl * 1000) / 3)),
      );
      const ttl = Number(res.ttls[0] ?? 0);
      if (ttl > 0) this.emit('keepalive', ttl);
      else this.invalidate(lease);
    } catch (err) {
      // Unreachable for now: the next tick tries again; a lease that expired meanwhile answers 0 then.
      if (this.listenerCount('error') > 0) this.emit('error', err);
    }
  }

  /** Stops renewing and revokes the lease: every instance registered with it is deregistered at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    const lease = this.lease;
    this.lease = 0n;
    if (lease !== 0n) await this.revoke(lease);
  }

  private async revoke(lease: bigint): Promise<void> {
    try {
      await this.client.call(
        SERVICE,
        'CloseSession',
        { namespace: this.namespace, session: lease.toString() },
        3000,
      );
    } catch {
      // Already gone, or the server is unreachable: the lease expires on its TTL.
    }
  }
}
