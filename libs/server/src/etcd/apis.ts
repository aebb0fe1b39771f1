// The etcd API objects one member serves; gRPC services and the JSON gateway share them.
import type { CairnNode } from '../node';
import { AuthApi, type AuthApiOptions } from './auth-api';
import { ElectionApi } from './election-api';
import { KvApi } from './kv-api';
import { LeaseApi } from './lease-api';
import { LockApi, type RecipeSource } from './lock-api';
import { MaintenanceApi } from './maintenance-api';

export interface EtcdApis {
  kv: KvApi;
  lease: LeaseApi;
  maintenance: MaintenanceApi;
  auth: AuthApi;
}

export function createEtcdApis(node: CairnNode, maxTxnOps: number, auth: AuthApiOptions): EtcdApis {
  return {
    kv: new KvApi(node, maxTxnOps),
    lease: new LeaseApi(node),
    maintenance: new MaintenanceApi(node),
    auth: new AuthApi(node, auth),
  };
}

export interface RecipeApis {
  lock: LockApi;
  election: ElectionApi;
}

/**
 * etcd's Lock and Election services, built over the member's EtcdPort (not the node, unlike the APIs above):
 * they are recipes over KV, watch and leases run with the caller's context, so permissions, forwarding and
 * snapshot installs are the port's business. Stateless: each surface may build its own.
 */
export function createRecipeApis(source: RecipeSource): RecipeApis {
  return { lock: new LockApi(source), election: new ElectionApi(source) };
}
