// The etcd API objects one member serves; gRPC services and the JSON gateway share them.
import type { CairnNode } from '../node';
import { AuthApi, type AuthApiOptions } from './auth-api';
import { KvApi } from './kv-api';
import { LeaseApi } from './lease-api';
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
