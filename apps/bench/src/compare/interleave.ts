// The interleaved-runs loop shared by compare, go-load and the suite: for every workload, run after run,
// each target in turn (etcd, Cairn, etcd, Cairn, …), so that the machine's noise hits every target alike.

import type { Output } from '../cli/command';
import type { RunResult } from '../report/run-result';
import { formatRunLine } from './markdown-report';

/** results[workload name][target label]: every run's result, in run order. */
export type RunsByWorkload<R> = Record<string, Record<string, R[]>>;

export interface InterleavedSpec<T, W extends { name: string }, R> {
  workloads: readonly W[];
  runs: number;
  targets: readonly T[];
  labelOf(target: T): string;
  runOne(target: T, workload: W, run: number): Promise<R>;
  /** Reports one run as it finishes (a progress line). */
  onResult?(workload: W, run: number, target: T, result: R): void;
  /** Idle time after every run. */
  pauseMs: number;
}

export async function runInterleaved<T, W extends { name: string }, R>(
  spec: InterleavedSpec<T, W, R>,
): Promise<RunsByWorkload<R>> {
  const results: RunsByWorkload<R> = {};
  for (const workload of spec.workloads) {
    for (let run = 1; run <= spec.runs; run++) {
      for (const target of spec.targets) {
        const result = await spec.runOne(target, workload, run);
        ((results[workload.name] ??= {})[spec.labelOf(target)] ??= []).push(result);
        spec.onResult?.(workload, run, target, result);
        if (spec.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, spec.pauseMs));
      }
    }
  }
  return results;
}

/**
 * Set in the environment of a compare or go-load process (the suite does): every run is also printed as one
 * line `RUN_JSON_MARKER {"workload","run","runs","target","result"}`, so a parent reads full-precision
 * results without parsing the tables.
 */
export const RUN_JSON_ENV = 'CAIRN_BENCH_RUN_JSON';
export const RUN_JSON_MARKER = 'bench-run-json';

export interface RunJsonLine {
  workload: string;
  run: number;
  runs: number;
  target: string;
  result: RunResult;
}

/** The onResult of compare and go-load: the progress line, the run's errors, and the JSON line if asked. */
export function reportRunTo<T, W extends { name: string }>(
  out: Output,
  runs: number,
  nameWidth: number,
  labelOf: (target: T) => string,
): (workload: W, run: number, target: T, result: RunResult) => void {
  const asJson = process.env[RUN_JSON_ENV] === '1';
  return (workload, run, target, result) => {
    out(formatRunLine(workload.name, run, runs, labelOf(target), nameWidth, result));
    for (const message of result.errorMessages) out(`    error: ${message}`);
    if (asJson) {
      const line: RunJsonLine = { workload: workload.name, run, runs, target: labelOf(target), result };
      out(`${RUN_JSON_MARKER} ${JSON.stringify(line)}`);
    }
  };
}

/** The run JSON lines in a child's output, back to results[workload][target]. */
export function parseRunJsonLines(lines: readonly string[]): RunsByWorkload<RunResult> {
  const results: RunsByWorkload<RunResult> = {};
  for (const line of lines) {
    if (!line.startsWith(`${RUN_JSON_MARKER} `)) continue;
    const parsed = JSON.parse(line.slice(RUN_JSON_MARKER.length + 1)) as RunJsonLine;
    ((results[parsed.workload] ??= {})[parsed.target] ??= []).push(parsed.result);
  }
  return results;
}
