// A registered instance: keeps its lease alive (TTL/3), registers again when the lease is lost (server
// restart with expiry, partition longer than the TTL), deregisters on close() and, when asked, on
// SIGTERM/SIGINT.
import { EventEmitter } from 'node:events';
import type { EtcdClient } from '../etcd/client';
import type { LeaseKeepAlive } from '../etcd/lease-keeper';
import type { RegistrySession } from './session';
import type { InstanceSpec, RegistryInstance } from './types';

export interface RegisterOptions {
  /** Lease TTL, seconds (default 10). */
  ttl?: number;
  /** Deregister, then let the signal do its default (exit), on SIGTERM and SIGINT. */
  deregisterOnSignals?: boolean | NodeJS.Signals[];
  /** Keep-alive interval, ms (default TTL/3). */
  keepAliveIntervalMs?: number;
}

interface RegisterResponse {
  instance: RegistryInstance;
  lease: string;
  ttl: number;
  revision: string;
}

const SERVICE = 'cairn.registry.v1.Registry';

export function registerRequest(spec: InstanceSpec, namespace: string, ttl: number, session = 0n): object {
  return {
    ...(session !== 0n ? { session: session.toString() } : {}),
    instance: {
      namespace: spec.namespace ?? namespace,
      service: spec.service,
      id: spec.id,
      address: { host: spec.address.host, port: spec.address.port, scheme: spec.address.scheme ?? 'http' },
      metadata: spec.metadata ?? {},
      tags: spec.tags ?? [],
      weight: spec.weight ?? 1,
      zone: spec.zone ?? '',
      version: spec.version ?? '',
      status: spec.status ?? 'UP',
      check: spec.check ?? null,
    },
    ttl,
  };
}

/**
 * Events: `registered` (instance) after the first and every later (re-)registration, `keepalive` (ttl),
 * `lost` () when the lease was found gone (a re-register follows), `error` (err) for a failed
 * re-register attempt (it retries), `closed`.
 */
export class Registration extends EventEmitter {
  lease = 0n;
  ttl: number;
  instance?: RegistryInstance;
  private keeper?: LeaseKeepAlive;
  private closed = false;
  private retryTimer?: NodeJS.Timeout;
  private readonly signalHandlers = new Map<NodeJS.Signals, () => void>();
  private readonly onSessionLost = (lease: bigint): void => {
    if (this.closed || lease !== this.lease) return;
    this.emit('lost');
    this.reregister(0);
  };

  /** With `session`, the instance is attached to the session's lease and has no keep-alive of its own. */
  constructor(
    private readonly client: EtcdClient,
    readonly spec: InstanceSpec,
    readonly namespace: string,
    private readonly options: RegisterOptions = {},
    private readonly session?: RegistrySession,
  ) {
    super();
    this.ttl = options.ttl ?? session?.ttl ?? 10;
    session?.on('lost', this.onSessionLost);
  }

  /** First registration; rejects if the server refuses it (bad input) or cannot be reached. */
  async start(): Promise<this> {
    await this.registerOnce();
    const signals =
      this.options.deregisterOnSignals === true
        ? (['SIGTERM', 'SIGINT'] as NodeJS.Signals[])
        : this.options.deregisterOnSignals || [];
    for (const signal of signals) {
      const handler = () => {
        for (const [s, h] of this.signalHandlers) process.removeListener(s, h);
        this.signalHandlers.clear();
        void this.close().finally(() => process.kill(process.pid, signal));
      };
      this.signalHandlers.set(signal, handler);
      process.once(signal, handler);
    }
    return this;
  }

  private async registerOnce(): Promise<void> {
    if (this.session) return this.registerInSession(this.session);
    const response = await this.client.call<object, RegisterResponse>(
      SERVICE,
      'Register',
      registerRequest(this.spec, this.namespace, this.ttl),
    );
    if (this.closed) return;
    this.lease = BigInt(response.lease);
    this.ttl = response.ttl;
    this.instance = response.instance;
    this.keeper?.close();
    const keeper = this.client.keepAlive(this.lease, {
      intervalMs: this.options.keepAliveIntervalMs ?? Math.max(200, Math.floor((this.ttl * 1000) / 3)),
    });
    this.keeper = keeper;
    keeper.on('keepalive', (ttl: number) => this.emit('keepalive', ttl));
    keeper.on('lost', () => {
      if (this.keeper !== keeper || this.closed) return;
      this.emit('lost');
      this.reregister(0);
    });
    this.emit('registered', response.instance);
  }

  private async registerInSession(session: RegistrySession): Promise<void> {
    const lease = await session.acquire();
    let response: RegisterResponse;
    try {
      // Batched with the other registrations of this turn: one RegisterBatch call.
      const { instance } = registerRequest(this.spec, this.namespace, this.ttl) as { instance: object };
      response = await session.register(this.spec.namespace ?? this.namespace, lease, instance);
    } catch (err) {
      // NOT_FOUND: the session expired before the server saw this register; open another and retry.
      if ((err as { code?: number }).code === 5) session.invalidate(lease);
      throw err;
    }
    if (this.closed) return;
    this.lease = lease;
    this.ttl = response.ttl;
    this.instance = response.instance;
    this.emit('registered', response.instance);
  }

  private reregister(attempt: number): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(
      () => {
        this.registerOnce().catch((err: unknown) => {
          if (this.listenerCount('error') > 0) this.emit('error', err);
          this.reregister(attempt + 1);
        });
      },
      attempt === 0 ? 0 : Math.min(2000, 100 * 2 ** attempt),
    );
  }

  /**
   * Stops the keep-alive and deregisters (best effort: the lease expires anyway). `deregister: false` only
   * stops (the RegistryClient closing a session revokes its lease, which deregisters every instance at once).
   */
  async close(options: { deregister?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.keeper?.close();
    this.session?.off('lost', this.onSessionLost);
    for (const [s, h] of this.signalHandlers) process.removeListener(s, h);
    this.signalHandlers.clear();
    if (options.deregister === false) {
      this.emit('closed');
      return;
    }
    try {
      await this.client.call(
        SERVICE,
        'Deregister',
        { namespace: this.spec.namespace ?? this.namespace, service: this.spec.service, id: this.spec.id },
        3000,
      );
    } catch {
      // Already gone, or the server is unreachable: the lease will expire.
    }
    this.emit('closed');
  }
}
