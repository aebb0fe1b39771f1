// The suite's reduction of runs to its one table (medians, spreads, ratios, goals, failed rows), how it
// reads its children's output, and the interleaving order shared with compare and go-load.

import { describe, expect, it } from 'vitest';
import { parseRunJsonLines, RUN_JSON_MARKER, runInterleaved } from '../src/compare/interleave';
import type { RunResult } from '../src/report/run-result';
import { lastJsonBlock } from '../src/suite/child';
import { showCommand } from '../src/suite/context';
import { planSuite } from '../src/suite/plan';
import { registryRows, type RegistryResult } from '../src/suite/sections/registry';
import { watchFigures } from '../src/suite/sections/watch';
import { writeRows } from '../src/suite/sections/writes';
import {
  cellText,
  formatReduced,
  formatRow,
  formatSuiteTable,
  formatYesNo,
  goals,
  ratioOf,
  reduce,
  TABLE_HEADER,
  type MeasuredRow,
} from '../src/suite/table';

const cells = (line: string): string[] =>
  line
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());

function run(throughput: number, serverCpuMs: number, requests: number, errors = 0): RunResult {
  return {
    workload: 'w',
    requests,
    errors,
    errorMessages: [],
    elapsedMs: 1000,
    throughput,
    latency: { p50: 1, p90: 1, p99: 1, max: 1, mean: 1 },
    clientCpu: { cpuMs: 10, cores: 0.01 },
    serverCpu: { cpuMs: serverCpuMs, cores: serverCpuMs / 1000 },
  };
}

