// Watch fan-out (goal 4): per size, a fresh one-member etcd and a fresh one-member Cairn side by side, then
// `bench watch --json` against each in turn (interleaved), and the same puts with no watcher as the
// baseline the put rate under fan-out is compared with.

import { join } from 'node:path';
import { runInterleaved } from '../../compare/interleave';
import type { RunResult } from '../../report/run-result';
import { startCluster, type Cluster } from '../../servers/cluster';
import { median } from '../../stats/latency-histogram';
import { lastJsonBlock } from '../child';
import { errorText, runBench, type SuiteContext } from '../context';
import type { WatchSize } from '../plan';
import { goals, type SuiteRow } from '../table';

interface Target {
  label: 'etcd' | 'cairn';
  cluster: Cluster;
}

/** What the suite reads from one `bench watch --json` result. */
export interface WatchFigures {
  deliverySeconds: number;
  serverMicrosPerEvent: number;
  putsPerSecond: number;
  allDelivered: boolean;
}

export function watchFigures(result: RunResult): WatchFigures {
  // The counts and the put rate are only in the formatted details: "4990/5000 delivered in …", "… 1,234 puts/s …".
  const events = /^(\d+)\/(\d+) delivered/.exec(String(result.details?.events ?? ''));
  const puts = /([\d,.]+) puts\/s/.exec(String(result.details?.puts ?? ''));
  return {
    deliverySeconds: result.elapsedMs / 1000,
    serverMicrosPerEvent:
      result.serverCpu && result.requests > 0
        ? (result.serverCpu.cpuMs * 1000) / result.requests
        : Number.NaN,
    putsPerSecond: puts ? Number(puts[1].replace(/,/g, '')) : Number.NaN,
    allDelivered: events !== null && events[1] === events[2] && result.errors === 0,
  };
}

export async function watchSection(ctx: SuiteContext): Promise<SuiteRow[]> {
  const rows: SuiteRow[] = [];
  for (const size of ctx.plan.watch.sizes) rows.push(...(await watchAt(ctx, size)));
  return rows;
}

async function watchAt(ctx: SuiteContext, size: WatchSize): Promise<SuiteRow[]> {
  const section = `watch fan-out, 1 member, ${size.watchers.toLocaleString('en-US')} watchers / ${size.streams} streams / ${size.puts.toLocaleString('en-US')} puts / ${size.clients} writers`;
  const targets: Target[] = [];
  try {
    for (const label of ['etcd', 'cairn'] as const) {
      const cluster = await startCluster({
        label,
        command: label === 'etcd' ? ctx.etcdBin : ctx.cairnBin,
        members: 1,
        baseDir: join(ctx.baseDir, `watch-${size.watchers}-${label}`),
      });
      ctx.clusters.add(cluster);
      targets.push({ label, cluster });
      ctx.commands.push(
        `# the suite started 1 × ${label} for the next runs: PID ${cluster.pids[0]}, ${cluster.endpoints[0]}`,
      );
    }
    const watchRun = async (target: Target, watchers: number, streams: number): Promise<RunResult> => {
      const outcome = await runBench(ctx, [
        'watch',
        ...['--endpoints', target.cluster.endpoints[0], '--server-pid', target.cluster.pids.join(',')],
        ...['--watchers', String(watchers), '--streams', String(streams), '--puts', String(size.puts)],
        ...['--clients', String(size.clients), '--json', ...ctx.extraArgs.watch],
      ]);
      return lastJsonBlock(outcome.stdout) as RunResult;
    };
    const rows: SuiteRow[] = [];
    let fanout: Record<string, Record<string, RunResult[]>>;
    try {
      fanout = await runInterleaved({
        workloads: [{ name: 'fanout' }],
        runs: ctx.plan.watch.runs,
        targets,
        labelOf: (t) => t.label,
        runOne: (target) => watchRun(target, size.watchers, size.streams),
        pauseMs: 500,
      });
    } catch (error) {
      return [{ kind: 'failed', section, name: 'bench watch', error: errorText(error) }];
    }
    rows.push(...watchRows(section, fanout.fanout));
    try {
      const alone = await runInterleaved({
        workloads: [{ name: 'alone' }],
        runs: ctx.plan.watch.runs,
        targets,
        labelOf: (t) => t.label,
        runOne: (target) => watchRun(target, 0, 0),
        pauseMs: 500,
      });
      rows.push(baselineRow(section, fanout.fanout, alone.alone));
    } catch (error) {
      rows.push({
        kind: 'failed',
        section,
        name: 'puts/s with watchers ÷ puts/s alone',
        error: errorText(error),
      });
    }
    return rows;
  } catch (error) {
    return [{ kind: 'failed', section, name: 'servers', error: errorText(error) }];
  } finally {
    for (const { cluster } of targets) {
      await cluster.stop();
      ctx.clusters.delete(cluster);
    }
  }
}

export function watchRows(section: string, byTarget: Record<string, RunResult[]>): SuiteRow[] {
  const cairn = (byTarget.cairn ?? []).map(watchFigures);
  const etcd = (byTarget.etcd ?? []).map(watchFigures);
  const pick = (figures: WatchFigures[], metric: (f: WatchFigures) => number): number[] =>
    figures.map(metric);
  return [
    {
      kind: 'measured',
      section,
      name: 'first put → last event',
      unit: 's',
      goal: goals.ratioAtMost(1, '≤ etcd'),
      cairn: pick(cairn, (f) => f.deliverySeconds),
      etcd: pick(etcd, (f) => f.deliverySeconds),
    },
    {
      kind: 'measured',
      section,
      name: 'server CPU per event',
      unit: 'us',
      goal: goals.ratioAtMost(1, '≤ etcd (floor 2×)'),
      cairn: pick(cairn, (f) => f.serverMicrosPerEvent),
      etcd: pick(etcd, (f) => f.serverMicrosPerEvent),
    },
    {
      kind: 'measured',
      section,
      name: 'puts/s during the fan-out',
      unit: 'per-s',
      goal: goals.ratioAtLeast(1, '≥ etcd'),
      cairn: pick(cairn, (f) => f.putsPerSecond),
      etcd: pick(etcd, (f) => f.putsPerSecond),
    },
    {
      kind: 'measured',
      section,
      name: 'every watcher got every event',
      unit: 'yes-no',
      goal: goals.always('yes'),
      cairn: pick(cairn, (f) => (f.allDelivered ? 1 : 0)),
      etcd: pick(etcd, (f) => (f.allDelivered ? 1 : 0)),
    },
  ];
}

/** "Puts unaffected": each run's put rate under fan-out over the median put rate with no watcher. */
function baselineRow(
  section: string,
  fanout: Record<string, RunResult[]>,
  alone: Record<string, RunResult[]>,
): SuiteRow {
  const share = (label: string): number[] => {
    const base = (alone[label] ?? []).map((r) => watchFigures(r).putsPerSecond);
    const baseMedian = median(base);
    return (fanout[label] ?? []).map((r) => (100 * watchFigures(r).putsPerSecond) / baseMedian);
  };
  return {
    kind: 'measured',
    section,
    name: 'puts/s with watchers, % of puts/s with none',
    unit: 'pct',
    goal: goals.atLeast(90, 'unaffected (≈ 100 %)'),
    cairn: share('cairn'),
    etcd: share('etcd'),
  };
}
