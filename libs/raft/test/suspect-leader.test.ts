// suspectLeader: a failure detector outside Raft (Cairn's peer transport seeing the leader's stream reset)
// lets followers skip the leader's lease after a crash, without letting a wrong suspicion disrupt anyone.
import { describe, expect, it } from 'vitest';
import { ReadOnlyOption } from '../src/contracts';
import { MessageType, type NodeId } from '../src/types';
import { Network } from './support/network';

const voters = [1n, 2n, 3n];
const ELECTION_TICK = 10; // the test nodes' electionTick

/**
 * Ticks only `ids`, one tick at a time with delivery in between, until one of them has asked for (pre-)votes;
 * returns the ticks. (Two survivors ticking in lock-step can split the vote, so the first campaign, not the
 * winner, is what the election timeout decides.)
 */
function ticksUntilCampaign(net: Network, ids: NodeId[], maxTicks: number): number {
  const from = net.trace.length;
  const campaigned = (): boolean =>
    net.trace
      .slice(from)
      .some((m) => ids.includes(m.from) && (m.type === MessageType.PreVote || m.type === MessageType.Vote));
  for (let tick = 1; tick <= maxTicks; tick++) {
    for (const id of ids) net.tick(id);
    net.deliverAll();
    if (campaigned()) return tick;
  }
  return Infinity;
}

function ticksUntilLeaderAmong(net: Network, ids: NodeId[], maxTicks: number): number {
  for (let tick = 1; tick <= maxTicks; tick++) {
    for (const id of ids) net.tick(id);
    net.deliverAll();
    if (net.leaders().some((leader) => ids.includes(leader))) return tick;
  }
  return Infinity;
}

function clusterWithDeadLeader(options: {
  preVote: boolean;
  checkQuorum: boolean;
  readOnlyOption?: ReadOnlyOption;
  seed: number;
}): Network {
  const net = Network.bootstrap(voters, options);
  net.campaign(1n);
  net.tickAll(1);
  net.isolate(1n); // killed: nothing goes to it or comes from it any more
  return net;
}

describe('suspectLeader', () => {
  it('followers that suspect their crashed leader campaign within the randomized part of the timeout, not after the whole timeout, and elect a new leader', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const suspected = clusterWithDeadLeader({ preVote: true, checkQuorum: true, seed });
      suspected.get(2n).node.suspectLeader(1n);
      suspected.get(3n).node.suspectLeader(1n);
      expect(ticksUntilCampaign(suspected, [2n, 3n], 5 * ELECTION_TICK)).toBeLessThan(ELECTION_TICK);
      expect(ticksUntilLeaderAmong(suspected, [2n, 3n], 5 * ELECTION_TICK)).toBeLessThan(Infinity);

      const unsuspected = clusterWithDeadLeader({ preVote: true, checkQuorum: true, seed });
      expect(ticksUntilCampaign(unsuspected, [2n, 3n], 5 * ELECTION_TICK)).toBeGreaterThanOrEqual(
        ELECTION_TICK,
      );
    }
  });

  it('a wrong suspicion by one follower neither deposes a live leader nor raises the term', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const net = Network.bootstrap(voters, { preVote: true, checkQuorum: true, seed });
      net.campaign(1n);
      net.tickAll(2);
      const term = net.get(1n).node.status().hardState.term;
      net.get(3n).node.suspectLeader(1n);
      net.tickAll(5 * ELECTION_TICK);
      expect(net.leaders()).toEqual([1n]);
      for (const id of voters) expect(net.get(id).node.status().hardState.term).toBe(term);
    }
  });

  it('is ignored without pre-vote and check-quorum, with lease-based reads, and for a peer that is not the leader', () => {
    for (const options of [
      { preVote: false, checkQuorum: true },
      { preVote: true, checkQuorum: false },
      // Lease-based reads rely on followers honouring the leader's lease for a whole election timeout.
      { preVote: true, checkQuorum: true, readOnlyOption: ReadOnlyOption.LeaseBased },
    ]) {
      const net = clusterWithDeadLeader({ ...options, seed: 7 });
      net.get(2n).node.suspectLeader(1n);
      net.get(3n).node.suspectLeader(1n);
      expect(ticksUntilCampaign(net, [2n, 3n], ELECTION_TICK - 1)).toBe(Infinity);
    }
    const net = clusterWithDeadLeader({ preVote: true, checkQuorum: true, seed: 7 });
    net.get(2n).node.suspectLeader(3n);
    net.get(3n).node.suspectLeader(2n);
    expect(ticksUntilCampaign(net, [2n, 3n], ELECTION_TICK - 1)).toBe(Infinity);
  });
});
