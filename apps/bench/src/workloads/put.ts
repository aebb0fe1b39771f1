// Put workload: fixed-size keys over a key space (random or sequential), one fixed value.

import { randomBytes } from 'node:crypto';
import type { ConnectionPool } from '../grpc/connection-pool';
import { Methods } from '../grpc/methods';
import { KeyGenerator } from '../load/key-generator';
import type { StopCondition } from '../load/stop-condition';
import { encodePutRequest } from '../proto/etcd-messages';
import type { RunResult } from '../report/run-result';
import { runUnaryLoad } from './unary-load';

export interface PutWorkloadOptions {
  clients: number;
  stop: StopCondition;
  warmupMs: number;
  keySize: number;
  valueSize: number;
  keySpace: number;
  sequentialKeys: boolean;
  serverPids: readonly number[];
  /** Prepended to every key (default "" like etcd's benchmark). */
  keyPrefix?: string;
}

export function runPutWorkload(pool: ConnectionPool, options: PutWorkloadOptions): Promise<RunResult> {
  const keys = new KeyGenerator({
    keySize: options.keySize,
    keySpace: options.keySpace,
    sequential: options.sequentialKeys,
    prefix: options.keyPrefix,
  });
  const value = randomBytes(options.valueSize);
  return runUnaryLoad(pool, {
    workload: `put, ${options.clients} clients, key ${options.keySize} B, value ${options.valueSize} B`,
    method: Methods.put,
    clients: options.clients,
    stop: options.stop,
    warmupMs: options.warmupMs,
    serverPids: options.serverPids,
    request: (sequence) => encodePutRequest(keys.keyFor(sequence), value),
  });
}
