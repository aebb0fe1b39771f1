// The registry's record as the SDK sees it. Mirrors @cairn/registry's RegistryInstance (the client depends
// on @cairn/api only); the JSON stored at /cairn/registry/<ns>/<service>/<id> has these fields.

export type InstanceStatus = 'UP' | 'DRAINING' | 'DOWN';
export type HealthStatus = 'passing' | 'warning' | 'critical';

export interface InstanceAddress {
  host: string;
  port: number;
  scheme: string;
}

export interface HealthCheckSpec {
  type: 'http' | 'tcp' | 'grpc';
  target?: string;
  grpc_service?: string;
  interval_ms?: number;
  timeout_ms?: number;
  failures_before_critical?: number;
  successes_before_passing?: number;
  deregister_critical_after_ms?: number;
}

export interface RegistryInstance {
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
  health: { status: HealthStatus; reason: string; checked_at: string };
  registered_at: string;
  lease: string;
  ttl: number;
  check: HealthCheckSpec | null;
  /** Revision of the record's last change (decimal). */
  mod_revision: string;
}

/** What a service registers. */
export interface InstanceSpec {
  service: string;
  id: string;
  address: { host: string; port: number; scheme?: string };
  /** Default: the client's namespace ('default'). */
  namespace?: string;
  metadata?: Record<string, string>;
  tags?: string[];
  weight?: number;
  zone?: string;
  version?: string;
  status?: InstanceStatus;
  /** A server-side health check run by the registry's leader. */
  check?: HealthCheckSpec;
}

/** UP and not critical: what `healthyOnly` keeps. */
export function isHealthyInstance(instance: Pick<RegistryInstance, 'status' | 'health'>): boolean {
  return instance.status === 'UP' && instance.health?.status !== 'critical';
}
