import { describe, expect, it } from 'vitest';
import { ConfChangeType, MessageType, StateType } from '../src/types';
import { electLeader, enc, makeNode, msg, ofType } from './support/harness';
import { Network } from './support/network';

describe('learners', () => {
  it('receive and apply the log but never campaign', () => {
    const net = Network.bootstrap([1n, 2n, 3n], { learners: [4n] });
    net.campaign(1n);
    net.propose(1n, 'hello');
    expect(net.get(4n).appliedData()).toEqual(['hello']);
    // Far past any election timeout, with the leader gone: the learner stays a follower.
    net.isolate(1n);
    net.tick(4n, 100);
    net.deliverAll();
    expect(net.get(4n).state()).toBe(StateType.Follower);
    expect(
      net.trace.filter(
        (m) => m.from === 4n && (m.type === MessageType.Vote || m.type === MessageType.PreVote),
      ),
    ).toEqual([]);
  });

  it('are not asked for votes', () => {
    const tn = makeNode(1n, { voters: [1n, 2n, 3n], learners: [4n] });
    tn.node.campaign();
    expect(ofType(tn.process(), MessageType.Vote).map((m) => m.to)).toEqual([2n, 3n]);
  });

  it('never count for commit', () => {
    const leader = makeNode(1n, { voters: [1n, 2n, 3n], learners: [4n, 5n] });
    const probes = ofType(electLeader(leader, [1n, 2n, 3n]), MessageType.App);
    const noop = probes[0].index + 1;
    // Both learners have the no-op: still only one voter (the leader) has it.
    for (const id of [4n, 5n])
      leader.node.step(msg({ type: MessageType.AppResp, from: id, to: 1n, term: 1, index: noop }));
    leader.process();
    expect(leader.node.status().hardState.commit).toBe(0);
    leader.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 1, index: noop }));
    leader.process();
    expect(leader.node.status().hardState.commit).toBe(noop);
  });

  it('do not count towards a read-index quorum', () => {
    const leader = makeNode(1n, { voters: [1n, 2n, 3n], learners: [4n] });
    for (const m of ofType(electLeader(leader, [1n, 2n, 3n]), MessageType.App)) {
      leader.node.step(msg({ type: MessageType.AppResp, from: m.to, to: 1n, term: 1, index: m.index + 1 }));
    }
    leader.process();
    leader.node.readIndex(enc('r'));
    leader.process();
    leader.node.step(msg({ type: MessageType.HeartbeatResp, from: 4n, to: 1n, term: 1, context: enc('r') }));
    leader.process();
    expect(leader.readStates).toEqual([]);
  });

  it('a learner promoted with AddNode becomes a voter that can campaign and win', () => {
    const net = Network.bootstrap([1n, 2n, 3n], { learners: [4n] });
    net.campaign(1n);
    net
      .get(1n)
      .node.proposeConfChange({ type: ConfChangeType.AddNode, nodeId: 4n, context: new Uint8Array() });
    net.deliverAll();
    for (const n of net.nodes.values())
      expect(n.confState).toEqual({ voters: [1n, 2n, 3n, 4n], learners: [] });
    net.campaign(4n);
    expect(net.leaders()).toEqual([4n]);
  });
});
