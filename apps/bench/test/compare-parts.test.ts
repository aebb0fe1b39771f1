import { describe, expect, it } from 'vitest';
import { formatRatioTable } from '../src/compare/markdown-report';
import { summarizeRuns } from '../src/compare/summary';
import { parseWorkloadName } from '../src/compare/workload-spec';
import type { RunResult } from '../src/report/run-result';
import { memberArgs, type MemberLayout } from '../src/servers/cluster';
import { parseProcStatCpuMs } from '../src/stats/cpu';

describe('compare workload names', () => {
  it('reads put<N>, get-l<N> and get-s<N>', () => {
    expect(parseWorkloadName('put256')).toEqual({ name: 'put256', kind: 'put', clients: 256 });
    expect(parseWorkloadName('get-l64')).toEqual({
      name: 'get-l64',
      kind: 'range',
      clients: 64,
      consistency: 'l',
    });
    expect(parseWorkloadName('get-s1')).toMatchObject({ consistency: 's', clients: 1 });
  });

  it('rejects names it does not know', () => {
    expect(() => parseWorkloadName('delete64')).toThrow(/unknown workload/);
    expect(() => parseWorkloadName('put0')).toThrow(/at least one client/);
  });
});

describe('cluster launch flags', () => {
  const members: MemberLayout[] = [1, 2, 3].map((i) => ({
    name: `etcd-${i}`,
    clientUrl: `http://127.0.0.1:${20000 + i}`,
    peerUrl: `http://127.0.0.1:${30000 + i}`,
    dataDir: `/tmp/d${i}`,
  }));

  it('gives every member etcd’s launch flags, with the whole cluster in --initial-cluster', () => {
    const args = memberArgs(members[1], members);
    const flag = (name: string): string => args[args.indexOf(name) + 1];
    expect(flag('--name')).toBe('etcd-2');
    expect(flag('--data-dir')).toBe('/tmp/d2');
    expect(flag('--listen-client-urls')).toBe('http://127.0.0.1:20002');
    expect(flag('--advertise-client-urls')).toBe('http://127.0.0.1:20002');
    expect(flag('--listen-peer-urls')).toBe('http://127.0.0.1:30002');
    expect(flag('--initial-advertise-peer-urls')).toBe('http://127.0.0.1:30002');
    expect(flag('--initial-cluster')).toBe(
      'etcd-1=http://127.0.0.1:30001,etcd-2=http://127.0.0.1:30002,etcd-3=http://127.0.0.1:30003',
    );
    expect(flag('--initial-cluster-state')).toBe('new');
  });
});

describe('server CPU from /proc/<pid>/stat', () => {
  it('adds utime and stime, even when the command name has spaces and parentheses', () => {
    const stat = '4242 (etcd (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 12 0 100 0 0';
    expect(parseProcStatCpuMs(stat, 100)).toBe(3000); // (250 + 50) ticks at 100 Hz
  });
});

function fakeRun(throughput: number, p99: number, serverCpuMs?: number): RunResult {
  return {
    workload: 'put',
    requests: throughput * 10,
    errors: 0,
    errorMessages: [],
    elapsedMs: 10_000,
    throughput,
    latency: { p50: p99 / 4, p90: p99 / 2, p99, max: p99 * 2, mean: p99 / 3 },
    clientCpu: { cores: 1, cpuMs: 10_000 },
    serverCpu: serverCpuMs === undefined ? undefined : { cores: serverCpuMs / 10_000, cpuMs: serverCpuMs },
  };
}

describe('median of runs and the ratio table', () => {
  it('takes the median of each metric across runs', () => {
    const summary = summarizeRuns([
      fakeRun(1000, 30, 5000),
      fakeRun(3000, 10, 6000),
      fakeRun(2000, 20, 4000),
    ]);
    expect(summary.throughput).toBe(2000);
    expect(summary.p99).toBe(20);
    expect(summary.throughputs).toEqual([1000, 3000, 2000]);
    // server µs per request: 5000ms/10000 req = 500, 6000/30000 = 200, 4000/20000 = 200
    expect(summary.serverMicrosPerRequest).toBe(200);
  });

  it('leaves server CPU out when a run could not read it', () => {
    expect(
      summarizeRuns([fakeRun(1000, 30, 5000), fakeRun(1000, 30)]).serverMicrosPerRequest,
    ).toBeUndefined();
  });

  it('prints Cairn/etcd as the ratio of median throughputs', () => {
    const lines = formatRatioTable(
      {
        workloads: [parseWorkloadName('put64')],
        targets: ['etcd', 'cairn'],
        summaries: {
          put64: { etcd: summarizeRuns([fakeRun(4000, 40)]), cairn: summarizeRuns([fakeRun(3000, 50)]) },
        },
      },
      'etcd',
      'cairn',
    );
    expect(lines[0]).toContain('| Cairn/etcd |');
    expect(lines[2]).toMatch(/^\| put64 \| 4,000 \| 3,000 \| 0\.75 \|/);
  });
});
