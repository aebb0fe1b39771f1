// Public surface, for other projects' tests and scripts that want to drive a load programmatically.
export { runCli } from './cli/run-cli';
export { ConnectionPool, createConnection } from './grpc/connection-pool';
export type { Connection, TransportKind } from './grpc/transport';
export { runPutWorkload } from './workloads/put';
export { runRangeWorkload } from './workloads/range';
export { runWatchWorkload } from './workloads/watch';
export { runLeaseKeepAliveWorkload } from './workloads/lease-keepalive';
export { startCluster, type Cluster } from './servers/cluster';
export type { RunResult } from './report/run-result';
