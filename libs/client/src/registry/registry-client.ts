// The registry SDK.
//
// Why it talks to two APIs: registration goes through the registry's gRPC API (cairn.registry.v1), so
// the server owns the record format, validation and the etcd naming key, and writes both in one txn;
// keep-alives use etcd's own LeaseKeepAlive stream (one stream for every lease of the process; followers
// forward to the leader), and subscriptions read and watch the registry prefix with the plain etcd
// KV/Watch API, whose revision-based resume and compaction semantics the core client already handles
// (and which any member serves without registry-specific state).
import { EtcdClient, type EtcdClientOptions } from '../etcd/client';
import { Registration, type RegisterOptions } from './registration';
import { RegistrySession, type SessionOptions } from './session';
import { ServiceSubscription, type SubscribeOptions } from './subscription';
import type { InstanceSpec } from './types';

export interface RegistryClientOptions {
  /** Namespace of registrations and subscriptions that name none (default 'default'). */
  namespace?: string;
  /** Key root of the registry (default '/cairn/registry/'). */
  root?: string;
  /**
   * Session mode (as Consul sessions, Nacos connection liveness): one lease for this client, opened by the
   * first register(), renewed at TTL/3 and shared by every instance registered through it, so heartbeats
   * scale with processes, not instances. A lost session is opened again and its instances re-registered;
   * close() (or the process dying: after the TTL) deregisters them all. `true` = TTL 10 s.
   */
  session?: boolean | SessionOptions;
}

export class RegistryClient {
  readonly client: EtcdClient;
  private readonly ownsClient: boolean;
  private readonly namespace: string;
  private readonly root: string;
  private readonly registrations = new Set<Registration>();
  private readonly subscriptions = new Set<ServiceSubscription>();
  /** Session mode only. */
  readonly session?: RegistrySession;

  constructor(
    client: EtcdClient | EtcdClientOptions | string | string[],
    options: RegistryClientOptions = {},
  ) {
    this.ownsClient = !(client instanceof EtcdClient);
    this.client = client instanceof EtcdClient ? client : new EtcdClient(client);
    this.namespace = options.namespace ?? 'default';
    this.root = options.root ?? '/cairn/registry/';
    if (options.session) {
      this.session = new RegistrySession(
        this.client,
        this.namespace,
        options.session === true ? {} : options.session,
      );
    }
  }

  /**
   * Registers an instance and keeps it registered until close(): on a lease of its own, or in session mode
   * on the client's session lease (options.ttl and keepAliveIntervalMs are then the session's).
   */
  async register(instance: InstanceSpec, options: RegisterOptions = {}): Promise<Registration> {
    const registration = new Registration(this.client, instance, this.namespace, options, this.session);
    this.registrations.add(registration);
    registration.once('closed', () => this.registrations.delete(registration));
    try {
      return await registration.start();
    } catch (err) {
      this.registrations.delete(registration);
      await registration.close();
      throw err;
    }
  }

  /** A live view of `service`'s instances. */
  subscribe(service: string, options: SubscribeOptions = {}): ServiceSubscription {
    const subscription = new ServiceSubscription(this.client, service, {
      ...options,
      root: this.root,
      namespace: options.namespace ?? this.namespace,
    });
    this.subscriptions.add(subscription);
    subscription.once('closed', () => this.subscriptions.delete(subscription));
    return subscription;
  }

  /** Deregisters every registration, ends every subscription, and closes the client it created. */
  async close(): Promise<void> {
    if (this.session) {
      // One revoke deregisters every instance of the session.
      await Promise.all([...this.registrations].map((r) => r.close({ deregister: false })));
      await this.session.close();
    } else {
      await Promise.all([...this.registrations].map((r) => r.close()));
    }
    for (const s of [...this.subscriptions]) s.close();
    if (this.ownsClient) this.client.close();
  }
}
