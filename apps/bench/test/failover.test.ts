// The failover benchmark: its figures (nearest-rank spread, per-target summary, ratio lines), the Status
// fields it reads, and one real round against a 3-member etcd started and stopped by PID.

import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run-cli';
import {
  formatRatioLines,
  formatSummaryTable,
  percentile,
  spreadOf,
  summarize,
  type FailoverRound,
} from '../src/failover/report';
import { decodeMemberStatus } from '../src/failover/status';
import { ProtoWriter } from '../src/proto/writer';

const ETCD = '/usr/bin/etcd';

function round(target: string, electionMs: number, firstWriteMs: number): FailoverRound {
  return {
    target,
    round: 1,
    killed: `${target}-1`,
    restartedPid: 1234,
    newLeader: `${target}-2`,
    termBefore: '2',
    termAfter: '3',
    electionMs,
    firstWriteMs,
    acks: 10,
    failures: 1,
  };
}

describe('failover figures', () => {
  it('takes nearest-rank percentiles, so every figure is one of the measured rounds', () => {
    const values = [1200, 900, 1500, 1100, 1000];
    expect(percentile(values, 50)).toBe(1100);
    expect(percentile(values, 90)).toBe(1500);
    expect(spreadOf(values)).toEqual({ median: 1100, p90: 1500, min: 900, max: 1500 });
    expect(() => percentile([], 50)).toThrow();
  });

  it('summarizes each target on its own rounds and gives the ratio to etcd', () => {
    const rounds = [
      round('etcd', 1000, 1010),
      round('cairn', 300, 330),
      round('etcd', 1400, 1400),
      round('cairn', 500, 520),
      round('etcd', 1200, 1205),
      round('cairn', 400, 450),
    ];
    const etcd = summarize('etcd', rounds);
    const cairn = summarize('cairn', rounds);
    expect(etcd.rounds).toBe(3);
    expect(etcd.firstWrite.median).toBe(1205);
    expect(cairn.firstWrite).toEqual({ median: 450, p90: 520, min: 330, max: 520 });
    expect(cairn.leaderToWriteMedian).toBe(30);
    const table = formatSummaryTable([etcd, cairn]);
    expect(table[2]).toBe('| etcd | 3 | 1205 | 1400 | 1010 – 1400 | 1200 | 1400 | 1000 – 1400 | 5 |');
    expect(formatRatioLines(cairn, etcd)[0]).toBe('Cairn/etcd, kill → first write: median 0.37, p90 0.37');
  });

  it('reads member_id, leader and raft_term from a StatusResponse', () => {
    const header = new ProtoWriter(64).uint64Field(1, 7n).uint64Field(2, 0xabcn).uint64Field(4, 9n).finish();
    const response = new ProtoWriter(256)
      .messageField(1, header)
      .bytesField(2, Buffer.from('3.4.23'))
      .uint64Field(3, 4096)
      .uint64Field(4, 0xdefn)
      .uint64Field(5, 100)
      .uint64Field(6, 5n)
      .finish();
    expect(decodeMemberStatus(response)).toEqual({ memberId: 0xabcn, leader: 0xdefn, raftTerm: 5n });
  });
});

describe.skipIf(!existsSync(ETCD))('against a real 3-member etcd', () => {
  it('one round: kills the leader, times a new leader and the first write, restarts it, stops every member and removes its data', async () => {
    const before = new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('cairn-bench-failover-')));
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(
      ['failover', '--targets', 'etcd', '--rounds', '1', '--steady', '500ms', '--settle', '200ms', '--json'],
      (line) => out.push(line),
      (line) => err.push(line),
    );
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const json = out.slice(out.findIndex((line) => line === '{')).join('\n');
    const result = JSON.parse(json) as { rounds: FailoverRound[] };
    expect(result.rounds).toHaveLength(1);
    const [only] = result.rounds;
    expect(only.killed).not.toBe(only.newLeader);
    expect(only.electionMs).toBeGreaterThan(0);
    expect(only.firstWriteMs).toBeGreaterThan(0);
    const pids = out
      .find((line) => line.includes('PIDs'))
      ?.match(/PIDs ([\d, ]+)/)?.[1]
      .split(',')
      .map((pid) => Number(pid.trim()))
      .filter((pid) => pid > 0);
    expect(pids).toHaveLength(3);
    for (const pid of [...(pids ?? []), only.restartedPid])
      expect(() => process.kill(pid, 0), `etcd PID ${pid} still running`).toThrow();
    const after = readdirSync(tmpdir()).filter((name) => name.startsWith('cairn-bench-failover-'));
    expect(after.filter((name) => !before.has(name))).toEqual([]);
  }, 90_000);
});
