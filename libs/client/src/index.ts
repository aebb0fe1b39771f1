// @cairn/client: the TypeScript SDK. etcd v3 core (KV, Txn, leases with keep-alive, resumable watches,
// endpoint failover), the service-registry SDK and the config SDK.
export * from './etcd/index';
export * from './registry/index';
export * from './config/index';
