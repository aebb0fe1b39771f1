// The Raft simulation: thousands of seeded runs of 3- and 5-node clusters (some changing membership)
// under drops, delays, reordering, duplication, one-way and two-way partitions, pauses, clock skew,
// crashes at any point of a Ready and restarts, with Raft's safety properties checked after every step
// and liveness checked once the faults stop.
// Then the corner scenarios (sim/corners.ts, scenario.ts cornerScenarioForSeed): the same seeds with tiny
// message and inflight limits, leaders that append and die, replayed old appends, aggressive snapshots and
// learners promoted mid-partition, and a check that each corner really occurred.
//   RAFT_SEEDS=N          run seeds 1..N (default 2000)
//   RAFT_CORNER_SEEDS=N   corner scenarios for seeds 1..N (default 1000)
//   RAFT_SEED=n           replay exactly one seed (and print its trace if it fails)
//   RAFT_CORNERS=1        with RAFT_SEED: replay its corner scenario instead
import { describe, expect, it } from 'vitest';
import { EntryType, MessageType, NONE, StateType, type Entry, type Message } from '../src';
import { NodeDisk } from './sim/disk';
import { SafetyChecker } from './sim/invariants';
import { reportFailure } from './sim/report';
import { runSimulation } from './sim/simulation';
import { CORNERS, addStats, cornerSummary, emptyStats } from './sim/stats';
import { InvariantViolation } from './sim/violation';

const DEFAULT_SEEDS = 2000;
const DEFAULT_CORNER_SEEDS = 1000;
const SEEDS_PER_BLOCK = 250;
const BLOCK_TIMEOUT_MS = 180_000;

const singleSeed = process.env.RAFT_SEED;
const seedCount = Number(process.env.RAFT_SEEDS ?? DEFAULT_SEEDS);
const cornerSeedCount = Number(process.env.RAFT_CORNER_SEEDS ?? Math.min(seedCount, DEFAULT_CORNER_SEEDS));
const total = emptyStats();
const cornerTotal = emptyStats();

function runSeeds(first: number, last: number, deferCommitBroadcast = false, corners = false): void {
  for (let seed = first; seed <= last; seed++) {
    const result = runSimulation(seed, { deferCommitBroadcast, corners });
    addStats(corners ? cornerTotal : total, result.stats);
    if (result.violation) {
      const report = reportFailure(result);
      console.error(report.message);
      expect.fail(report.summary);
    }
  }
}

describe('Raft under a hostile simulated network', () => {
  if (singleSeed !== undefined) {
    const corners = process.env.RAFT_CORNERS === '1';
    it(`seed ${singleSeed}${corners ? ' (corner scenario)' : ''} keeps every safety invariant and recovers`, () => {
      runSeeds(Number(singleSeed), Number(singleSeed), false, corners);
      console.log(`seed ${singleSeed} corners: ${cornerSummary(corners ? cornerTotal : total)}`);
    });
    return;
  }

  for (let first = 1; first <= seedCount; first += SEEDS_PER_BLOCK) {
    const last = Math.min(seedCount, first + SEEDS_PER_BLOCK - 1);
    it(
      `seeds ${first}..${last} keep every safety invariant and recover once faults stop`,
      () => runSeeds(first, last),
      BLOCK_TIMEOUT_MS,
    );
  }

  // The server runs leaders that let commits ride on the next AppendEntries (deferCommitBroadcast).
  it(
    `seeds 1..${Math.min(seedCount, 500)} keep every invariant with deferred commit broadcasts too`,
    () => runSeeds(1, Math.min(seedCount, 500), true),
    BLOCK_TIMEOUT_MS,
  );

  for (let first = 1; first <= cornerSeedCount; first += SEEDS_PER_BLOCK) {
    const last = Math.min(cornerSeedCount, first + SEEDS_PER_BLOCK - 1);
    it(
      `corner scenarios of seeds ${first}..${last} keep every safety invariant and recover once faults stop`,
      () => runSeeds(first, last, false, true),
      BLOCK_TIMEOUT_MS,
    );
  }

  it('really exercised elections, crashes, snapshots, membership changes and reads', () => {
    console.log(`simulation totals over ${seedCount} seeds: ${JSON.stringify(total)}`);
    console.log(`corners over ${seedCount} seeds of the default mix: ${cornerSummary(total)}`);
    expect(total.leadersElected).toBeGreaterThan(seedCount * 2);
    expect(total.crashes).toBeGreaterThan(seedCount / 2);
    expect(total.crashesMidReady).toBeGreaterThan(seedCount / 10);
    expect(total.restarts).toBeGreaterThan(seedCount / 2);
    expect(total.snapshotsSent).toBeGreaterThan(seedCount / 10);
    expect(total.snapshotsRestored).toBeGreaterThan(seedCount / 10);
    expect(total.membersAdded).toBeGreaterThan(seedCount / 10);
    expect(total.membersRemoved).toBeGreaterThan(seedCount / 10);
    expect(total.transfers).toBeGreaterThan(seedCount / 10);
    expect(total.suspicions).toBeGreaterThan(seedCount / 10);
    expect(total.readsChecked).toBeGreaterThan(seedCount);
    expect(total.dropped).toBeGreaterThan(seedCount * 10);
    expect(total.entriesApplied).toBeGreaterThan(total.proposals);
  });

  it('the corner scenarios reached every corner', () => {
    console.log(`corners over ${cornerSeedCount} corner scenarios: ${cornerSummary(cornerTotal)}`);
    const missed = CORNERS.filter((corner) => !(cornerTotal[corner] > 0));
    expect(missed, `corners never reached in ${cornerSeedCount} corner scenarios`).toEqual([]);
    // With the default range, each corner is common, not a fluke of one seed.
    if (cornerSeedCount >= DEFAULT_CORNER_SEEDS) {
      for (const corner of CORNERS) expect(cornerTotal[corner], corner).toBeGreaterThan(cornerSeedCount / 10);
    }
  });
});

