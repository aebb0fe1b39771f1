// The compare command's output: a markdown table per server, and a side-by-side table with the
// Cairn/etcd ratio when both were measured.

import { formatMs, formatRate } from '../report/format-run';
import type { RunResult } from '../report/run-result';
import { summarizeRuns, type RunSummary } from './summary';
import { describeWorkload, type CompareWorkload } from './workload-spec';

export interface CompareTable {
  workloads: readonly CompareWorkload[];
  /** Server labels in the order they were run, e.g. ["etcd", "cairn"]. */
  targets: readonly string[];
  /** summaries[workload name][target label] */
  summaries: Record<string, Record<string, RunSummary>>;
}

const DISPLAY_NAMES: Record<string, string> = { etcd: 'etcd', cairn: 'Cairn', 'cairn-b': 'Cairn B' };

export function displayName(target: string): string {
  return DISPLAY_NAMES[target] ?? target;
}

/** Every run's results, results[workload name][target label], reduced to the table of their medians. */
export function compareTableOf(
  workloads: readonly CompareWorkload[],
  targets: readonly string[],
  results: Record<string, Record<string, RunResult[]>>,
): CompareTable {
  const summaries: Record<string, Record<string, RunSummary>> = {};
  for (const [workload, byTarget] of Object.entries(results)) {
    summaries[workload] = Object.fromEntries(
      Object.entries(byTarget).map(([target, runs]) => [target, summarizeRuns(runs)]),
    );
  }
  return { workloads, targets, summaries };
}

/** The progress line of one measured run. */
export function formatRunLine(
  workload: string,
  run: number,
  runs: number,
  target: string,
  nameWidth: number,
  result: RunResult,
): string {
  return (
    `  ${workload} run ${run}/${runs} ${displayName(target).padEnd(nameWidth)} ` +
    `${formatRate(result.throughput).padStart(7)} req/s  p50 ${formatMs(result.latency.p50)} ` +
    `p99 ${formatMs(result.latency.p99)} ms  errors ${result.errors}  ` +
    `client ${result.clientCpu.cores.toFixed(2)} cores` +
    (result.serverCpu ? `  server ${result.serverCpu.cores.toFixed(2)} cores` : '')
  );
}

export function formatPerTargetTable(table: CompareTable): string[] {
  const lines = [
    '| workload | server | req/s (median) | req/s of each run | p50 ms | p90 ms | p99 ms | max ms | errors | client CPU cores | client µs/req | server CPU cores | server µs/req |',
    '|---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const workload of table.workloads) {
    for (const target of table.targets) {
      const summary = table.summaries[workload.name]?.[target];
      if (!summary) continue;
      lines.push(
        `| ${workload.name} (${describeWorkload(workload)}) | ${displayName(target)} | ${formatRate(summary.throughput)} | ${summary.throughputs.map(formatRate).join(' / ')} | ${formatMs(summary.p50)} | ${formatMs(summary.p90)} | ${formatMs(summary.p99)} | ${formatMs(summary.max)} | ${summary.errors} | ${summary.clientCores.toFixed(2)} | ${summary.clientMicrosPerRequest.toFixed(0)} | ${optional(summary.serverCores, 2)} | ${optional(summary.serverMicrosPerRequest, 0)} |`,
      );
    }
  }
  return lines;
}

/** Side by side; `base` is the reference server (etcd), `other` the one compared with it. */
export function formatRatioTable(table: CompareTable, base: string, other: string): string[] {
  const b = displayName(base);
  const o = displayName(other);
  const lines = [
    `| workload | ${b} req/s | ${o} req/s | ${o}/${b} | ${b} p50 / p90 / p99 ms | ${o} p50 / p90 / p99 ms | client CPU cores ${b} / ${o} | server CPU µs/req ${b} / ${o} |`,
    '|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const workload of table.workloads) {
    const baseSummary = table.summaries[workload.name]?.[base];
    const otherSummary = table.summaries[workload.name]?.[other];
    if (!baseSummary || !otherSummary) continue;
    const ratio =
      baseSummary.throughput > 0 ? (otherSummary.throughput / baseSummary.throughput).toFixed(2) : 'n/a';
    lines.push(
      `| ${workload.name} | ${formatRate(baseSummary.throughput)} | ${formatRate(otherSummary.throughput)} | ${ratio} | ${latencies(baseSummary)} | ${latencies(otherSummary)} | ${baseSummary.clientCores.toFixed(2)} / ${otherSummary.clientCores.toFixed(2)} | ${optional(baseSummary.serverMicrosPerRequest, 0)} / ${optional(otherSummary.serverMicrosPerRequest, 0)} |`,
    );
  }
  return lines;
}

function latencies(summary: RunSummary): string {
  return `${formatMs(summary.p50)} / ${formatMs(summary.p90)} / ${formatMs(summary.p99)}`;
}

function optional(value: number | undefined, digits: number): string {
  return value === undefined ? 'n/a' : value.toFixed(digits);
}
