// The Raft simulation: thousands of seeded runs of 3- and 5-node clusters (some changing membership)
// under drops, delays, reordering, duplication, one-way and two-way partitions, crashes at any point of
// a Ready and restarts, with Raft's safety properties checked after every step and liveness checked
// once the faults stop.
//   RAFT_SEEDS=N   run seeds 1..N (default 2000)
//   RAFT_SEED=n    replay exactly one seed (and print its trace if it fails)
import { describe, expect, it } from 'vitest';
import { reportFailure } from './sim/report';
import { runSimulation } from './sim/simulation';
import { addStats, emptyStats } from './sim/stats';

const DEFAULT_SEEDS = 2000;
const SEEDS_PER_BLOCK = 250;
const BLOCK_TIMEOUT_MS = 180_000;

const singleSeed = process.env.RAFT_SEED;
const seedCount = Number(process.env.RAFT_SEEDS ?? DEFAULT_SEEDS);
const total = emptyStats();

function runSeeds(first: number, last: number): void {
  for (let seed = first; seed <= last; seed++) {
    const result = runSimulation(seed);
    addStats(total, result.stats);
    if (result.violation) {
      const { message } = reportFailure(result);
      console.error(message);
      expect.fail(message);
    }
  }
}

describe('Raft under a hostile simulated network', () => {
  if (singleSeed !== undefined) {
    it(`seed ${singleSeed} keeps every safety invariant and recovers`, () => {
      runSeeds(Number(singleSeed), Number(singleSeed));
    });
    return;
  }

  for (let first = 1; first <= seedCount; first += SEEDS_PER_BLOCK) {
    const last = Math.min(seedCount, first + SEEDS_PER_BLOCK - 1);
    it(
      `seeds ${first}..${last} keep every safety invariant and recover once faults stop`,
      () => {
        runSeeds(first, last);
      },
      BLOCK_TIMEOUT_MS,
    );
  }

  it('really exercised elections, crashes, snapshots, membership changes and reads', () => {
    console.log(`simulation totals over ${seedCount} seeds: ${JSON.stringify(total)}`);
    expect(total.leadersElected).toBeGreaterThan(seedCount * 2);
    expect(total.crashes).toBeGreaterThan(seedCount / 2);
    expect(total.crashesMidReady).toBeGreaterThan(seedCount / 10);
    expect(total.restarts).toBeGreaterThan(seedCount / 2);
    expect(total.snapshotsSent).toBeGreaterThan(seedCount / 10);
    expect(total.snapshotsRestored).toBeGreaterThan(seedCount / 10);
    expect(total.membersAdded).toBeGreaterThan(seedCount / 10);
    expect(total.membersRemoved).toBeGreaterThan(seedCount / 10);
    expect(total.readsChecked).toBeGreaterThan(seedCount);
    expect(total.dropped).toBeGreaterThan(seedCount * 10);
    expect(total.entriesApplied).toBeGreaterThan(total.proposals);
  });
});
