// Reduces the runs of one (workload, server) pair to their medians, metric by metric.

import { median } from '../stats/latency-histogram';
import { clientMicrosPerRequest, serverMicrosPerRequest, type RunResult } from '../report/run-result';

export interface RunSummary {
  runs: number;
  /** Every run's req/s, in run order, so readers can see the spread. */
  throughputs: number[];
  throughput: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
  clientCores: number;
  clientMicrosPerRequest: number;
  serverCores?: number;
  serverMicrosPerRequest?: number;
}

export function summarizeRuns(results: readonly RunResult[]): RunSummary {
  const pick = (metric: (result: RunResult) => number | undefined): number | undefined => {
    const values = results.map(metric).filter((value): value is number => value !== undefined);
    return values.length === results.length && values.length > 0 ? median(values) : undefined;
  };
  return {
    runs: results.length,
    throughputs: results.map((result) => result.throughput),
    throughput: pick((r) => r.throughput) ?? 0,
    p50: pick((r) => r.latency.p50) ?? 0,
    p90: pick((r) => r.latency.p90) ?? 0,
    p99: pick((r) => r.latency.p99) ?? 0,
    max: pick((r) => r.latency.max) ?? 0,
    errors: results.reduce((sum, result) => sum + result.errors, 0),
    clientCores: pick((r) => r.clientCpu.cores) ?? 0,
    clientMicrosPerRequest: pick(clientMicrosPerRequest) ?? 0,
    serverCores: pick((r) => r.serverCpu?.cores),
    serverMicrosPerRequest: pick(serverMicrosPerRequest),
  };
}
