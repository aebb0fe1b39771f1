export { EtcdClient, type EtcdClientOptions } from './client';
export {
  EndpointPool,
  type EndpointOptions,
  type ClientTls,
  callWithFailover,
  unaryCall,
  isRetryable,
  lookupService,
  toGrpcAddress,
} from './endpoints';
export { AuthSession, type Credentials, isStaleTokenError } from './auth-session';
export { KeepAliveChannel, LeaseKeepAlive, type KeepAliveOptions } from './lease-keeper';
export { Watcher, WatchCompactedError, type WatchOptions } from './watch';
export * from './types';
// The one copy of etcd's GetPrefixRangeEnd lives in @cairn/api; the SDK keeps offering it.
export { prefixEnd } from '@cairn/api';
