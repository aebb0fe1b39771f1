import { describe, expect, it } from 'vitest';
import { StateType } from '../src/types';
import { Network } from './support/network';

describe('a 3-node cluster', () => {
  it('elects exactly one leader by timeout and replicates proposals to every node', () => {
    const net = Network.bootstrap([1n, 2n, 3n]);
    // Randomized timeouts are in [10, 20): within 20 ticks someone campaigns and wins.
    net.tickAll(20);
    const leaders = net.leaders();
    expect(leaders).toHaveLength(1);
    const leader = leaders[0];
    for (const n of net.nodes.values()) expect(n.node.softState().lead).toBe(leader);

    net.propose(leader, 'a');
    const follower = [1n, 2n, 3n].find((id) => id !== leader)!;
    net.propose(follower, 'b'); // forwarded to the leader
    for (const n of net.nodes.values()) {
      expect(n.appliedData()).toEqual(['a', 'b']);
      expect(n.node.status().hardState.commit).toBe(6); // 3 bootstrap + no-op + a + b
    }
    expect(net.get(leader).state()).toBe(StateType.Leader);
  });
});
