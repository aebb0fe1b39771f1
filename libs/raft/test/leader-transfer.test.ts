import { describe, expect, it } from 'vitest';
import { RaftErrorCode } from '../src/errors';
import { CAMPAIGN_TRANSFER_CONTEXT } from '../src/raft';
import { MessageType, NONE, StateType } from '../src/types';
import { electLeader, enc, makeNode, msg, ofType } from './support/harness';
import { Network } from './support/network';

const voters = [1n, 2n, 3n];
const dropped = expect.objectContaining({ code: RaftErrorCode.ProposalDropped }) as Error;

describe('leadership transfer', () => {
  it('to an up-to-date follower: TimeoutNow at once, the transferee wins the next term', () => {
    const net = Network.bootstrap(voters);
    net.campaign(1n);
    net.get(1n).node.transferLeader(2n);
    net.deliverAll();
    expect(net.leaders()).toEqual([2n]);
    expect(net.get(1n).state()).toBe(StateType.Follower);
    expect(net.get(1n).node.softState().lead).toBe(2n);
    expect(net.get(2n).node.status().hardState.term).toBe(3);
    const votes = net.trace.filter((m) => m.type === MessageType.Vote && m.from === 2n);
    expect(votes.length).toBe(2);
    for (const v of votes) expect(v.context).toEqual(CAMPAIGN_TRANSFER_CONTEXT);
  });

  it('to a lagging follower: the leader catches it up first, then sends TimeoutNow', () => {
    const net = Network.bootstrap(voters);
    net.campaign(1n);
    net.isolate(3n);
    net.propose(1n, 'missed-by-3');
    net.heal();
    const leader = net.get(1n);
    leader.node.transferLeader(3n);
    const out = leader.process();
    expect(ofType(out, MessageType.TimeoutNow)).toEqual([]);
    expect(ofType(out, MessageType.App).map((m) => m.to)).toEqual([3n]);
    expect(leader.node.status().leadTransferee).toBe(3n);
    net.queue.push(...out);
    net.deliverAll();
    expect(net.leaders()).toEqual([3n]);
    expect(net.get(3n).appliedData()).toContain('missed-by-3');
  });

  it('proposals are dropped while a transfer is under way', () => {
    const net = Network.bootstrap(voters);
    net.campaign(1n);
    net.isolate(3n);
    const leader = net.get(1n);
    leader.node.transferLeader(3n);
    expect(() => leader.node.propose(enc('x'))).toThrow(dropped);
  });

  it('a transfer that does not finish within an election timeout is aborted', () => {
    const net = Network.bootstrap(voters);
    net.campaign(1n);
    net.isolate(3n);
    const leader = net.get(1n);
    leader.node.transferLeader(3n);
    for (let i = 0; i < 10; i++) {
      leader.node.tick();
      net.deliverAll();
    }
    expect(leader.node.status().leadTransferee).toBe(NONE);
    expect(leader.state()).toBe(StateType.Leader);
    expect(() => leader.node.propose(enc('after-abort'))).not.toThrow();
  });

  it('a transfer to itself, to a learner or to an unknown node is ignored', () => {
    const leader = makeNode(1n, { voters, learners: [4n] });
    electLeader(leader, voters);
    for (const target of [1n, 4n, 9n]) {
      leader.node.transferLeader(target);
      expect(ofType(leader.process(), MessageType.TimeoutNow)).toEqual([]);
      expect(leader.node.status().leadTransferee).toBe(NONE);
    }
  });

  it('a second request for a different node replaces the first', () => {
    const net = Network.bootstrap(voters);
    net.campaign(1n);
    net.isolate(2n);
    net.isolate(3n);
    const leader = net.get(1n);
    leader.node.transferLeader(2n);
    leader.node.transferLeader(3n);
    expect(leader.node.status().leadTransferee).toBe(3n);
  });

  it('a follower forwards a transfer request to the leader', () => {
    const net = Network.bootstrap(voters);
    net.campaign(1n);
    net.get(3n).node.transferLeader(3n);
    net.deliverAll();
    expect(net.leaders()).toEqual([3n]);
  });

  it('with check-quorum, the transferee wins although every voter is within its leader lease', () => {
    const net = Network.bootstrap(voters, { checkQuorum: true, preVote: true });
    net.campaign(1n);
    net.tickAll(2);
    net.get(1n).node.transferLeader(2n);
    net.deliverAll();
    expect(net.leaders()).toEqual([2n]);
  });

  it('a non-voter receiving TimeoutNow does not campaign', () => {
    const tn = makeNode(4n, { voters, learners: [4n], term: 1 });
    tn.node.step(msg({ type: MessageType.TimeoutNow, from: 1n, to: 4n, term: 1 }));
    expect(ofType(tn.process(), MessageType.Vote)).toEqual([]);
    expect(tn.state()).toBe(StateType.Follower);
  });
});
