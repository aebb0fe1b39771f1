// What one measured run produced, in the units the reports print.

import type { LoopOutcome } from '../load/closed-loop';
import type { CpuUse } from '../stats/cpu';

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface RunResult {
  /** Short name, e.g. "put, 64 clients". */
  workload: string;
  /** Successful requests. */
  requests: number;
  errors: number;
  errorMessages: string[];
  elapsedMs: number;
  /** Successful requests per second. */
  throughput: number;
  /** Request latency in ms. */
  latency: LatencySummary;
  clientCpu: CpuUse;
  /** Summed over the server processes, when their PIDs are known. */
  serverCpu?: CpuUse;
  /** Workload-specific figures (watch delivery, etc.), already formatted. */
  details?: Record<string, string | number>;
}

export function summarizeLatency(outcome: LoopOutcome): LatencySummary {
  const { latency } = outcome;
  return {
    p50: latency.percentile(50),
    p90: latency.percentile(90),
    p99: latency.percentile(99),
    max: latency.max,
    mean: latency.mean,
  };
}

export function resultFromLoop(
  workload: string,
  outcome: LoopOutcome,
  clientCpu: CpuUse,
  serverCpu: CpuUse | undefined,
): RunResult {
  return {
    workload,
    requests: outcome.completed,
    errors: outcome.errors.count,
    errorMessages: outcome.errors.summary(),
    elapsedMs: outcome.elapsedMs,
    throughput: outcome.elapsedMs > 0 ? (outcome.completed * 1000) / outcome.elapsedMs : 0,
    latency: summarizeLatency(outcome),
    clientCpu,
    serverCpu,
  };
}

/** Server CPU time per successful request, in µs. */
export function serverMicrosPerRequest(result: RunResult): number | undefined {
  if (!result.serverCpu || result.requests === 0) return undefined;
  return (result.serverCpu.cpuMs * 1000) / result.requests;
}

export function clientMicrosPerRequest(result: RunResult): number | undefined {
  if (result.requests === 0) return undefined;
  return (result.clientCpu.cpuMs * 1000) / result.requests;
}
