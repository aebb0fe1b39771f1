// `bench failover`: kill -9 of the leader of an N-member real etcd and Cairn, round after round,
// and how long until a new leader is seen and the first write succeeds.

import { resolve } from 'node:path';
import type { Command } from '../cli/command';
import { flag, parseFlags, UsageError } from '../cli/flags';
import { runFailover, type FailoverTarget } from './failover-runner';

// dist/failover (or src/failover under vitest) → the repository root.
const REPO_ROOT = resolve(__dirname, '../../../..');
const KNOWN_TARGETS = ['etcd', 'cairn'];

const flags = {
  members: flag.int('members per cluster (at least 3)', 3, 3),
  rounds: flag.int('leader kills per target (the targets take turns)', 5),
  targets: flag.list('servers to run, in this order within each round', ['etcd', 'cairn'], 'etcd,cairn'),
  'heartbeat-interval': flag.int('--heartbeat-interval (ms) given to every member of both targets', 100),
  'election-timeout': flag.int('--election-timeout (ms) given to every member of both targets', 1000),
  rate: flag.int('puts per second in all, open loop, round-robin over the members', 200),
  'val-size': flag.int('value size in bytes', 256, 0),
  steady: flag.duration('write load before each kill', 2000),
  down: flag.duration('how long the killed member stays down after writes resume', 500),
  settle: flag.duration('load after the restarted member follows the leader again', 1000),
  poll: flag.duration('Status polling interval per surviving member', 10),
  timeout: flag.duration('bound for a new leader, the first write, and a restart', 20_000),
  'etcd-bin': flag.string('real etcd binary', '/usr/bin/etcd', 'PATH'),
  'cairn-bin': flag.string('Cairn launcher', resolve(REPO_ROOT, 'bin/cairn'), 'PATH'),
  'etcd-flags': flag.string('extra flags for every etcd member (space-separated)', '', 'FLAGS'),
  'cairn-flags': flag.string('extra flags for every Cairn member (space-separated)', '', 'FLAGS'),
  'keep-data': flag.bool('keep the data dirs and server logs (always kept after a failure)'),
  json: flag.bool('print every round and the summaries as JSON at the end'),
};

export const failoverCommand: Command = {
  name: 'failover',
  summary: 'kill -9 the leader of N-member etcd and Cairn, time to new leader and first write',
  flags,
  async run(argv, out) {
    const parsed = parseFlags(argv, flags);
    if (parsed['election-timeout'] < 5 * parsed['heartbeat-interval']) {
      throw new UsageError(
        '--election-timeout must be at least 5 × --heartbeat-interval (etcd refuses less)',
      );
    }
    const targets: FailoverTarget[] = parsed.targets.map((label) => {
      if (!KNOWN_TARGETS.includes(label))
        throw new UsageError(`unknown target "${label}": use etcd and/or cairn`);
      const isEtcd = label === 'etcd';
      return {
        label,
        command: isEtcd ? parsed['etcd-bin'] : parsed['cairn-bin'],
        extraArgs: splitFlags(isEtcd ? parsed['etcd-flags'] : parsed['cairn-flags']),
      };
    });
    const result = await runFailover(
      {
        targets,
        members: parsed.members,
        rounds: parsed.rounds,
        heartbeatIntervalMs: parsed['heartbeat-interval'],
        electionTimeoutMs: parsed['election-timeout'],
        ratePerSecond: parsed.rate,
        valueSize: parsed['val-size'],
        steadyMs: parsed.steady,
        downMs: parsed.down,
        settleMs: parsed.settle,
        pollMs: parsed.poll,
        timeoutMs: parsed.timeout,
        keepData: parsed['keep-data'],
      },
      out,
    );
    if (parsed.json) out(JSON.stringify(result, null, 2));
  },
};

function splitFlags(raw: string): string[] {
  return raw.split(/\s+/).filter((part) => part.length > 0);
}
