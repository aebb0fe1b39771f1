// The registry's REST API (/api/registry/v1, docs/registry.md) as typed calls, each naming the grant a 403
// means is missing (docs/security.md "Registry: each operation and the keys it needs").
import type { Needs, RestClient } from '../rest/client';
import type { SseEvent } from '../rest/sse';

export interface Instance {
  namespace: string;
  service: string;
  id: string;
  address: { host: string; port: number; scheme: string };
  metadata: Record<string, string>;
  tags: string[];
  weight: number;
  zone: string;
  version: string;
  status: 'UP' | 'DRAINING' | 'DOWN';
  health: { status: 'passing' | 'warning' | 'critical'; reason: string; checked_at: string };
  registered_at: string;
  registered_by?: string;
  lease: string;
  ttl: number;
  check: Record<string, unknown> | null;
  last_heartbeat: string;
  mod_revision: string;
}

export interface RegisterBody {
  address: { host: string; port: number; scheme?: string };
  ttl?: number;
  metadata?: Record<string, string>;
  tags?: string[];
  weight?: number;
  zone?: string;
  version?: string;
  status?: Instance['status'];
  check?: Record<string, unknown>;
}

export interface InstanceFilter {
  health?: string;
  tag?: string;
  zone?: string;
  /** `k=v,k2=v2` */
  metadata?: string;
}

export interface RegistryWatchEvent {
  type: 'snapshot' | 'added' | 'updated' | 'removed';
  revision: string;
  instances?: Instance[];
  instance?: Instance;
}

const BASE = '/api/registry/v1';
const seg = encodeURIComponent;

const nsPrefix = (ns: string): string => `/cairn/registry/${ns}/`;
const read = (prefix: string): Needs => ({ perm: 'READ', prefix });
const write = (prefix: string): Needs => ({ perm: 'READWRITE', prefix });

export class RegistryApi {
  constructor(readonly rest: RestClient) {}

  namespaces(): Promise<{ namespaces: string[] }> {
    return this.rest.request('GET', `${BASE}/namespaces`, { needs: read('/cairn/registry/') });
  }

  services(
    ns: string,
  ): Promise<{ services: { name: string; healthy: number; total: number }[]; revision: string }> {
    return this.rest.request('GET', `${BASE}/namespaces/${seg(ns)}/services`, { needs: read(nsPrefix(ns)) });
  }

  instances(
    ns: string,
    service: string,
    filter: InstanceFilter = {},
  ): Promise<{ instances: Instance[]; revision: string }> {
    return this.rest.request('GET', `${BASE}/namespaces/${seg(ns)}/services/${seg(service)}/instances`, {
      query: { ...filter },
      needs: read(nsPrefix(ns)),
    });
  }

  get(ns: string, service: string, id: string): Promise<Instance> {
    return this.rest.request('GET', this.instancePath(ns, service, id), { needs: read(nsPrefix(ns)) });
  }

  register(
    ns: string,
    service: string,
    id: string,
    body: RegisterBody,
  ): Promise<{ instance: Instance; lease: string; ttl: number; revision: string }> {
    return this.rest.request('PUT', this.instancePath(ns, service, id), { body, needs: write(nsPrefix(ns)) });
  }

  heartbeat(ns: string, service: string, id: string): Promise<{ lease: string; ttl: number }> {
    return this.rest.request('PUT', `${this.instancePath(ns, service, id)}/heartbeat`, {
      needs: read(nsPrefix(ns)),
    });
  }

  update(
    ns: string,
    service: string,
    id: string,
    body: { status?: Instance['status']; metadata?: Record<string, string> },
  ): Promise<Instance> {
    return this.rest.request('PATCH', this.instancePath(ns, service, id), {
      body,
      needs: write(nsPrefix(ns)),
    });
  }

  deregister(ns: string, service: string, id: string): Promise<{ revision: string }> {
    return this.rest.request('DELETE', this.instancePath(ns, service, id), { needs: write(nsPrefix(ns)) });
  }

  /** Follows a service ('' = the whole namespace) until `signal` aborts; resumes after the last revision. */
  watch(
    ns: string,
    service: string,
    signal: AbortSignal,
    onEvent: (event: RegistryWatchEvent) => void,
    revision?: string,
    onRetry?: (message: string) => void,
  ): Promise<void> {
    const path = service
      ? `${BASE}/namespaces/${seg(ns)}/services/${seg(service)}/watch`
      : `${BASE}/namespaces/${seg(ns)}/watch`;
    return this.rest.stream(path, {
      query: { revision },
      needs: read(nsPrefix(ns)),
      signal,
      ...(onRetry ? { onRetry } : {}),
      onEvent: (event: SseEvent) => {
        if (!['snapshot', 'added', 'updated', 'removed'].includes(event.event)) return;
        const data = JSON.parse(event.data) as Omit<RegistryWatchEvent, 'type'>;
        onEvent({ ...data, type: event.event as RegistryWatchEvent['type'] });
      },
    });
  }

  private instancePath(ns: string, service: string, id: string): string {
    return `${BASE}/namespaces/${seg(ns)}/services/${seg(service)}/instances/${seg(id)}`;
  }
}
