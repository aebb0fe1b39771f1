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
import { ServiceSubscription, type SubscribeOptions } from './subscription';
import type { InstanceSpec } from './types';

export interface RegistryClientOptions {
  /** Namespace of registrations and subscriptions that name none (default 'default'). */
  namespace?: string;
  /** Key root of the registry (default '/cairn/registry/'). */
  root?: string;
}

export class RegistryClient {
  readonly client: EtcdClient;
  private readonly ownsClient: boolean;
  private readonly namespace: string;
  private readonly root: string;
  private readonly registrations = new Set<Registration>();
  private readonly subscriptions = new Set<ServiceSubscription>();

  constructor(
    client: EtcdClient | EtcdClientOptions | string | string[],
    options: RegistryClientOptions = {},
  ) {
    this.ownsClient = !(client instanceof EtcdClient);
    this.client = client instanceof EtcdClient ? client : new EtcdClient(client);
    this.namespace = options.namespace ?? 'default';
    this.root = options.root ?? '/cairn/registry/';
  }

  /** Registers an instance and keeps it registered until close(). */
  async register(instance: InstanceSpec, options: RegisterOptions = {}): Promise<Registration> {
    const registration = new Registration(this.client, instance, this.namespace, options);
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
    await Promise.all([...this.registrations].map((r) => r.close()));
    for (const s of [...this.subscriptions]) s.close();
    if (this.ownsClient) this.client.close();
  }
}
