// One seeded run: bootstrap a cluster, throw faults and load at it for a while, then stop the faults and
// require it to recover. Any broken invariant ends the run with a violation.
import { SimCluster } from './cluster';
import { FaultInjector } from './faults';
import { SafetyChecker } from './invariants';
import { awaitConvergence, checkConverged } from './liveness';
import { SimNetwork } from './network';
import { SimRandom } from './random';
import { CornerInjector } from './corners';
import { cornerScenarioForSeed, scenarioForSeed, type Scenario } from './scenario';
import { emptyStats, type SimStats } from './stats';
import { SimTrace } from './trace';
import { InvariantViolation } from './violation';
import { SuspicionInjector } from './suspicion';
import { Workload } from './workload';

export interface SimulationResult {
  seed: number;
  scenario: Scenario;
  violation?: InvariantViolation;
  /** The tick at which the run ended (the failing tick if it failed). */
  tick: number;
  stats: SimStats;
  trace: SimTrace;
}

export function runSimulation(
  seed: number,
  options: { trace?: boolean; deferCommitBroadcast?: boolean; corners?: boolean } = {},
): SimulationResult {
  const scenario = {
    ...(options.corners ? cornerScenarioForSeed(seed) : scenarioForSeed(seed)),
    deferCommitBroadcast: options.deferCommitBroadcast ?? false,
  };
  const rng = new SimRandom(seed);
  const trace = new SimTrace(options.trace ?? false);
  const stats = emptyStats();
  const checker = new SafetyChecker();
  const cluster = new SimCluster(scenario, rng.fork(), new SimNetwork(rng.fork()), checker, trace, stats);
  const faults = new FaultInjector(cluster, rng.fork(), scenario);
  const workload = new Workload(cluster, rng.fork(), scenario);
  const suspicions = new SuspicionInjector(cluster, rng.fork());
  // Its own stream (not a fork of `rng`), so the streams above are those of the default run of this seed.
  const corners = scenario.corners
    ? new CornerInjector(cluster, new SimRandom(seed ^ 0x7c0e4e5), scenario.corners)
    : undefined;
  const result: SimulationResult = { seed, scenario, tick: 0, stats, trace };
  try {
    const ids = Array.from({ length: scenario.initialVoters }, (_, i) => BigInt(i + 1));
    cluster.bootstrap(ids);
    for (let tick = 1; tick <= scenario.chaosTicks; tick++) {
      cluster.advanceClock();
      trace.record(() => `--- leader ${cluster.leader()?.id ?? 'none'}, cuts ${cluster.net.describeCuts()}`);
      faults.step();
      suspicions.step();
      corners?.step();
      workload.step();
      cluster.tickAll(scenario.tickSkipChance);
      cluster.deliverDue();
      cluster.retireDue();
    }
    corners?.calm();
    faults.calm();
    stats.convergenceTicks = awaitConvergence(cluster, workload);
    checkConverged(cluster);
  } catch (err) {
    result.violation =
      err instanceof InvariantViolation
        ? err
        : new InvariantViolation('The run completes without errors', 'no exception', errorText(err));
  }
  result.tick = cluster.now;
  stats.readsChecked = checker.readsChecked;
  stats.leadersElected = checker.leadersElected;
  return result;
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
