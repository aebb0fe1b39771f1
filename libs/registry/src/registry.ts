// The registry's operations over the replicated KV of one member. Framework-free: the Nest controller,
// the gRPC service and the health checker all call this.
import type { CairnNode, EtcdApis, Logger } from '@cairn/server';
import { RegistryError } from './errors';
import { Kv, type WireKv, deleteOp, modRevisionIs, putOp } from './kv';
import {
  CHECK_TYPES,
  DEFAULT_TTL,
  HEALTH_STATUSES,
  INSTANCE_STATUSES,
  type HealthCheckSpec,
  type HeartbeatResult,
  type InstanceFilter,
  type InstanceHealth,
  type InstanceStatus,
  type ListInstancesResult,
  type ListServicesResult,
  MAX_TTL,
  MIN_TTL,
  NAME_PATTERN,
  type RegisterInput,
  type RegisterResult,
  type RegistryInstance,
  RegistryKeys,
  type StoredInstance,
  isHealthy,
  namingValue,
} from './model';
import { RegistryWatch, type RegistryWatchOptions, type RegistryWatchSink } from './watch';

export interface RegistryOptions {
  node: CairnNode;
  apis: EtcdApis;
  logger?: Logger;
  /** Key root of instance records (default /cairn/registry/). */
  root?: string;
  /** Prefix of the etcd `endpoints` naming keys (default /cairn/naming/). */
  namingPrefix?: string;
  /** Injected clock (ms). */
  now?: () => number;
}

export interface InstanceRef {
  namespace: string;
  service: string;
  id: string;
}

export interface UpdateInput extends InstanceRef {
  /** Merged; an empty-string value removes the key. */
  metadata?: Record<string, string>;
  status?: InstanceStatus;
}

const MAX_ATTEMPTS = 5;

export class Registry {
  readonly keys: RegistryKeys;
  readonly kv: Kv;
  readonly node: CairnNode;
  private readonly now: () => number;
  private readonly watches = new Set<RegistryWatch>();

  constructor(readonly options: RegistryOptions) {
    this.node = options.node;
    this.kv = new Kv(options.apis);
    this.keys = new RegistryKeys(options.root, options.namingPrefix);
    this.now = options.now ?? Date.now;
  }

  // ---- writes ----

