// The hostile environment: network weather, crashes (some in the middle of a Ready), restarts and
// partitions (symmetric and one-way), drawn per tick from the scenario's rates.
import type { NodeId } from '../../src';
import type { SimCluster } from './cluster';
import { CALM } from './network';
import type { CrashStage, SimNode } from './node';
import type { SimRandom } from './random';
import type { Scenario } from './scenario';

const CRASH_STAGES: CrashStage[] = ['before-persist', 'before-send', 'before-apply', 'mid-apply'];

/** A node cut off from everyone for a while, e.g. a leader right after its election. */
interface Isolation {
  node: NodeId;
  startsAt: number;
  endsAt: number;
  /** The links cut when it started, healed when it ends. */
  links: [NodeId, NodeId][];
}

export class FaultInjector {
  /** `id@term` of the last leader seen, to notice each new one once. */
  private lastLeader = '';
  private isolations: Isolation[] = [];

  constructor(
    private readonly cluster: SimCluster,
    private readonly rng: SimRandom,
    private readonly scenario: Scenario,
  ) {}

  step(): void {
    const { rng, scenario: s, cluster } = this;
    if (rng.chance(s.weatherChangeRate)) this.changeWeather();
    if (rng.chance(s.crashRate)) this.crashSomeone();
    if (rng.chance(s.pauseRate)) this.pauseSomeone();
    for (const node of cluster.down()) if (rng.chance(s.restartRate)) cluster.restart(node);
    if (rng.chance(s.partitionRate)) this.partition();
    if (cluster.net.hasCuts() && rng.chance(s.healRate)) {
      cluster.net.healAll();
      cluster.trace.record(() => 'partition healed');
    }
    this.isolateNewLeaders();
  }

  /** Faults stop: links heal, the weather clears, every member that is down comes back. */
  calm(): void {
    const { cluster } = this;
    cluster.net.healAll();
    this.isolations = [];
    cluster.net.weather = CALM;
    cluster.retireRemovedNow();
    for (const node of cluster.nodes.values()) {
      node.crashPoint = undefined;
      node.pausedUntil = 0;
    }
    for (const node of cluster.down()) cluster.restart(node);
    cluster.trace.record(() => 'faults stop: network healed and calm, every member restarted');
  }

  /**
   * Leaders that lose contact right after winning leave the uncommitted tails of several terms spread
   * over the cluster: the situation of Raft's figure 8, where a wrong commit rule loses data.
   */
  private isolateNewLeaders(): void {
    const { cluster, rng } = this;
    const leader = cluster.leader();
    const key = leader ? `${leader.id}@${leader.disk.hardState.term}` : '';
    if (leader && key !== this.lastLeader && rng.chance(this.scenario.newLeaderIsolationRate)) {
      const startsAt = cluster.now + rng.int(3);
      this.isolations.push({ node: leader.id, startsAt, endsAt: startsAt + rng.between(3, 25), links: [] });
    }
    this.lastLeader = key;
    for (const isolation of this.isolations) {
      if (isolation.links.length > 0 || cluster.now < isolation.startsAt) continue;
      for (const other of cluster.nodes.values()) {
        if (other.id === isolation.node || other.retired) continue;
        isolation.links.push([isolation.node, other.id], [other.id, isolation.node]);
      }
      for (const [from, to] of isolation.links) cluster.net.cut(from, to);
      cluster.trace.record(() => `n${isolation.node} isolated until tick ${isolation.endsAt}`);
    }
    const ended = this.isolations.filter((isolation) => cluster.now >= isolation.endsAt);
    for (const isolation of ended) {
      for (const [from, to] of isolation.links) cluster.net.uncut(from, to);
      cluster.trace.record(() => `n${isolation.node} isolation ends`);
    }
    this.isolations = this.isolations.filter((isolation) => cluster.now < isolation.endsAt);
  }

  private changeWeather(): void {
    const { stormiest } = this.scenario;
    const weather = {
      dropRate: this.rng.float() * stormiest.dropRate,
      duplicateRate: this.rng.float() * stormiest.duplicateRate,
      maxDelay: this.rng.int(stormiest.maxDelay + 1),
      straggleRate: this.rng.float() * stormiest.straggleRate,
    };
    this.cluster.net.weather = weather;
    this.cluster.trace.record(
      () =>
        `weather: drop ${weather.dropRate.toFixed(3)} dup ${weather.duplicateRate.toFixed(3)} delay<=${weather.maxDelay}`,
    );
  }

  /** A running node, the leader with the scenario's bias. */
  private victim(): SimNode | undefined {
    const leader = this.cluster.leader();
    if (leader && this.rng.chance(this.scenario.leaderTargetShare)) return leader;
    const up = this.cluster.up();
    return up.length === 0 ? undefined : this.rng.pick(up);
  }

  private crashSomeone(): void {
    const node = this.victim();
    if (!node) return;
    if (this.rng.chance(this.scenario.midReadyCrashShare)) {
      node.crashPoint = { stage: this.rng.pick(CRASH_STAGES), appliedBeforeCrash: this.rng.int(3) };
      this.cluster.trace.record(() => `n${node.id} will crash ${node.crashPoint?.stage} of its next Ready`);
    } else {
      this.cluster.crash(node, 'crash');
    }
  }

  private pauseSomeone(): void {
    const node = this.victim();
    if (!node) return;
    node.pausedUntil = this.cluster.now + this.rng.between(1, this.scenario.maxPauseTicks);
    this.cluster.trace.record(() => `n${node.id} paused until tick ${node.pausedUntil}`);
  }

  private partition(): void {
    const { cluster, rng } = this;
    const ids = [...cluster.nodes.values()].filter((n) => !n.retired).map((n) => n.id);
    if (ids.length < 2) return;
    cluster.stats.partitions++;
    const kind = rng.int(4);
    if (kind === 0) {
      const lonely = this.victim()?.id ?? rng.pick(ids);
      this.cutBetween(
        [lonely],
        ids.filter((id) => id !== lonely),
      );
    } else if (kind === 1) {
      const shuffled = rng.shuffle([...ids]);
      const minority = rng.between(1, Math.floor(ids.length / 2));
      this.cutBetween(shuffled.slice(0, minority), shuffled.slice(minority));
    } else if (kind === 2) {
      // One-way: `from` can no longer reach `to`, but hears it fine.
      const from = rng.pick(ids);
      const to = rng.pick(ids.filter((id) => id !== from));
      cluster.net.cut(from, to);
    } else {
      // A node that can receive but not send (or the reverse).
      const node = rng.pick(ids);
      const deaf = rng.chance(0.5);
      for (const other of ids) {
        if (other === node) continue;
        if (deaf) cluster.net.cut(other, node);
        else cluster.net.cut(node, other);
      }
    }
    cluster.trace.record(() => `partition: cut ${cluster.net.describeCuts()}`);
  }

  private cutBetween(left: NodeId[], right: NodeId[]): void {
    for (const a of left) {
      for (const b of right) {
        this.cluster.net.cut(a, b);
        this.cluster.net.cut(b, a);
      }
    }
  }
}
