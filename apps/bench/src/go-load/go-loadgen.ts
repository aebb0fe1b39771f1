// Builds and runs the Go clientv3 load generator (test/go/src/cairn.dev/loadgen) for one measured run, and
// turns its JSON into the RunResult the compare reports print. Server CPU is sampled from /proc when the
// generator says its measured window opens and closes, so it covers the same window as the request count.

import { execFile, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { RunResult } from '../report/run-result';
import { cpuBetween, sampleServerCpu, type CpuSample } from '../stats/cpu';

const run = promisify(execFile);

/** apps/bench/{src,dist}/go-load → the repository root. */
export const REPO_ROOT = resolve(__dirname, '../../../..');
export const LOADGEN_IMPORT_PATH = 'cairn.dev/loadgen';

/** Builds the generator offline through scripts/build-go.sh (cached until its sources change); returns its path. */
export async function buildLoadgen(): Promise<string> {
  const script = resolve(REPO_ROOT, 'scripts/build-go.sh');
  try {
    const { stdout } = await run(script, [LOADGEN_IMPORT_PATH], { timeout: 300_000 });
    return stdout.trim().split('\n').pop() ?? '';
  } catch (error) {
    const e = error as { message: string; stderr?: string };
    throw new Error(`scripts/build-go.sh ${LOADGEN_IMPORT_PATH} failed: ${e.message}\n${e.stderr ?? ''}`, {
      cause: error,
    });
  }
}

export type GoWorkload = 'put' | 'range-l' | 'range-s';

export interface GoRunSpec {
  binary: string;
  endpoints: readonly string[];
  workload: GoWorkload;
  inflight: number;
  conns: number;
  durationMs: number;
  warmupMs: number;
  keySize: number;
  keySpace: number;
  valueSize: number;
  /** Every member of the server under test: their CPU is summed. */
  serverPids: readonly number[];
}

interface GoResult {
  workload: string;
  ops: number;
  errors: number;
  errorMessages: Record<string, number>;
  elapsedMs: number;
  opsPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  clientCpuMs: number;
}

export function loadgenArgs(spec: GoRunSpec): string[] {
  return [
    '-endpoints',
    spec.endpoints.join(','),
    '-workload',
    spec.workload,
    '-inflight',
    String(spec.inflight),
    '-conns',
    String(spec.conns),
    '-duration',
    `${spec.durationMs}ms`,
    '-warmup',
    `${spec.warmupMs}ms`,
    '-key-size',
    String(spec.keySize),
    '-key-space',
    String(spec.keySpace),
    '-val-size',
    String(spec.valueSize),
  ];
}

/** Runs the generator once; rejects when it fails or overruns its time by 30 s (then it is killed by PID). */
export function runLoadgen(spec: GoRunSpec): Promise<RunResult> {
  const child = spawn(spec.binary, loadgenArgs(spec), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 8192) stderr += chunk;
  });
  let cpuStart: CpuSample | undefined;
  let cpuEnd: CpuSample | undefined;
  let result: GoResult | undefined;
  let fatal: string | undefined;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    let parsed: { event?: string; result?: GoResult; fatal?: string };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      return; // not ours (the client library printing): ignore
    }
    if (parsed.event === 'measure-start') cpuStart = sampleServerCpu(spec.serverPids);
    else if (parsed.event === 'measure-end') cpuEnd = sampleServerCpu(spec.serverPids);
    else if (parsed.result) result = parsed.result;
    else if (parsed.fatal) fatal = parsed.fatal;
  });

  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(
      () => {
        if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      },
      spec.warmupMs + spec.durationMs + 30_000,
    );
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${spec.binary}: ${error.message}`));
    });
    // 'close' comes after stdout has ended, so every line has been read.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0 || !result) {
        const why = fatal ?? (signal ? `killed by ${signal}` : `exit code ${code}`);
        reject(new Error(`loadgen ${spec.workload} failed: ${why}${stderr ? `\n${stderr.trim()}` : ''}`));
        return;
      }
      resolvePromise(toRunResult(spec, result, cpuStart, cpuEnd));
    });
  });
}

export function toRunResult(
  spec: Pick<GoRunSpec, 'workload' | 'inflight'>,
  go: GoResult,
  cpuStart: CpuSample | undefined,
  cpuEnd: CpuSample | undefined,
): RunResult {
  return {
    workload: `${spec.workload}, ${spec.inflight} in flight (Go clientv3)`,
    requests: go.ops,
    errors: go.errors,
    errorMessages: Object.entries(go.errorMessages).map(([message, count]) => `${count}× ${message}`),
    elapsedMs: go.elapsedMs,
    throughput: go.opsPerSec,
    latency: go.latencyMs,
    clientCpu: { cpuMs: go.clientCpuMs, cores: go.elapsedMs > 0 ? go.clientCpuMs / go.elapsedMs : 0 },
    ...(cpuStart && cpuEnd ? { serverCpu: cpuBetween(cpuStart, cpuEnd) } : {}),
  };
}
