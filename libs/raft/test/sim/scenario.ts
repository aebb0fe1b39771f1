// Everything about a run that is decided up front from its seed: cluster size, Raft options, how hostile
// the network and the operators are. Seeds alternate between 3- and 5-node clusters; about a third
// change membership while they run.
import { SimRandom } from './random';
import type { NetworkWeather } from './network';

export type ScenarioStyle = 'mixed' | 'leader-churn' | 'corners';

export interface Scenario {
  seed: number;
  /**
   * 'leader-churn' isolates and crashes leaders every few ticks while entries travel one per message:
   * logs end up with uncommitted entries of many terms scattered over the nodes, the ground where
   * commit-rule bugs (Raft's figure 8) show.
   */
  style: ScenarioStyle;
  initialVoters: number;
  electionTick: number;
  heartbeatTick: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  /**
   * Leaders defer commit-only broadcasts (RaftConfig.deferCommitBroadcast); the driver sends them at the
   * next tick. Chosen by the test, not the seed, so seeds keep their runs.
   */
  deferCommitBroadcast: boolean;
  /** Ticks of faults and load. */
  chaosTicks: number;
  /** After the faults stop, the cluster must elect a leader, commit and converge within this many ticks. */
  livenessTicks: number;
  /** The worst weather this run sees; each stretch of the run draws its own, up to this. */
  stormiest: NetworkWeather;
  /** Per-tick probabilities. */
  crashRate: number;
  /** Probability per tick that a process pauses (for up to `maxPauseTicks`). */
  pauseRate: number;
  maxPauseTicks: number;
  /** Probability a node misses a tick (its clock runs slow). */
  tickSkipChance: number;
  restartRate: number;
  /** Share of crashes that strike in the middle of handling a Ready. */
  midReadyCrashShare: number;
  /** Share of crashes, pauses and isolations aimed at the current leader. */
  leaderTargetShare: number;
  /** Probability that a newly elected leader is cut off from everyone 0-2 ticks later, for a few ticks. */
  newLeaderIsolationRate: number;
  partitionRate: number;
  healRate: number;
  weatherChangeRate: number;
  proposalRate: number;
  readRate: number;
  compactionRate: number;
  transferRate: number;
  confChangeRate: number;
  minVoters: number;
  maxVoters: number;
  /** Only in 'corners' runs: the injected situations of corners.ts. */
  corners?: CornerRates;
}

/** Per-tick probabilities of the corner injector (corners.ts). */
export interface CornerRates {
  /** The leader is cut off (from all, or all but one follower) and handed a burst of proposals. */
  burstRate: number;
  /** Share of bursts after which the leader crashes at once (appends and dies). */
  burstCrashShare: number;
  /** An AppendEntries sent some ticks ago is delivered again, after newer ones. */
  replayRate: number;
  /** The leader snapshots and compacts everything it applied, so a rejoining node needs a snapshot. */
  snapshotAllRate: number;
  /** A learner is cut off from the leader and promoted. */
  learnerPartitionRate: number;
}

