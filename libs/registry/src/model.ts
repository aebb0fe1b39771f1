// The registry's model: namespace → service → instance, the stored JSON record, its keys, and the etcd
// `endpoints` naming entry. These types are also what the REST API returns (the console imports them).

export type InstanceStatus = 'UP' | 'DRAINING' | 'DOWN';
export type HealthStatus = 'passing' | 'warning' | 'critical';
export type CheckType = 'http' | 'tcp' | 'grpc';

export const INSTANCE_STATUSES: readonly InstanceStatus[] = ['UP', 'DRAINING', 'DOWN'];
export const HEALTH_STATUSES: readonly HealthStatus[] = ['passing', 'warning', 'critical'];
export const CHECK_TYPES: readonly CheckType[] = ['http', 'tcp', 'grpc'];

export interface InstanceAddress {
  host: string;
  port: number;
  /** http, https, grpc, tcp... */
  scheme: string;
}

export interface HealthCheckSpec {
  type: CheckType;
  /** http: URL or path on the instance address; tcp/grpc: host:port ('' = the instance address). */
  target: string;
  /** grpc: service name for grpc.health.v1 ('' = whole server). */
  grpc_service: string;
  interval_ms: number;
  timeout_ms: number;
  failures_before_critical: number;
  successes_before_passing: number;
  /** 0 = never. */
  deregister_critical_after_ms: number;
}

export interface InstanceHealth {
  status: HealthStatus;
  reason: string;
  /** RFC 3339; '' = never checked. */
  checked_at: string;
}

/** What is stored (JSON) at /cairn/registry/<ns>/<service>/<id>, attached to `lease`. */
export interface StoredInstance {
  namespace: string;
  service: string;
  id: string;
  address: InstanceAddress;
  metadata: Record<string, string>;
  tags: string[];
  weight: number;
  zone: string;
  version: string;
  status: InstanceStatus;
  health: InstanceHealth;
  registered_at: string;
  /**
   * The authenticated user that made the last registration ('anonymous' with auth off): set by the member
   * from the caller's identity, never from the request. Absent on records written before issue 15.
   */
  registered_by?: string;
  /** Decimal lease ID. */
  lease: string;
  /**
   * True when `lease` is a session's (OpenSession), shared with the other instances of that client
   * process: a deregister deletes the keys but leaves the lease to its session. Absent otherwise.
   */
  session?: boolean;
  ttl: number;
  check: HealthCheckSpec | null;
}

/** An instance as the APIs return it: the stored record plus what is derived when it is read. */
export interface RegistryInstance extends StoredInstance {
  /**
   * RFC 3339 time of the last lease keep-alive, derived from the lease (now − (granted TTL − remaining
   * TTL), one-second resolution) so heartbeats never write to the KV.
   */
  last_heartbeat: string;
  /** Revision of the record's last change (decimal). */
  mod_revision: string;
}

export interface RegisterResult {
  instance: RegistryInstance;
  lease: string;
  ttl: number;
  revision: string;
}

export interface HeartbeatResult {
  lease: string;
  ttl: number;
}

export interface SessionResult {
  /** The session's lease ID (decimal): pass it as `session` to Register. */
  session: string;
  ttl: number;
}

export interface ServiceSummary {
  name: string;
  healthy: number;
  total: number;
}

export interface ListServicesResult {
  services: ServiceSummary[];
  revision: string;
}

export interface ListInstancesResult {
  instances: RegistryInstance[];
  revision: string;
}

export interface InstanceFilter {
  health?: HealthStatus;
  tag?: string;
  zone?: string;
  metadata?: Record<string, string>;
}

export type RegistryWatchEventType = 'snapshot' | 'added' | 'updated' | 'removed';

export interface RegistryWatchEvent {
  type: RegistryWatchEventType;
  revision: string;
  /** snapshot only. */
  instances?: RegistryInstance[];
  /** added/updated: the new record; removed: the last record. */
  instance?: RegistryInstance;
}

/** Input of a register (REST body + path, or gRPC). */
export interface RegisterInput {
  namespace: string;
  service: string;
  id: string;
  address: { host: string; port: number; scheme?: string };
  metadata?: Record<string, string>;
  tags?: string[];
  weight?: number;
  zone?: string;
  version?: string;
  status?: InstanceStatus;
  check?: Partial<HealthCheckSpec> & { type: CheckType };
  /** Seconds. */
  ttl?: number;
  /** A session lease (decimal) to attach the instance to instead of a lease of its own; TTL is the session's. */
  session?: string;
}

