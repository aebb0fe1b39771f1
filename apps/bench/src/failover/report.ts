// Failover figures per target (median / p90 / min / max over the rounds, nearest rank) and the
// markdown tables docs/benchmarks.md quotes.

import { displayName } from '../compare/markdown-report';

export interface FailoverRound {
  target: string;
  round: number;
  /** Name of the member that was the leader and got SIGKILL. */
  killed: string;
  /** PID of the killed member's replacement process (restarted on its data dir). */
  restartedPid: number;
  /** Name of the member that became leader. */
  newLeader: string;
  termBefore: string;
  termAfter: string;
  /** ms from SIGKILL to the first Status answer (from a survivor) that names a new leader. */
  electionMs: number;
  /** ms from SIGKILL to the acknowledgement of the first put sent after it. */
  firstWriteMs: number;
  /** Puts acknowledged / failed over the whole round (failures are mostly the dead member's). */
  acks: number;
  failures: number;
}

export interface Spread {
  median: number;
  p90: number;
  min: number;
  max: number;
}

/** Nearest-rank percentile of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export function spreadOf(values: readonly number[]): Spread {
  return {
    median: percentile(values, 50),
    p90: percentile(values, 90),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

export interface TargetSummary {
  target: string;
  rounds: number;
  election: Spread;
  firstWrite: Spread;
  /** Median of (first write − new leader seen) per round: what the write path adds to the election. */
  leaderToWriteMedian: number;
}

export function summarize(target: string, rounds: readonly FailoverRound[]): TargetSummary {
  const mine = rounds.filter((round) => round.target === target);
  return {
    target,
    rounds: mine.length,
    election: spreadOf(mine.map((round) => round.electionMs)),
    firstWrite: spreadOf(mine.map((round) => round.firstWriteMs)),
    leaderToWriteMedian: percentile(
      mine.map((round) => round.firstWriteMs - round.electionMs),
      50,
    ),
  };
}

const ms = (value: number): string => value.toFixed(0);
const spreadCells = (spread: Spread): string =>
  `${ms(spread.median)} | ${ms(spread.p90)} | ${ms(spread.min)} – ${ms(spread.max)}`;

export function formatSummaryTable(summaries: readonly TargetSummary[]): string[] {
  const lines = [
    '| target | rounds | kill → first write: median | p90 | min – max | kill → new leader (Status): median | p90 | min – max | new leader → write (median) |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const summary of summaries) {
    lines.push(
      `| ${displayName(summary.target)} | ${summary.rounds} | ${spreadCells(summary.firstWrite)} | ${spreadCells(summary.election)} | ${ms(summary.leaderToWriteMedian)} |`,
    );
  }
  return lines;
}

/** Ratios of `numerator` to `denominator` (e.g. Cairn/etcd), for the median and the p90. */
export function formatRatioLines(numerator: TargetSummary, denominator: TargetSummary): string[] {
  const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : 'n/a');
  const name = `${displayName(numerator.target)}/${displayName(denominator.target)}`;
  return [
    `${name}, kill → first write: median ${ratio(numerator.firstWrite.median, denominator.firstWrite.median)}, p90 ${ratio(numerator.firstWrite.p90, denominator.firstWrite.p90)}`,
    `${name}, kill → new leader: median ${ratio(numerator.election.median, denominator.election.median)}, p90 ${ratio(numerator.election.p90, denominator.election.p90)}`,
  ];
}

export function formatRoundsLine(target: string, rounds: readonly FailoverRound[]): string {
  const mine = rounds.filter((round) => round.target === target);
  return `${displayName(target)} per round (first write / new leader, ms): ${mine
    .map((round) => `${ms(round.firstWriteMs)}/${ms(round.electionMs)}`)
    .join(', ')}`;
}
