import { printResult, type Command } from '../cli/command';
import { connectionFlags, DEFAULT_TOTAL, parsePids } from '../cli/common-flags';
import { flag, parseFlags, UsageError } from '../cli/flags';
import type { StopCondition } from '../load/stop-condition';
import { runLeaseKeepAliveWorkload } from '../workloads/lease-keepalive';
import { withPool } from './with-pool';

const flags = {
  ...connectionFlags,
  leases: flag.int('leases kept alive, one keep-alive in flight each', 64),
  streams: flag.int('keep-alive streams the leases are spread over', 1),
  ttl: flag.int('TTL of the granted leases, in seconds', 60),
  total: flag.optionalInt(`keep-alives to send (default ${DEFAULT_TOTAL} unless --duration is given)`),
  duration: flag.optionalDuration('run for this long instead of a keep-alive count'),
};

export const leaseKeepAliveCommand: Command = {
  name: 'lease-keepalive',
  summary: 'LeaseKeepAlive stream throughput (keep-alives/s)',
  flags,
  async run(argv, out) {
    const parsed = parseFlags(argv, flags);
    if (parsed.total !== undefined && parsed.duration !== undefined) {
      throw new UsageError('give either --total or --duration, not both');
    }
    if (parsed.streams > parsed.leases) throw new UsageError('--streams cannot exceed --leases');
    const stop: StopCondition =
      parsed.duration !== undefined
        ? { kind: 'duration', ms: parsed.duration }
        : { kind: 'total', requests: parsed.total ?? DEFAULT_TOTAL };
    const result = await withPool(parsed, (pool) =>
      runLeaseKeepAliveWorkload(pool, {
        leases: parsed.leases,
        streams: parsed.streams,
        ttlSeconds: parsed.ttl,
        stop,
        serverPids: parsePids(parsed['server-pid']),
      }),
    );
    printResult(result, parsed.json, out);
  },
};