export function scenarioForSeed(seed: number): Scenario {
  const rng = new SimRandom(seed ^ 0x5ce4a210);
  const initialVoters = seed % 2 === 0 ? 3 : 5;
  const changesMembership = rng.chance(0.35);
  const electionTick = rng.pick([5, 10, 10, 10]);
  const base: Scenario = {
    seed,
    style: 'mixed',
    initialVoters,
    electionTick,
    heartbeatTick: rng.pick([1, 2, 3].filter((h) => h < electionTick / 2)),
    preVote: rng.chance(0.6),
    checkQuorum: rng.chance(0.6),
    maxSizePerMsg: rng.pick([0, 16, 64, 1024 * 1024]),
    maxInflightMsgs: rng.pick([1, 2, 4, 256]),
    deferCommitBroadcast: false,
    chaosTicks: rng.between(120, 220),
    livenessTicks: 80 * electionTick,
    stormiest: {
      dropRate: rng.pick([0, 0.05, 0.1, 0.2]),
      duplicateRate: rng.pick([0, 0.05, 0.1]),
      maxDelay: rng.pick([0, 1, 2, 4]),
      straggleRate: rng.pick([0, 0.002, 0.01]),
    },
    crashRate: rng.pick([0, 0.01, 0.02, 0.04]),
    pauseRate: rng.pick([0, 0, 0.01, 0.03]),
    maxPauseTicks: rng.pick([5, 15, 30]),
    tickSkipChance: rng.pick([0, 0, 0.05, 0.2]),
    restartRate: rng.pick([0.05, 0.1, 0.2]),
    midReadyCrashShare: 0.5,
    leaderTargetShare: rng.pick([0.2, 0.5, 0.8]),
    newLeaderIsolationRate: 0,
    partitionRate: rng.pick([0, 0.01, 0.03]),
    healRate: rng.pick([0.02, 0.05, 0.1]),
    weatherChangeRate: 0.03,
    proposalRate: rng.pick([0.2, 0.5, 0.8]),
    readRate: rng.pick([0.05, 0.2]),
    compactionRate: rng.pick([0, 0.02, 0.05, 0.1]),
    transferRate: rng.pick([0, 0.005, 0.02]),
    confChangeRate: changesMembership ? rng.pick([0.02, 0.05]) : 0,
    minVoters: 3,
    maxVoters: 5,
  };
  if (!rng.chance(0.2)) return base;
  return {
    ...base,
    style: 'leader-churn',
    maxSizePerMsg: 0,
    maxInflightMsgs: rng.pick([1, 2]),
    partitionRate: 0.12,
    healRate: 0.3,
    crashRate: 0.03,
    restartRate: 0.3,
    leaderTargetShare: 0.9,
    newLeaderIsolationRate: rng.pick([0.3, 0.6]),
    proposalRate: 0.9,
  };
}

/**
 * The corner scenarios of seed `seed`: the default mix's scenario for that seed, with options drawn from
 * a separate random stream (so the default runs of every seed stay exactly as they were): tiny message
 * and inflight limits, leaders that append and die, replayed old appends, aggressive snapshots and
 * learners promoted mid-partition.
 */
export function cornerScenarioForSeed(seed: number): Scenario {
  const base = scenarioForSeed(seed);
  const rng = new SimRandom(seed ^ 0x2c0e4e5);
  return {
    ...base,
    style: 'corners',
    maxSizePerMsg: rng.pick([0, 0, 16, 48]),
    maxInflightMsgs: rng.pick([1, 2, 3]),
    newLeaderIsolationRate: rng.pick([0, 0.2]),
    crashRate: rng.pick([0, 0.01, 0.02]),
    proposalRate: rng.pick([0.5, 0.8]),
    compactionRate: rng.pick([0.02, 0.05, 0.1]),
    confChangeRate: rng.pick([0, 0.03, 0.05]),
    corners: {
      burstRate: rng.pick([0.02, 0.04, 0.06]),
      burstCrashShare: rng.pick([0.2, 0.5]),
      replayRate: rng.pick([0.02, 0.05, 0.1]),
      snapshotAllRate: rng.pick([0, 0.01, 0.03]),
      learnerPartitionRate: rng.pick([0.05, 0.2]),
    },
  };
}

export function describeScenario(s: Scenario): string {
  return [
    `seed=${s.seed} style=${s.style} voters=${s.initialVoters} election=${s.electionTick} heartbeat=${s.heartbeatTick}`,
    `preVote=${s.preVote} checkQuorum=${s.checkQuorum} maxSizePerMsg=${s.maxSizePerMsg} maxInflight=${s.maxInflightMsgs} deferCommitBroadcast=${s.deferCommitBroadcast}`,
    `chaosTicks=${s.chaosTicks} weather<=drop ${s.stormiest.dropRate}/dup ${s.stormiest.duplicateRate}/delay ${s.stormiest.maxDelay}/straggle ${s.stormiest.straggleRate}`,
    `leaderTargetShare=${s.leaderTargetShare} newLeaderIsolation=${s.newLeaderIsolationRate}`,
    `crash=${s.crashRate} restart=${s.restartRate} pause=${s.pauseRate}(<=${s.maxPauseTicks}) skipTick=${s.tickSkipChance}`,
    `partition=${s.partitionRate} heal=${s.healRate}`,
    `propose=${s.proposalRate} read=${s.readRate} compact=${s.compactionRate} transfer=${s.transferRate} confChange=${s.confChangeRate}`,
    ...(s.corners
      ? [
          `corners: burst=${s.corners.burstRate} (crash ${s.corners.burstCrashShare}) replay=${s.corners.replayRate} snapshotAll=${s.corners.snapshotAllRate} learnerPartition=${s.corners.learnerPartitionRate}`,
        ]
      : []),
  ].join('\n');
}
