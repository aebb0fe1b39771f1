// Everything about a run that is decided up front from its seed: cluster size, Raft options, how hostile
// the network and the operators are. Seeds alternate between 3- and 5-node clusters; about a third
// change membership while they run.
import { SimRandom } from './random';
import type { NetworkWeather } from './network';

export interface Scenario {
  seed: number;
  initialVoters: number;
  electionTick: number;
  heartbeatTick: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  /** Ticks of faults and load. */
  chaosTicks: number;
  /** After the faults stop, the cluster must elect a leader, commit and converge within this many ticks. */
  livenessTicks: number;
  /** The worst weather this run sees; each stretch of the run draws its own, up to this. */
  stormiest: NetworkWeather;
  /** Per-tick probabilities. */
  crashRate: number;
  restartRate: number;
  /** Share of crashes that strike in the middle of handling a Ready. */
  midReadyCrashShare: number;
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
}

export function scenarioForSeed(seed: number): Scenario {
  const rng = new SimRandom(seed ^ 0x5ce4a210);
  const initialVoters = seed % 2 === 0 ? 3 : 5;
  const changesMembership = rng.chance(0.35);
  const electionTick = 10;
  return {
    seed,
    initialVoters,
    electionTick,
    heartbeatTick: rng.pick([1, 2, 3]),
    preVote: rng.chance(0.6),
    checkQuorum: rng.chance(0.6),
    maxSizePerMsg: rng.pick([0, 16, 64, 1024 * 1024]),
    maxInflightMsgs: rng.pick([1, 2, 4, 256]),
    chaosTicks: rng.between(120, 220),
    livenessTicks: 40 * electionTick,
    stormiest: {
      dropRate: rng.pick([0, 0.05, 0.1, 0.2]),
      duplicateRate: rng.pick([0, 0.05, 0.1]),
      maxDelay: rng.pick([0, 1, 2, 4]),
    },
    crashRate: rng.pick([0, 0.01, 0.02, 0.04]),
    restartRate: rng.pick([0.05, 0.1, 0.2]),
    midReadyCrashShare: 0.5,
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
}

export function describeScenario(s: Scenario): string {
  return [
    `seed=${s.seed} voters=${s.initialVoters} election=${s.electionTick} heartbeat=${s.heartbeatTick}`,
    `preVote=${s.preVote} checkQuorum=${s.checkQuorum} maxSizePerMsg=${s.maxSizePerMsg} maxInflight=${s.maxInflightMsgs}`,
    `chaosTicks=${s.chaosTicks} weather<=drop ${s.stormiest.dropRate}/dup ${s.stormiest.duplicateRate}/delay ${s.stormiest.maxDelay}`,
    `crash=${s.crashRate} restart=${s.restartRate} partition=${s.partitionRate} heal=${s.healRate}`,
    `propose=${s.proposalRate} read=${s.readRate} compact=${s.compactionRate} transfer=${s.transferRate} confChange=${s.confChangeRate}`,
  ].join('\n');
}