describe('reducing runs', () => {
  it('takes the median and the min–max, ignoring runs without a figure', () => {
    expect(reduce([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, runs: 3 });
    expect(reduce([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4, runs: 4 });
    expect(reduce([5, Number.NaN])).toEqual({ median: 5, min: 5, max: 5, runs: 1 });
    expect(reduce([])).toBeUndefined();
  });

  it('divides the medians for the ratio, and has none without etcd or against zero', () => {
    expect(ratioOf(reduce([1, 2, 3]), reduce([4]))).toBe(0.5);
    expect(ratioOf(reduce([1]), undefined)).toBeUndefined();
    expect(ratioOf(reduce([1]), reduce([0]))).toBeUndefined();
  });

  it('prints the median with its unit, the spread in brackets, and no spread for one run', () => {
    expect(formatReduced(reduce([9_500, 12_345.6, 11_000]), 'per-s')).toBe('11,000/s (9,500–12,346)');
    expect(formatReduced(reduce([1_878]), 'us')).toBe('1,878 µs');
    expect(formatReduced(reduce([2.44, 3.1]), 'us')).toBe('2.8 µs (2.4–3.1)');
    expect(formatReduced(reduce([11.4]), 's')).toBe('11.40 s');
    expect(formatReduced(reduce([139.04]), 'MiB')).toBe('139.0 MiB');
    expect(formatReduced(reduce([871]), 'B')).toBe('871 B');
    expect(formatReduced(reduce([97.6]), 'pct')).toBe('98 %');
    expect(formatReduced(undefined, 'ms')).toBe('—');
  });

  it('counts yes/no runs', () => {
    expect(formatYesNo([1])).toBe('yes');
    expect(formatYesNo([0])).toBe('no');
    expect(formatYesNo([1, 1, 1])).toBe('yes (3/3)');
    expect(formatYesNo([1, 0, 1])).toBe('no (2/3 yes)');
  });
});

describe('the table', () => {
  const putRow: MeasuredRow = {
    kind: 'measured',
    section: 'writes, 1 member',
    name: 'put, 64 in flight: requests/s',
    unit: 'per-s',
    goal: goals.ratioAtLeast(1, '≥ etcd'),
    cairn: [900, 1100, 1000],
    etcd: [2000, 1900, 2100],
  };

  it('has one header and one line per row, every line with the same number of cells', () => {
    const lines = formatSuiteTable([putRow, { kind: 'failed', section: 's', name: 'n', error: 'e' }]);
    expect(lines.slice(0, 2)).toEqual(TABLE_HEADER);
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(cells(line)).toHaveLength(8);
  });

  it('shows medians, spreads, the ratio, the goal and whether it is met', () => {
    expect(cells(formatRow(putRow))).toEqual([
      'writes, 1 member',
      'put, 64 in flight: requests/s',
      '≥ etcd',
      '✗',
      '1,000/s (900–1,100)',
      '2,000/s (1,900–2,100)',
      '0.50',
      '3 / 3',
    ]);
    const cpu: MeasuredRow = { ...putRow, unit: 'us', goal: goals.ratioAtMost(1, '≤ etcd') };
    expect(cells(formatRow(cpu))[3]).toBe('✓');
  });

  it('judges Cairn-only goals on the median, and marks rows without a goal with neither', () => {
    const cairnOnly: MeasuredRow = {
      kind: 'measured',
      section: 'registry',
      name: 'leases lost',
      unit: 'count',
      goal: goals.atMost(0, '0'),
      cairn: [0],
    };
    expect(cells(formatRow(cairnOnly))).toEqual(['registry', 'leases lost', '0', '✓', '0', 'n/a', '—', '1']);
    const { goal: _goal, ...noGoal } = cairnOnly;
    void _goal;
    expect(cells(formatRow(noGoal)).slice(2, 4)).toEqual(['—', '']);
  });

  it('says yes only when every run delivered, and gives yes/no rows no ratio', () => {
    const delivered: MeasuredRow = {
      kind: 'measured',
      section: 'watch',
      name: 'every event',
      unit: 'yes-no',
      goal: goals.always('yes'),
      cairn: [1, 0, 1],
      etcd: [1, 1, 1],
    };
    expect(cells(formatRow(delivered)).slice(3, 7)).toEqual(['✗', 'no (2/3 yes)', 'yes (3/3)', '—']);
  });

  it('puts a failed measurement in its row, on one line, pipes escaped', () => {
    const line = formatRow({
      kind: 'failed',
      section: 'writes, 3 members',
      name: 'go-load',
      error: 'exit code 1: bench go-load failed:\n  loadgen put | killed',
    });
    expect(line.split('\n')).toHaveLength(1);
    expect(cells(line)).toEqual([
      'writes, 3 members',
      'go-load',
      '',
      '✗',
      '**failed:** exit code 1: bench go-load failed: loadgen put \\| killed',
      '',
      '',
      '',
    ]);
    expect(cellText('x'.repeat(400))).toHaveLength(300);
  });
});

describe('reading the children', () => {
  it('turns go-load runs into throughput and CPU rows, and a missing workload into a failed row', () => {
    const results = {
      put64: { etcd: [run(2000, 200, 2000)], cairn: [run(1000, 300, 1000, 2)] },
    };
    const rows = writeRows('writes', ['put64', 'get-s64'], results);
    expect(rows.map((row) => [row.kind, row.name])).toEqual([
      ['measured', 'put, 64 in flight: requests/s'],
      ['measured', 'put, 64 in flight: server CPU per request'],
      ['failed', 'get-s64'],
      ['measured', 'failed requests, all runs'],
    ]);
    expect(rows[1]).toMatchObject({ cairn: [300], etcd: [100] }); // µs per request
    expect(rows[3]).toMatchObject({ cairn: [2], etcd: [0] });
  });

  it('reads the run JSON lines among the progress lines', () => {
    const line = (workload: string, target: string, throughput: number): string =>
      `${RUN_JSON_MARKER} ${JSON.stringify({ workload, run: 1, runs: 1, target, result: run(throughput, 1, 1) })}`;
    const parsed = parseRunJsonLines([
      '  put1 run 1/1 etcd 100 req/s',
      line('put1', 'etcd', 100),
      line('put1', 'cairn', 50),
      line('put1', 'etcd', 110),
    ]);
    expect(parsed.put1.etcd.map((r) => r.throughput)).toEqual([100, 110]);
    expect(parsed.put1.cairn.map((r) => r.throughput)).toEqual([50]);
  });

  it('finds the JSON block a command prints after its text lines', () => {
    const lines = ['registered 10 instances', '{', '  "a": {', '    "b": 1', '  },', '  "c": 2', '}', 'done'];
    expect(lastJsonBlock(lines)).toEqual({ a: { b: 1 }, c: 2 });
    expect(() => lastJsonBlock(['no json'])).toThrow(/no JSON/);
  });

  it('reads the watch figures from the result and its formatted details', () => {
    const result: RunResult = {
      ...run(0, 5000, 5_000_000),
      elapsedMs: 11_400,
      details: {
        events: '5000000/5000000 delivered in 11.40 s after the first put',
        puts: '5000 ok, 0 errors, 2,656 puts/s, p50 3.1 ms, p99 9.0 ms',
      },
    };
    expect(watchFigures(result)).toEqual({
      deliverySeconds: 11.4,
      serverMicrosPerEvent: 1,
      putsPerSecond: 2656,
      allDelivered: true,
    });
    const short = { ...result, details: { ...result.details, events: '4999/5000 delivered in 1 s' } };
    expect(watchFigures(short).allDelivered).toBe(false);
  });

  it('gives the registry RSS per instance per member and the TTL goal', () => {
    const result: RegistryResult = {
      members: 3,
      instances: 1024,
      ttlSeconds: 10,
      registrationsPerSecond: 1000,
      leasesLost: 0,
      cpuMicrosPerKeepalive: 96,
      rssMiB: { idle: 429, loaded: 432 },
      deathToLastSubscriberMs: { min: 10_100, p50: 10_300, max: 10_900 },
    };
    const rows = registryRows('registry', [result]) as MeasuredRow[];
    expect(rows.find((row) => row.name === 'RSS per instance per member')?.cairn).toEqual([1024]);
    const death = rows.find((row) => row.name.startsWith('death'));
    expect(death?.goal?.text).toBe('≤ TTL + 1 s (11 s)');
    expect(cells(formatRow(death!))[3]).toBe('✓');
    expect(rows.some((row) => row.name.startsWith('Raft proposals'))).toBe(false);

    // Newer results give CPU per instance renewed, RSS per instance and proposals per registration.
    const newer = registryRows('registry', [
      {
        ...result,
        cpuMicrosPerInstanceKeptAlive: 12,
        rssBytesPerInstancePerMember: 900,
        proposalsPerRegistration: 1,
      },
    ]) as MeasuredRow[];
    expect(newer.map((row) => [row.name.split(' ')[0], row.cairn[0]])).toEqual([
      ['registrations/s', 1000],
      ['Raft', 1],
      ['server', 12],
      ['RSS', 900],
      ['leases', 0],
      ['death', 10_900],
    ]);
  });
});

describe('interleaving and the plan', () => {
  it('runs every target in turn for each run of each workload', async () => {
    const order: string[] = [];
    const results = await runInterleaved({
      workloads: [{ name: 'a' }, { name: 'b' }],
      runs: 2,
      targets: ['etcd', 'cairn'],
      labelOf: (t) => t,
      runOne: async (target, workload, runNumber) => {
        order.push(`${workload.name}${runNumber}${target}`);
        return order.length;
      },
      pauseMs: 0,
    });
    expect(order).toEqual([
      'a1etcd',
      'a1cairn',
      'a2etcd',
      'a2cairn',
      'b1etcd',
      'b1cairn',
      'b2etcd',
      'b2cairn',
    ]);
    expect(results).toEqual({ a: { etcd: [1, 3], cairn: [2, 4] }, b: { etcd: [5, 7], cairn: [6, 8] } });
  });

  it('gives three members at least 5 runs unless told otherwise, and --quick one short run', () => {
    expect(planSuite(false).writes).toMatchObject({ runs: 3, runsMultiMember: 5, members: [1, 3] });
    expect(planSuite(false, { runs: 7 }).writes.runsMultiMember).toBe(7);
    expect(planSuite(true).writes).toMatchObject({ runs: 1, runsMultiMember: 1, durationMs: 1000 });
    expect(planSuite(false).memory.keys).toBe(150_000);
    expect(planSuite(false, { keys: 1_000_000 }).memory.keys).toBe(1_000_000);
  });

  it('shows commands as a reader can paste them', () => {
    expect(
      showCommand('/repo', process.execPath, ['/repo/apps/bench/dist/main.js', 'suite', '--x', 'a b']),
    ).toBe("node apps/bench/dist/main.js suite --x 'a b'");
  });
});
