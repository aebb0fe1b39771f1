// Service registry at scale (goal 2, Cairn only): `bench registry --json` on a fresh cluster per run.

import { lastJsonBlock } from '../child';
import { errorText, runBench, type SuiteContext } from '../context';
import { goals, type Goal, type SuiteRow } from '../table';

/** The fields of `bench registry --json` the suite reads. */
export interface RegistryResult {
  members: number;
  instances: number;
  ttlSeconds: number;
  registrationsPerSecond: number;
  leasesLost: number;
  cpuMicrosPerKeepalive: number;
  /** Newer builds of the command: CPU per instance renewed (batches and sessions renew many per message). */
  cpuMicrosPerInstanceKeptAlive?: number;
  rssBytesPerInstancePerMember?: number;
  proposalsPerRegistration?: number;
  rssMiB: { idle: number; loaded: number };
  deathToLastSubscriberMs: { min: number; p50: number; max: number };
}

export async function registrySection(ctx: SuiteContext): Promise<SuiteRow[]> {
  const plan = ctx.plan.registry;
  const section = `registry, ${plan.members} members, ${plan.instances.toLocaleString('en-US')} instances, TTL ${plan.ttlSeconds} s, ${plan.subscribers} subscribers`;
  const results: RegistryResult[] = [];
  try {
    for (let run = 0; run < plan.runs; run++) {
      const outcome = await runBench(ctx, [
        'registry',
        ...['--members', String(plan.members), '--instances', String(plan.instances)],
        ...['--ttl', String(plan.ttlSeconds), '--hold', `${plan.holdMs}ms`, '--kills', String(plan.kills)],
        ...['--subscribers', String(plan.subscribers), '--cairn-bin', ctx.cairnBin, '--json'],
        ...ctx.extraArgs.registry,
      ]);
      results.push(lastJsonBlock(outcome.stdout) as RegistryResult);
    }
  } catch (error) {
    return [{ kind: 'failed', section, name: 'bench registry', error: errorText(error) }];
  }
  return registryRows(section, results);
}

export function registryRows(section: string, results: readonly RegistryResult[]): SuiteRow[] {
  type Unit = 'per-s' | 'us' | 'B' | 'count' | 'ms';
  const row = (name: string, unit: Unit, goal: Goal, metric: (r: RegistryResult) => number): SuiteRow => ({
    kind: 'measured',
    section,
    name,
    unit,
    goal,
    cairn: results.map(metric),
  });
  const ttlMs = (results[0]?.ttlSeconds ?? 10) * 1000;
  const reportsProposals = results.some((r) => r.proposalsPerRegistration !== undefined);
  return [
    row('registrations/s', 'per-s', goals.atLeast(5000, '≥ 5,000/s'), (r) => r.registrationsPerSecond),
    ...(reportsProposals
      ? [
          row(
            'Raft proposals per registration',
            'count',
            goals.atMost(1, '1'),
            (r) => r.proposalsPerRegistration ?? Number.NaN,
          ),
        ]
      : []),
    row(
      'server CPU per renewal (per instance kept alive), summed over members',
      'us',
      goals.atMost(30, '≤ 30 µs'),
      (r) => r.cpuMicrosPerInstanceKeptAlive ?? r.cpuMicrosPerKeepalive,
    ),
    row(
      'RSS per instance per member',
      'B',
      goals.atMost(8192, '≤ 8 KB'),
      (r) =>
        r.rssBytesPerInstancePerMember ??
        ((r.rssMiB.loaded - r.rssMiB.idle) * 2 ** 20) / r.instances / r.members,
    ),
    row('leases lost', 'count', goals.atMost(0, '0'), (r) => r.leasesLost),
    row(
      'death → last subscriber, slowest of the kills',
      'ms',
      goals.atMost(ttlMs + 1000, `≤ TTL + 1 s (${((ttlMs + 1000) / 1000).toFixed(0)} s)`),
      (r) => r.deathToLastSubscriberMs.max,
    ),
  ];
}
