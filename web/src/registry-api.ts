// Client of the service registry's REST API (/api/registry/v1). Types come from the registry lib's model
// (libs/registry/src/model.ts), imported type-only.
import type {
  HeartbeatResult,
  InstanceStatus,
  ListInstancesResult,
  ListServicesResult,
  RegistryInstance,
} from '../../libs/registry/src/model';
import { request } from './api';

export type * from '../../libs/registry/src/model';

const B = '/api/registry/v1';
const e = encodeURIComponent;
const inst = (ns: string, service: string, id: string): string =>
  `${B}/namespaces/${e(ns)}/services/${e(service)}/instances/${e(id)}`;

export const registryApi = {
  namespaces: () => request<{ namespaces: string[] }>('GET', `${B}/namespaces`),
  services: (ns: string) => request<ListServicesResult>('GET', `${B}/namespaces/${e(ns)}/services`),
  instances: (ns: string, service: string) =>
    request<ListInstancesResult>('GET', `${B}/namespaces/${e(ns)}/services/${e(service)}/instances`),
  setStatus: (ns: string, service: string, id: string, status: InstanceStatus) =>
    request<RegistryInstance>('PATCH', inst(ns, service, id), { status }),
  deregister: (ns: string, service: string, id: string) =>
    request<{ revision: string }>('DELETE', inst(ns, service, id)),
  heartbeat: (ns: string, service: string, id: string) =>
    request<HeartbeatResult>('PUT', `${inst(ns, service, id)}/heartbeat`),
  watchNamespaceUrl: (ns: string) => `${B}/namespaces/${e(ns)}/watch`,
};

/** The registry's rule (libs/registry isHealthy): UP and not critical. */
export const countsAsHealthy = (i: Pick<RegistryInstance, 'status' | 'health'>): boolean =>
  i.status === 'UP' && i.health.status !== 'critical';
