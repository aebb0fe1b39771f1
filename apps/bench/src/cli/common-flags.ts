// Flags that every load command shares: where to connect, how hard to push, how long.

import { TRANSPORTS } from '../grpc/transport';
import type { StopCondition } from '../load/stop-condition';
import { flag, UsageError } from './flags';

export const DEFAULT_TOTAL = 10_000;
export const DEFAULT_WARMUP_MS = 1000;

export const connectionFlags = {
  endpoints: flag.list('etcd v3 gRPC endpoints', ['127.0.0.1:2379'], 'HOST:PORT,..'),
  conns: flag.int('gRPC connections, spread round-robin over the endpoints', 1),
  transport: flag.choice(
    'http2: gRPC framed by hand on node:http2 (less than half the client CPU); grpc-js: the @grpc/grpc-js client',
    TRANSPORTS,
    'http2',
  ),
  'server-pid': flag.list('PIDs of the server processes, to report their CPU use', [], 'PID,..'),
  json: flag.bool('print the result as JSON'),
  cacert: flag.optionalString(
    'TLS: CA bundle that signed the server certificate (connect over https)',
    'FILE',
  ),
  cert: flag.optionalString('TLS: client certificate (for --client-cert-auth)', 'FILE'),
  key: flag.optionalString('TLS: client certificate key', 'FILE'),
  user: flag.optionalString(
    'etcd auth: authenticate first and send the token with every request',
    'NAME:PASSWORD',
  ),
};

export const loadFlags = {
  clients: flag.int('requests in flight at once (closed loop)', 64),
  total: flag.optionalInt(`requests to send (default ${DEFAULT_TOTAL} unless --duration is given)`),
  duration: flag.optionalDuration('run for this long instead of a request count'),
  warmup: flag.optionalDuration(
    'unmeasured load before the run (default 1s with --duration, none with --total)',
  ),
};

/** "http://127.0.0.1:2379/" → "127.0.0.1:2379": gRPC wants host:port. */
export function normalizeEndpoint(endpoint: string): string {
  return endpoint.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
}

export function parsePids(raw: readonly string[]): number[] {
  return raw.map((item) => {
    const pid = Number(item);
    if (!Number.isSafeInteger(pid) || pid <= 0)
      throw new UsageError(`--server-pid wants process IDs, got "${item}"`);
    return pid;
  });
}

export interface LoadPlan {
  stop: StopCondition;
  warmupMs: number;
}

export function loadPlanFrom(flags: {
  total: number | undefined;
  duration: number | undefined;
  warmup: number | undefined;
}): LoadPlan {
  if (flags.total !== undefined && flags.duration !== undefined) {
    throw new UsageError('give either --total or --duration, not both');
  }
  if (flags.duration !== undefined) {
    if (flags.duration <= 0) throw new UsageError('--duration must be more than zero');
    return { stop: { kind: 'duration', ms: flags.duration }, warmupMs: flags.warmup ?? DEFAULT_WARMUP_MS };
  }
  return { stop: { kind: 'total', requests: flags.total ?? DEFAULT_TOTAL }, warmupMs: flags.warmup ?? 0 };
}
