// Writes and reads with etcd's Go client (goal 1): `bench go-load` once per member count, etcd and Cairn
// interleaved inside it; its runs come back as JSON lines (CAIRN_BENCH_RUN_JSON) and become rows of
// throughput and server CPU per request, Cairn against etcd.

import { parseRunJsonLines, RUN_JSON_ENV } from '../../compare/interleave';
import { describeWorkload, parseWorkloadName } from '../../compare/workload-spec';
import { serverMicrosPerRequest, type RunResult } from '../../report/run-result';
import { errorText, runRecordedTolerant, type SuiteContext } from '../context';
import { goals, type SuiteRow } from '../table';

export async function writesSection(ctx: SuiteContext): Promise<SuiteRow[]> {
  const rows: SuiteRow[] = [];
  for (const members of ctx.plan.writes.members) rows.push(...(await writesOn(ctx, members)));
  return rows;
}

async function writesOn(ctx: SuiteContext, members: number): Promise<SuiteRow[]> {
  const plan = ctx.plan.writes;
  const section = `writes (Go clientv3), ${members} member${members === 1 ? '' : 's'}`;
  const runs = members === 1 ? plan.runs : plan.runsMultiMember;
  try {
    const outcome = await runRecordedTolerant(
      ctx,
      process.execPath,
      [
        ctx.benchMain,
        'go-load',
        ...['--workloads', plan.workloads.join(','), '--members', String(members), '--runs', String(runs)],
        ...['--duration', `${plan.durationMs}ms`, '--warmup', `${plan.warmupMs}ms`],
        ...['--prime', `${plan.primeMs}ms`, '--pause', `${plan.pauseMs}ms`, '--targets', 'etcd,cairn'],
        ...['--etcd-bin', ctx.etcdBin, '--cairn-bin', ctx.cairnBin, ...ctx.extraArgs.goLoad],
      ],
      { [RUN_JSON_ENV]: '1' },
    );
    const results = parseRunJsonLines(outcome.stdout);
    if (outcome.failure === undefined) return writeRows(section, plan.workloads, results);
    // A failed go-load still reported the runs before the failure: keep those, and add its error.
    const ran = plan.workloads.filter((name) => results[name] !== undefined);
    return [
      ...(ran.length > 0 ? writeRows(section, ran, results) : []),
      { kind: 'failed', section, name: 'go-load', error: outcome.failure },
    ];
  } catch (error) {
    return [{ kind: 'failed', section, name: 'go-load', error: errorText(error) }];
  }
}

/** Rows of one go-load run: per workload, throughput and server CPU per request; then failed requests. */
export function writeRows(
  section: string,
  workloadNames: readonly string[],
  results: Record<string, Record<string, RunResult[]>>,
): SuiteRow[] {
  const rows: SuiteRow[] = [];
  let cairnErrors = 0;
  let etcdErrors = 0;
  for (const name of workloadNames) {
    const workload = parseWorkloadName(name);
    const cairn = results[name]?.cairn ?? [];
    const etcd = results[name]?.etcd ?? [];
    if (cairn.length === 0 || etcd.length === 0) {
      rows.push({ kind: 'failed', section, name, error: 'no runs reported for this workload' });
      continue;
    }
    cairnErrors += cairn.reduce((sum, r) => sum + r.errors, 0);
    etcdErrors += etcd.reduce((sum, r) => sum + r.errors, 0);
    const isPut = workload.kind === 'put';
    rows.push({
      kind: 'measured',
      section,
      name: `${describeWorkload(workload)}: requests/s`,
      unit: 'per-s',
      goal: isPut ? goals.ratioAtLeast(1, '≥ etcd (floor 0.9×)') : goals.ratioAtLeast(1.5, '≥ 1.5× etcd'),
      cairn: cairn.map((r) => r.throughput),
      etcd: etcd.map((r) => r.throughput),
    });
    const cpu = (runs: RunResult[]): number[] => runs.map((r) => serverMicrosPerRequest(r) ?? Number.NaN);
    rows.push({
      kind: 'measured',
      section,
      name: `${describeWorkload(workload)}: server CPU per request`,
      unit: 'us',
      ...(isPut ? { goal: goals.ratioAtMost(1, '≤ etcd') } : {}),
      cairn: cpu(cairn),
      etcd: cpu(etcd),
    });
  }
  rows.push({
    kind: 'measured',
    section,
    name: 'failed requests, all runs',
    unit: 'count',
    goal: goals.atMost(0, '0'),
    cairn: [cairnErrors],
    etcd: [etcdErrors],
  });
  return rows;
}
