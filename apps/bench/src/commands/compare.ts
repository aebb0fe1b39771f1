import { resolve } from 'node:path';
import type { Command } from '../cli/command';
import { flag, parseFlags, UsageError } from '../cli/flags';
import { runCompare, type CompareTarget } from '../compare/compare-runner';
import { parseWorkloadName } from '../compare/workload-spec';
import { TRANSPORTS } from '../grpc/transport';

// dist/commands (or src/commands under vitest) → the repository root.
const REPO_ROOT = resolve(__dirname, '../../../..');
// cairn-b: a second Cairn build or flag set, for A/B runs of a change (`--targets cairn,cairn-b`).
const KNOWN_TARGETS = ['etcd', 'cairn', 'cairn-b'];

const flags = {
  workloads: flag.list('workloads: put<N>, get-l<N>, get-s<N>', [
    'put1',
    'put64',
    'put256',
    'get-l64',
    'get-s64',
  ]),
  duration: flag.duration('length of each measured run', 10_000),
  runs: flag.int('runs per workload and server (the median is reported)', 3),
  warmup: flag.duration('unmeasured load before each run', 1000),
  prime: flag.duration(
    'unmeasured load on each fresh cluster before its first run, spread over the workloads (JIT warm-up)',
    10_000,
  ),
  pause: flag.duration('idle time between runs', 500),
  targets: flag.list('servers to run, in this order within each round', ['etcd', 'cairn'], 'etcd,cairn'),
  members: flag.int('members per cluster', 1),
  'load-to': flag.choice(
    'send load to the leader only, or spread connections over all members',
    ['leader', 'all'] as const,
    'leader',
  ),
  conns: flag.int('gRPC connections per server', 1),
  transport: flag.choice('client transport (see `bench put --help`)', TRANSPORTS, 'http2'),
  'key-size': flag.int('put key size in bytes', 16),
  'val-size': flag.int('value size in bytes', 256, 0),
  'key-space': flag.int('distinct put keys', 100_000),
  'etcd-bin': flag.string('real etcd binary', '/usr/bin/etcd', 'PATH'),
  'cairn-bin': flag.string('Cairn launcher', resolve(REPO_ROOT, 'bin/cairn'), 'PATH'),
  'cairn-b-bin': flag.string('launcher of the cairn-b target (default: --cairn-bin)', '', 'PATH'),
  'cairn-b-flags': flag.string('extra flags for every cairn-b member (space-separated)', '', 'FLAGS'),
  'etcd-flags': flag.string('extra flags for every etcd member (space-separated)', '', 'FLAGS'),
  'cairn-flags': flag.string('extra flags for every Cairn member (space-separated)', '', 'FLAGS'),
  'keep-data': flag.bool('keep the data dirs and server logs (always kept after a failure)'),
  tls: flag.bool('https client URLs with --client-cert-auth on every server (test CA made with openssl)'),
  auth: flag.choice(
    'etcd auth on every server, load as a non-root user sending its token: simple or jwt (RS256) tokens',
    ['off', 'simple', 'jwt'] as const,
    'off',
  ),
};

export const compareCommand: Command = {
  name: 'compare',
  summary: 'fresh real etcd and fresh Cairn, same workloads interleaved, markdown table',
  flags,
  async run(argv, out) {
    const parsed = parseFlags(argv, flags);
    const targets: CompareTarget[] = parsed.targets.map((label) => {
      if (!KNOWN_TARGETS.includes(label))
        throw new UsageError(`unknown target "${label}": use ${KNOWN_TARGETS.join(', ')}`);
      if (label === 'etcd') {
        return { label, command: parsed['etcd-bin'], extraArgs: splitFlags(parsed['etcd-flags']) };
      }
      if (label === 'cairn-b') {
        return {
          label,
          command: parsed['cairn-b-bin'] || parsed['cairn-bin'],
          extraArgs: splitFlags(parsed['cairn-b-flags']),
        };
      }
      return { label, command: parsed['cairn-bin'], extraArgs: splitFlags(parsed['cairn-flags']) };
    });
    await runCompare(
      {
        targets,
        workloads: parsed.workloads.map(parseWorkloadName),
        runs: parsed.runs,
        durationMs: parsed.duration,
        warmupMs: parsed.warmup,
        primeMs: parsed.prime,
        pauseMs: parsed.pause,
        members: parsed.members,
        loadTo: parsed['load-to'],
        conns: parsed.conns,
        transport: parsed.transport,
        keySize: parsed['key-size'],
        valueSize: parsed['val-size'],
        keySpace: parsed['key-space'],
        keepData: parsed['keep-data'],
        tls: parsed.tls,
        auth: parsed.auth,
      },
      out,
    );
  },
};

function splitFlags(raw: string): string[] {
  return raw.split(/\s+/).filter((part) => part.length > 0);
}