describe('the simulation', () => {
  it('replays a seed exactly, with or without tracing', () => {
    const first = runSimulation(17);
    const again = runSimulation(17);
    const traced = runSimulation(17, { trace: true });
    expect(again.stats).toEqual(first.stats);
    expect(traced.stats).toEqual(first.stats);
    expect(traced.tick).toBe(first.tick);
    expect(traced.trace.all().length).toBeGreaterThan(100);
  });
});

describe('the safety checker', () => {
  const entry = (index: number, term: number, payload: string): Entry => ({
    index,
    term,
    type: EntryType.Normal,
    data: Buffer.from(payload),
  });
  const broken = (check: () => void): string => {
    try {
      check();
    } catch (err) {
      if (err instanceof InvariantViolation) return err.invariant;
      throw err;
    }
    return 'nothing';
  };
  /** A node that persisted `entries` and a commit index. */
  const persisted = (checker: SafetyChecker, id: bigint, entries: Entry[], term: number, commit: number) => {
    const disk = new NodeDisk();
    checker.beforePersistEntries(id, disk, entries);
    disk.persistEntries(entries);
    checker.beforePersistHardState(id, disk, { term, vote: NONE, commit });
    disk.persistHardState({ term, vote: NONE, commit });
    checker.afterPersistHardState(id, disk);
    return disk;
  };

  it('flags a second leader in the same term (Election Safety)', () => {
    const checker = new SafetyChecker();
    checker.observeRole(1n, { lead: 1n, raftState: StateType.Leader }, 3);
    expect(broken(() => checker.observeRole(2n, { lead: 2n, raftState: StateType.Leader }, 3))).toBe(
      'Election Safety',
    );
  });

  it('flags two different entries at the same index and term (Log Matching)', () => {
    const checker = new SafetyChecker();
    persisted(checker, 1n, [entry(1, 1, 'a')], 1, 0);
    expect(broken(() => persisted(checker, 2n, [entry(1, 1, 'b')], 1, 0))).toBe('Log Matching');
  });

  it('flags a vote granted before it was persisted', () => {
    const checker = new SafetyChecker();
    const disk = new NodeDisk();
    const grant: Message = {
      type: MessageType.VoteResp,
      to: 2n,
      from: 1n,
      term: 2,
      logTerm: 0,
      index: 0,
      entries: [],
      commit: 0,
      reject: false,
      rejectHint: 0,
    };
    expect(broken(() => checker.beforeSend(1n, disk, grant))).toBe('Vote persisted before it is sent');
  });

  it('flags a node committing a different entry where another committed one', () => {
    const checker = new SafetyChecker();
    persisted(checker, 1n, [entry(1, 1, 'a')], 1, 1);
    expect(broken(() => persisted(checker, 2n, [entry(1, 2, 'b')], 2, 1))).toBe(
      'Committed entries never change',
    );
  });

  it('flags a leader whose log lacks an entry committed in an earlier term (Leader Completeness)', () => {
    const checker = new SafetyChecker();
    persisted(checker, 1n, [entry(1, 1, 'a')], 1, 1);
    const disk = persisted(checker, 2n, [entry(1, 2, 'b')], 2, 0);
    checker.observeRole(2n, { lead: 2n, raftState: StateType.Leader }, 2);
    expect(broken(() => checker.checkLeaderCompleteness(() => disk))).toBe('Leader Completeness');
  });

  it('flags a read index older than what was committed when the read was issued', () => {
    const checker = new SafetyChecker();
    persisted(checker, 1n, [entry(1, 1, 'a'), entry(2, 1, 'b')], 1, 2);
    const context = Buffer.from('read-1');
    checker.readIssued(1n, context);
    expect(broken(() => checker.readAnswered(1n, { index: 1, requestCtx: context }))).toBe(
      'Linearizable ReadIndex',
    );
    expect(broken(() => checker.readAnswered(1n, { index: 2, requestCtx: context }))).toBe('nothing');
  });
});