  async register(input: RegisterInput): Promise<RegisterResult> {
    const ttl = validateRegister(input);
    const key = this.keys.instanceKey(input.namespace, input.service, input.id);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { kv: existing } = await this.kv.get(key);
      const previous = existing ? this.parseStored(existing) : undefined;
      const previousLease = existing ? String(existing.lease) : '0';
      // Re-register with the same TTL while the lease lives: keep the lease (renew it); else a new one.
      let lease: string;
      let fresh = false;
      if (
        previous &&
        previous.ttl === ttl &&
        previousLease !== '0' &&
        this.node.leases.has(BigInt(previousLease))
      ) {
        lease = previousLease;
        if ((await this.kv.keepAlive(lease)) <= 0) {
          lease = await this.kv.grant(ttl);
          fresh = true;
        }
      } else {
        lease = await this.kv.grant(ttl);
        fresh = true;
      }
      const check = input.check ? normalizeCheck(input.check) : null;
      const sameCheck = previous && JSON.stringify(previous.check) === JSON.stringify(check);
      const record: StoredInstance = {
        namespace: input.namespace,
        service: input.service,
        id: input.id,
        address: {
          host: input.address.host,
          port: input.address.port,
          scheme: input.address.scheme || 'http',
        },
        metadata: { ...(input.metadata ?? {}) },
        tags: [...(input.tags ?? [])],
        weight: input.weight ?? 1,
        zone: input.zone ?? '',
        version: input.version ?? '',
        status: input.status ?? 'UP',
        health:
          previous && sameCheck
            ? previous.health
            : check
              ? { status: 'warning', reason: 'awaiting the first health check', checked_at: '' }
              : { status: 'passing', reason: 'alive (lease kept)', checked_at: '' },
        registered_at: previous?.registered_at ?? new Date(this.now()).toISOString(),
        lease,
        ttl,
        check,
      };
      // One txn writes both keys, guarded by what was read: a concurrent register retries, nothing is
      // ever half-written.
      const result = await this.kv.txn(
        [modRevisionIs(key, existing ? Number(existing.mod_revision) : 0)],
        [
          putOp(key, JSON.stringify(record), lease),
          putOp(this.keys.namingKey(record.namespace, record.service, record.id), namingValue(record), lease),
        ],
      );
      if (!result.succeeded) {
        if (fresh) await this.kv.revoke(lease);
        continue;
      }
      if (fresh && previousLease !== '0' && previousLease !== lease) await this.kv.revoke(previousLease);
      this.options.logger?.debug({ key, lease, ttl }, 'registry: instance registered');
      return {
        instance: this.view(record, result.revision),
        lease,
        ttl,
        revision: String(result.revision),
      };
    }
    throw new RegistryError('conflict', `instance ${key} changed concurrently; try again`);
  }

  async heartbeat(ref: InstanceRef): Promise<HeartbeatResult> {
    validateRef(ref);
    const { stored, kv } = await this.load(ref);
    const lease = String(kv.lease);
    const ttl = await this.kv.keepAlive(lease);
    if (ttl <= 0) throw new RegistryError('not-found', `the lease of instance ${stored.id} has expired`);
    return { lease, ttl };
  }

  async update(input: UpdateInput): Promise<RegistryInstance> {
    validateRef(input);
    if (input.status !== undefined && !INSTANCE_STATUSES.includes(input.status)) {
      throw new RegistryError('invalid', `status must be one of ${INSTANCE_STATUSES.join(', ')}`);
    }
    if (input.metadata) validateMetadata(input.metadata);
    return this.modify(input, (record) => {
      if (input.metadata) {
        for (const [k, v] of Object.entries(input.metadata)) {
          if (v === '') delete record.metadata[k];
          else record.metadata[k] = v;
        }
      }
      if (input.status) record.status = input.status;
      return record;
    });
  }

  /** Sets the health of an instance (the health checker's write); false if the instance is gone. */
  async setHealth(ref: InstanceRef, health: InstanceHealth): Promise<boolean> {
    try {
      await this.modify(ref, (record) => ({ ...record, health }));
      return true;
    } catch (err) {
      if (err instanceof RegistryError && err.kind === 'not-found') return false;
      throw err;
    }
  }

  /** Read-modify-write of one record, guarded by its mod_revision, keeping its lease. */
  private async modify(
    ref: InstanceRef,
    change: (record: StoredInstance) => StoredInstance,
  ): Promise<RegistryInstance> {
    const key = this.keys.instanceKey(ref.namespace, ref.service, ref.id);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { stored, kv } = await this.load(ref);
      const record = change(structuredClone(stored));
      const lease = String(kv.lease);
      const result = await this.kv.txn(
        [modRevisionIs(key, Number(kv.mod_revision))],
        [
          putOp(key, JSON.stringify(record), lease),
          putOp(this.keys.namingKey(ref.namespace, ref.service, ref.id), namingValue(record), lease),
        ],
      );
      if (result.succeeded) return this.view(record, result.revision);
    }
    throw new RegistryError('conflict', `instance ${key} changed concurrently; try again`);
  }

  async deregister(ref: InstanceRef): Promise<{ revision: string }> {
    validateRef(ref);
    const key = this.keys.instanceKey(ref.namespace, ref.service, ref.id);
    const { kv } = await this.load(ref);
    const result = await this.kv.txn(
      [modRevisionIs(key, Number(kv.mod_revision))],
      [deleteOp(key), deleteOp(this.keys.namingKey(ref.namespace, ref.service, ref.id))],
    );
    if (!result.succeeded)
      throw new RegistryError('conflict', `instance ${key} changed concurrently; try again`);
    if (String(kv.lease) !== '0') await this.kv.revoke(String(kv.lease));
    return { revision: String(result.revision) };
  }

  // ---- reads ----

  async get(ref: InstanceRef): Promise<RegistryInstance> {
    validateRef(ref);
    const { stored, kv } = await this.load(ref);
    return this.view(stored, Number(kv.mod_revision));
  }

  async listNamespaces(): Promise<string[]> {
    const { kvs } = await this.kv.prefix(this.keys.root);
    const names = new Set<string>();
    for (const kv of kvs) {
      const parts = this.keys.parse(kv.key.toString());
      if (parts) names.add(parts.namespace);
    }
    return [...names].sort();
  }

  async listServices(namespace: string): Promise<ListServicesResult> {
    validateName('namespace', namespace);
    const { kvs, revision } = await this.kv.prefix(this.keys.namespacePrefix(namespace));
    const services = new Map<string, { healthy: number; total: number }>();
    for (const kv of kvs) {
      const record = this.tryParse(kv);
      if (!record) continue;
      const entry = services.get(record.service) ?? { healthy: 0, total: 0 };
      entry.total++;
      if (isHealthy(record)) entry.healthy++;
      services.set(record.service, entry);
    }
    return {
      services: [...services.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, counts]) => ({ name, ...counts })),
      revision: String(revision),
    };
  }

  async listInstances(
    namespace: string,
    service: string,
    filter: InstanceFilter = {},
  ): Promise<ListInstancesResult> {
    validateName('namespace', namespace);
    validateName('service', service);
    if (filter.health !== undefined && !HEALTH_STATUSES.includes(filter.health)) {
      throw new RegistryError('invalid', `health must be one of ${HEALTH_STATUSES.join(', ')}`);
    }
    const { kvs, revision } = await this.kv.prefix(this.keys.servicePrefix(namespace, service));
    const instances: RegistryInstance[] = [];
    for (const kv of kvs) {
      const record = this.tryParse(kv);
      if (!record || !matches(record, filter)) continue;
      instances.push(this.view(record, Number(kv.mod_revision)));
    }
    return { instances, revision: String(revision) };
  }

  /** Watches a service (or a whole namespace when `service` is empty); see RegistryWatch. */
  watch(options: RegistryWatchOptions, sink: RegistryWatchSink): RegistryWatch {
    validateName('namespace', options.namespace);
    if (options.service) validateName('service', options.service);
    const watch = new RegistryWatch(this, options, sink, () => this.watches.delete(watch));
    this.watches.add(watch);
    watch.start();
    return watch;
  }

  close(): void {
    for (const watch of [...this.watches]) watch.close();
  }

  // ---- records ----

  private async load(ref: InstanceRef): Promise<{ stored: StoredInstance; kv: WireKv }> {
    const key = this.keys.instanceKey(ref.namespace, ref.service, ref.id);
    const { kv } = await this.kv.get(key);
    const stored = kv ? this.tryParse(kv) : undefined;
    if (!kv || !stored) {
      throw new RegistryError(
        'not-found',
        `instance "${ref.id}" of service "${ref.service}" in namespace "${ref.namespace}" is not registered`,
      );
    }
    return { stored, kv };
  }

  parseStored(kv: WireKv): StoredInstance {
    return JSON.parse(kv.value.toString()) as StoredInstance;
  }

  tryParse(kv: WireKv): StoredInstance | undefined {
    try {
      const record = this.parseStored(kv);
      return typeof record === 'object' && record !== null && typeof record.id === 'string'
        ? record
        : undefined;
    } catch {
      return undefined;
    }
  }

  /** The API view of a stored record: adds last_heartbeat (from the lease) and mod_revision. */
  view(record: StoredInstance, modRevision: number): RegistryInstance {
    return { ...record, last_heartbeat: this.lastHeartbeat(record.lease), mod_revision: String(modRevision) };
  }

  /**
   * When the lease was last renewed: now − (granted − remaining) seconds. Exact (to the second) on the
   * leader, which tracks expiries; on a follower it reflects the last lease checkpoint.
   */
  private lastHeartbeat(lease: string): string {
    if (!lease || lease === '0') return '';
    const info = this.node.leases.timeToLive(BigInt(lease), false);
    if (!info) return '';
    return new Date(this.now() - Math.max(0, info.grantedTtl - info.ttl) * 1000).toISOString();
  }
}

