// The failure detector outside Raft (Cairn's peer transport noticing a leader's stream reset) calls
// suspectLeader. Here it fires for followers whose leader is really down, and also at random for a live
// leader (a wrong suspicion: a connection reset by a flaky link), so the safety invariants cover both.
// It draws from its own random stream, so adding it left every other fault of a seed unchanged.
import type { SimCluster } from './cluster';
import type { SimRandom } from './random';

/** Per tick: chance that one running follower suspects its leader for no reason. */
const WRONG_SUSPICION_RATE = 0.01;
/** Per tick and follower of a crashed leader: chance that its detector has noticed by now. */
const NOTICE_RATE = 0.3;

export class SuspicionInjector {
  constructor(
    private readonly cluster: SimCluster,
    private readonly rng: SimRandom,
  ) {}

  step(): void {
    const { cluster, rng } = this;
    const up = cluster.up();
    const downIds = new Set(cluster.down().map((node) => node.id));
    for (const node of up) {
      const lead = node.raft?.softState().lead;
      if (lead === undefined || !downIds.has(lead) || !rng.chance(NOTICE_RATE)) continue;
      cluster.trace.record(() => `n${node.id} suspects its crashed leader n${lead}`);
      cluster.stats.suspicions++;
      cluster.act(node, (raft) => raft.suspectLeader(lead));
    }
    if (up.length > 0 && rng.chance(WRONG_SUSPICION_RATE)) {
      const node = rng.pick(up);
      const lead = node.raft?.softState().lead;
      if (lead === undefined) return;
      cluster.trace.record(() => `n${node.id} wrongly suspects n${lead}`);
      cluster.stats.suspicions++;
      cluster.act(node, (raft) => raft.suspectLeader(lead));
    }
  }
}
