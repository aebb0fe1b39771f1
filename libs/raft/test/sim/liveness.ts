// After the faults stop: a leader must emerge, a fresh write must commit, and every member must converge
// on the same applied state, all within a bounded number of ticks.
import type { Entry } from '../../src';
import type { SimCluster } from './cluster';
import type { SimNode } from './node';
import { entryFingerprint } from './state-machine';
import { violated } from './violation';
import type { Workload } from './workload';

/** Ticks a lagging member may need per missing entry (one entry per message, one in flight). */
const TICKS_PER_BACKLOG_ENTRY = 3;
/**
 * With no node appending or applying anything for this many election timeouts, the cluster is stuck.
 * Generous on purpose: without pre-vote, nodes that cannot win keep bumping the term and resetting
 * everyone's timer; with electionTick 5 (five distinct timeouts) seed 33913 needs 23 rounds to elect.
 */
const STALL_ELECTIONS = 60;

/**
 * Returns the ticks it took to converge. The bound is the scenario's liveness ticks plus time to ship
 * the backlog the faults left behind (a slow-but-moving catch-up is not a liveness failure); a cluster
 * where nobody appends or applies anything for STALL_ELECTIONS election timeouts fails at once.
 */
export function awaitConvergence(cluster: SimCluster, workload: Workload): number {
  const { electionTick, livenessTicks } = cluster.scenario;
  const bound = livenessTicks + TICKS_PER_BACKLOG_ENTRY * backlog(cluster);
  let marker: string | undefined;
  let markerProposedAt = -Infinity;
  let progress = progressMark(cluster);
  let lastProgressAt = 0;
  for (let tick = 1; tick <= bound; tick++) {
    cluster.advanceClock();
    cluster.tickAll();
    cluster.deliverDue();
    cluster.retireDue();
    const mark = progressMark(cluster);
    if (mark !== progress) {
      progress = mark;
      lastProgressAt = tick;
    } else if (tick - lastProgressAt > STALL_ELECTIONS * electionTick) {
      return violated(
        'Liveness',
        `some member to append or apply something within ${STALL_ELECTIONS} election timeouts once faults stopped`,
        `no progress since tick ${lastProgressAt} of the calm\n${cluster.describeNodes()}\nin flight: ${cluster.net.inFlight()} marker: ${marker ?? 'none'}`,
      );
    }
    const leader = cluster.leader();
    if (!leader) continue;
    const markerIndex = marker === undefined ? undefined : cluster.markerApplied.get(marker);
    // A proposal can still be lost to a leader change; a client retries after a while.
    if (markerIndex === undefined && tick - markerProposedAt >= electionTick) {
      marker = workload.proposeMarker(leader);
      markerProposedAt = tick;
      continue;
    }
    if (markerIndex !== undefined && converged(cluster, leader, markerIndex)) return tick;
  }
  return violated(
    'Liveness',
    `a leader, a committed write and all members converged within ${bound} ticks of the faults stopping`,
    `\n${cluster.describeNodes()}\nin flight: ${cluster.net.inFlight()} marker: ${marker ?? 'none'}`,
  );
}

/** How far the slowest running node trails the longest log. */
function backlog(cluster: SimCluster): number {
  const up = cluster.up();
  if (up.length === 0) return 0;
  const longest = Math.max(...up.map((node) => node.disk.wal.lastIndex()));
  return longest - Math.min(...up.map((node) => node.disk.stateMachine.applied));
}

/** Moves whenever any node persists or applies more of the log (both only grow while calm). */
function progressMark(cluster: SimCluster): number {
  let sum = 0;
  for (const node of cluster.nodes.values())
    sum += node.disk.stateMachine.applied + node.disk.wal.lastIndex();
  return sum;
}

function converged(cluster: SimCluster, leader: SimNode, markerIndex: number): boolean {
  const sm = leader.disk.stateMachine;
  const { voters, learners } = sm.confState;
  if (!voters.includes(leader.id)) return false;
  if (sm.applied < markerIndex || sm.applied !== leader.disk.hardState.commit) return false;
  for (const id of [...voters, ...learners]) {
    const node = cluster.nodes.get(id);
    if (!node?.up || node.lead !== leader.id) return false;
    const other = node.disk.stateMachine;
    if (other.applied !== sm.applied) return false;
  }
  return true;
}

/** Once converged: the members agree on everything, and nothing committed was lost. */
export function checkConverged(cluster: SimCluster): void {
  const leader = cluster.leader() as SimNode;
  const sm = leader.disk.stateMachine;
  const { checker } = cluster;
  if (sm.applied < checker.maxCommitted) {
    violated(
      'Committed entries are never lost',
      `the leader to have applied ${checker.maxCommitted}`,
      `${sm.applied}`,
    );
  }
  const members = [...sm.confState.voters, ...sm.confState.learners].map(
    (id) => cluster.nodes.get(id) as SimNode,
  );
  for (const node of members) {
    const other = node.disk.stateMachine;
    if (other.digest !== sm.digest || other.writes !== sm.writes) {
      violated(
        'Members converge',
        `n${node.id} state (digest ${sm.digest}, ${sm.writes} writes) as on leader n${leader.id}`,
        `digest ${other.digest}, ${other.writes} writes`,
      );
    }
    const voters = [...other.confState.voters].sort().join(',');
    const expected = [...sm.confState.voters].sort().join(',');
    if (voters !== expected) violated('Members converge', `n${node.id} voters ${expected}`, voters);
    for (let i = 0; i < other.appliedLog.length; i++) {
      const index = other.restoredFrom + 1 + i;
      if (checker.committedAt(index) !== other.appliedLog[i]) {
        violated(
          'Committed entries are never lost',
          `n${node.id} applied ${checker.committedAt(index)} at ${index}`,
          `${other.appliedLog[i]}`,
        );
      }
    }
  }
  for (let a = 0; a < members.length; a++) {
    for (let b = a + 1; b < members.length; b++) checkLogsMatch(members[a] as SimNode, members[b] as SimNode);
  }
}

/** Log Matching, the whole-log cross-check: where two persisted logs share a (index, term), they agree up to it. */
function checkLogsMatch(a: SimNode, b: SimNode): void {
  const lo = Math.max(a.disk.compactedTo(), b.disk.compactedTo()) + 1;
  const hi = Math.min(a.disk.wal.lastIndex(), b.disk.wal.lastIndex());
  let agreedFrom = Infinity;
  for (let index = hi; index >= lo; index--) {
    const ea = a.disk.entryAt(index) as Entry;
    const eb = b.disk.entryAt(index) as Entry;
    if (ea.term === eb.term && agreedFrom === Infinity) agreedFrom = index;
    if (agreedFrom !== Infinity && entryFingerprint(ea) !== entryFingerprint(eb)) {
      violated(
        'Log Matching',
        `n${a.id} and n${b.id} to agree below (${agreedFrom}, t${(a.disk.entryAt(agreedFrom) as Entry).term})`,
        `${entryFingerprint(ea)} vs ${entryFingerprint(eb)} at ${index}`,
      );
    }
  }
}