function matches(record: StoredInstance, filter: InstanceFilter): boolean {
  if (filter.health && record.health.status !== filter.health) return false;
  if (filter.tag && !record.tags.includes(filter.tag)) return false;
  if (filter.zone !== undefined && filter.zone !== '' && record.zone !== filter.zone) return false;
  for (const [k, v] of Object.entries(filter.metadata ?? {})) {
    if (record.metadata[k] !== v) return false;
  }
  return true;
}

// ---- validation (the REST DTOs check shapes; these rules hold for every surface) ----

export function validateName(what: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new RegistryError('invalid', `${what} name is required`);
  }
  if (!NAME_PATTERN.test(value)) {
    throw new RegistryError(
      'invalid',
      `${what} name "${value}" is invalid: 1-128 characters of letters, digits, '.', '_', ':', '@', '-', starting with a letter or digit`,
    );
  }
}

function validateRef(ref: InstanceRef): void {
  validateName('namespace', ref.namespace);
  validateName('service', ref.service);
  validateName('instance', ref.id);
}

function validateMetadata(metadata: Record<string, string>): void {
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string')
      throw new RegistryError('invalid', `metadata value of "${k}" must be a string`);
  }
}

const HOST_PATTERN =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^\[?[0-9A-Fa-f:.]+\]?$/;

