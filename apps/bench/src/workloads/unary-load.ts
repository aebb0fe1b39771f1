// Runs a closed loop of one unary RPC over a connection pool: optional warm-up, then the
// measured phase with CPU readings. Put and Range are both this with a different request.

import type { ConnectionPool } from '../grpc/connection-pool';
import { runClosedLoop } from '../load/closed-loop';
import type { StopCondition } from '../load/stop-condition';
import { resultFromLoop, type RunResult } from '../report/run-result';
import { measureCpu } from './measure';

export interface UnaryLoadOptions {
  workload: string;
  method: string;
  clients: number;
  stop: StopCondition;
  warmupMs: number;
  serverPids: readonly number[];
  /** Builds the request for request number `sequence`. */
  request(sequence: number): Buffer;
}

export async function runUnaryLoad(pool: ConnectionPool, options: UnaryLoadOptions): Promise<RunResult> {
  const issue = (clientIndex: number, sequence: number, done: (error: Error | null) => void): void => {
    pool.forClient(clientIndex).unary(options.method, options.request(sequence), (error) => done(error));
  };
  if (options.warmupMs > 0) {
    await runClosedLoop(options.clients, { kind: 'duration', ms: options.warmupMs }, issue);
  }
  const measured = await measureCpu(options.serverPids, () =>
    runClosedLoop(options.clients, options.stop, issue),
  );
  return resultFromLoop(options.workload, measured.value, measured.clientCpu, measured.serverCpu);
}