/** An instance counts as healthy when it is UP and its health is not critical. */
export function isHealthy(instance: Pick<StoredInstance, 'status' | 'health'>): boolean {
  return instance.status === 'UP' && instance.health.status !== 'critical';
}

export const DEFAULT_ROOT = '/cairn/registry/';
/**
 * Where the etcd naming entries lived before issue 15 (`--registry-naming-prefix`). They now live inside each
 * namespace's own prefix (RegistryKeys.namingKey); entries left at the old place are on their instances'
 * leases and go with them.
 */
export const LEGACY_NAMING_PREFIX = '/cairn/naming/';
/** The sub-prefix of a namespace that holds its etcd naming entries ('~' never starts a service name). */
export const NAMING_SEGMENT = '~naming';
/** The sub-prefix of a namespace that holds its sessions' keys (see RegistryKeys.sessionKey). */
export const SESSIONS_SEGMENT = '~sessions';
export const DEFAULT_NAMESPACE = 'default';
export const MIN_TTL = 1;
export const MAX_TTL = 3600;
export const DEFAULT_TTL = 10;

/** Names of namespaces, services and instances: no slashes, so keys split unambiguously. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

// Everything of a namespace is under `<root><ns>/` — its instance records and their etcd naming entries — so
// one grant on `/cairn/registry/<ns>/` covers every registry operation in it, namespaces never overlap, and a
// lease revoke (which needs WRITE on every key of the lease, as etcd) stays inside that grant
// (docs/security.md).
export class RegistryKeys {
  constructor(readonly root = DEFAULT_ROOT) {}

  namespacePrefix(ns: string): string {
    return `${this.root}${ns}/`;
  }

  /**
   * The range of a namespace's instance records: `[<root><ns>/, <root><ns>/~)`. Service names start with a
   * letter or digit, so every record sorts before '~' and the naming entries (`~naming/`) after: a namespace
   * listing or watch never sees them.
   */
  namespaceRecords(ns: string): { key: Buffer; rangeEnd: Buffer } {
    return {
      key: Buffer.from(this.namespacePrefix(ns)),
      rangeEnd: Buffer.from(`${this.namespacePrefix(ns)}~`),
    };
  }

  servicePrefix(ns: string, service: string): string {
    return `${this.root}${ns}/${service}/`;
  }

  instanceKey(ns: string, service: string, id: string): string {
    return `${this.root}${ns}/${service}/${id}`;
  }

  /** The prefix a Go gRPC resolver follows for a service: target `etcd://<namingPrefix(ns, service) without the '/'>`. */
  namingPrefix(ns: string, service: string): string {
    return `${this.root}${ns}/${NAMING_SEGMENT}/${service}/`;
  }

  /**
   * etcd `endpoints` naming key of an instance: `<root><ns>/~naming/<service>/<id>`, so the resolver target
   * `etcd:///cairn/registry/<ns>/~naming/<service>` finds it, in every namespace alike.
   */
  namingKey(ns: string, service: string, id: string): string {
    return `${this.namingPrefix(ns, service)}${id}`;
  }

  /** A session's key: `<root><ns>/~sessions/<lease>`, on the session's lease (outside every record range). */
  sessionKey(ns: string, lease: bigint): string {
    return `${this.root}${ns}/${SESSIONS_SEGMENT}/${lease.toString()}`;
  }

  /** Splits an instance key into its parts, or undefined for any other key. */
  parse(key: string): { namespace: string; service: string; id: string } | undefined {
    if (!key.startsWith(this.root)) return undefined;
    const parts = key.slice(this.root.length).split('/');
    if (parts.length !== 3 || parts.some((p) => p.length === 0)) return undefined;
    // `<ns>/~sessions/<lease>` (a session's key) is no instance: service names never start with '~'.
    if (parts[1]!.startsWith('~')) return undefined;
    return { namespace: parts[0]!, service: parts[1]!, id: parts[2]! };
  }
}

/** etcd's naming value (`endpoints.Update` / `naming.Update` JSON). */
export function namingValue(instance: StoredInstance): string {
  return JSON.stringify({
    Op: 0,
    Addr: `${instance.address.host}:${instance.address.port}`,
    Metadata: { ...instance.metadata, id: instance.id, scheme: instance.address.scheme },
  });
}
