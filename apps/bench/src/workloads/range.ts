// Range workload: the same key (or prefix) read over and over, linearizable or serializable.
// The keys are written first so every read returns data.

import { randomBytes } from 'node:crypto';
import type { ConnectionPool } from '../grpc/connection-pool';
import { unaryAsync } from '../grpc/transport';
import { Methods } from '../grpc/methods';
import { runClosedLoop } from '../load/closed-loop';
import { KeyGenerator } from '../load/key-generator';
import type { StopCondition } from '../load/stop-condition';
import { prefixEnd } from '@cairn/api';
import { encodePutRequest, encodeRangeRequest } from '../proto/etcd-messages';
import type { RunResult } from '../report/run-result';
import { runUnaryLoad } from './unary-load';

export type Consistency = 'l' | 's';

export interface RangeWorkloadOptions {
  clients: number;
  stop: StopCondition;
  warmupMs: number;
  key: string;
  prefix: boolean;
  consistency: Consistency;
  /** With --prefix: how many keys to write under the prefix before reading. */
  prefixKeys: number;
  valueSize: number;
  serverPids: readonly number[];
}

export async function runRangeWorkload(
  pool: ConnectionPool,
  options: RangeWorkloadOptions,
): Promise<RunResult> {
  const key = Buffer.from(options.key);
  await populate(pool, options);
  const request = encodeRangeRequest({
    key,
    rangeEnd: options.prefix ? prefixEnd(key) : undefined,
    serializable: options.consistency === 's',
  });
  const what = options.prefix
    ? `prefix "${options.key}" (${options.prefixKeys} keys)`
    : `key "${options.key}"`;
  const consistency = options.consistency === 's' ? 'serializable' : 'linearizable';
  return runUnaryLoad(pool, {
    workload: `range ${consistency}, ${options.clients} clients, ${what}`,
    method: Methods.range,
    clients: options.clients,
    stop: options.stop,
    warmupMs: options.warmupMs,
    serverPids: options.serverPids,
    // The request never changes and is never mutated, so one buffer serves every call.
    request: () => request,
  });
}

async function populate(pool: ConnectionPool, options: RangeWorkloadOptions): Promise<void> {
  const value = randomBytes(options.valueSize);
  if (!options.prefix) {
    await unaryAsync(pool.forClient(0), Methods.put, encodePutRequest(Buffer.from(options.key), value));
    return;
  }
  const keys = new KeyGenerator({
    prefix: options.key,
    keySize: options.key.length + String(Math.max(0, options.prefixKeys - 1)).length,
    keySpace: options.prefixKeys,
    sequential: true,
  });
  const outcome = await runClosedLoop(
    Math.min(64, options.prefixKeys),
    { kind: 'total', requests: options.prefixKeys },
    (clientIndex, sequence, done) =>
      pool.forClient(clientIndex).unary(Methods.put, encodePutRequest(keys.keyAt(sequence), value), done),
  );
  if (outcome.errors.count > 0) {
    throw new Error(`writing the keys to read failed: ${outcome.errors.summary().join('; ')}`);
  }
}