/** Checks a register input; returns the TTL to use. */
export function validateRegister(input: RegisterInput): number {
  validateName('namespace', input.namespace);
  validateName('service', input.service);
  validateName('instance', input.id);
  const address = input.address as RegisterInput['address'] | undefined;
  if (!address || typeof address !== 'object') throw new RegistryError('invalid', 'address is required');
  if (typeof address.host !== 'string' || !HOST_PATTERN.test(address.host)) {
    throw new RegistryError(
      'invalid',
      `invalid address: host "${String(address.host)}" is not a hostname or IP`,
    );
  }
  if (!Number.isInteger(address.port) || address.port < 1 || address.port > 65535) {
    throw new RegistryError('invalid', `invalid address: port ${String(address.port)} is not in 1..65535`);
  }
  if (address.scheme !== undefined && !/^[a-z][a-z0-9+.-]{0,15}$/.test(address.scheme)) {
    throw new RegistryError('invalid', `invalid address: scheme "${address.scheme}"`);
  }
  const ttl = input.ttl ?? DEFAULT_TTL;
  if (!Number.isInteger(ttl) || ttl < MIN_TTL || ttl > MAX_TTL) {
    throw new RegistryError('invalid', `ttl ${String(ttl)} is out of range: ${MIN_TTL}..${MAX_TTL} seconds`);
  }
  if (input.status !== undefined && !INSTANCE_STATUSES.includes(input.status)) {
    throw new RegistryError('invalid', `status must be one of ${INSTANCE_STATUSES.join(', ')}`);
  }
  if (
    input.weight !== undefined &&
    (!Number.isInteger(input.weight) || input.weight < 0 || input.weight > 10000)
  ) {
    throw new RegistryError('invalid', 'weight must be an integer in 0..10000');
  }
  if (input.metadata) validateMetadata(input.metadata);
  if (input.check) {
    if (!CHECK_TYPES.includes(input.check.type)) {
      throw new RegistryError('invalid', `check.type must be one of ${CHECK_TYPES.join(', ')}`);
    }
    const c = normalizeCheck(input.check);
    if (c.interval_ms < 100 || c.interval_ms > 3_600_000) {
      throw new RegistryError('invalid', 'check.interval_ms must be in 100..3600000');
    }
    if (c.timeout_ms < 10 || c.timeout_ms > 60_000) {
      throw new RegistryError('invalid', 'check.timeout_ms must be in 10..60000');
    }
  }
  return ttl;
}

export function normalizeCheck(
  check: Partial<HealthCheckSpec> & { type: HealthCheckSpec['type'] },
): HealthCheckSpec {
  return {
    type: check.type,
    target: check.target ?? '',
    grpc_service: check.grpc_service ?? '',
    interval_ms: check.interval_ms || 10_000,
    timeout_ms: check.timeout_ms || 2_000,
    failures_before_critical: Math.max(1, check.failures_before_critical || 1),
    successes_before_passing: Math.max(1, check.successes_before_passing || 1),
    deregister_critical_after_ms: check.deregister_critical_after_ms || 0,
  };
}
