// Plain-text report of one run, printed by the single-workload commands.

import { clientMicrosPerRequest, serverMicrosPerRequest, type RunResult } from './run-result';

export function formatMs(ms: number): string {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

export function formatRate(perSecond: number): string {
  return Math.round(perSecond).toLocaleString('en-US');
}

export function formatRunText(result: RunResult): string[] {
  const { latency } = result;
  const lines = [
    `${result.workload}`,
    `  requests    ${result.requests} ok, ${result.errors} errors in ${(result.elapsedMs / 1000).toFixed(2)} s`,
    `  throughput  ${formatRate(result.throughput)} req/s`,
    `  latency ms  p50 ${formatMs(latency.p50)}  p90 ${formatMs(latency.p90)}  p99 ${formatMs(latency.p99)}  max ${formatMs(latency.max)}  mean ${formatMs(latency.mean)}`,
    `  client CPU  ${result.clientCpu.cores.toFixed(2)} cores (${formatPerRequest(clientMicrosPerRequest(result))})`,
  ];
  if (result.serverCpu) {
    lines.push(
      `  server CPU  ${result.serverCpu.cores.toFixed(2)} cores (${formatPerRequest(serverMicrosPerRequest(result))})`,
    );
  }
  for (const [name, value] of Object.entries(result.details ?? {}))
    lines.push(`  ${name.padEnd(11)} ${value}`);
  for (const message of result.errorMessages) lines.push(`  error       ${message}`);
  return lines;
}

function formatPerRequest(micros: number | undefined): string {
  return micros === undefined ? 'n/a per request' : `${micros.toFixed(0)} µs CPU per request`;
}
