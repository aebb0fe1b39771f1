import { describe, expect, it } from 'vitest';
import { CAMPAIGN_TRANSFER_CONTEXT } from '../src/raft';
import { MessageType, NONE, StateType } from '../src/types';
import { electLeader, makeNode, msg, ofType, tickN } from './support/harness';
import { Network } from './support/network';

const voters = [1n, 2n, 3n];

describe('check-quorum', () => {
  it('a leader that hears from no quorum during an election timeout steps down', () => {
    const net = Network.bootstrap(voters, { checkQuorum: true });
    net.campaign(1n);
    net.isolate(1n);
    // The first round resets the "recently active" marks, the second finds nobody active.
    for (let i = 0; i < 2 * 10; i++) {
      net.tick(1n);
      net.deliverAll();
    }
    expect(net.get(1n).state()).toBe(StateType.Follower);
    expect(net.get(1n).node.softState().lead).toBe(NONE);
  });

  it('a leader that keeps hearing from a quorum stays leader', () => {
    const net = Network.bootstrap(voters, { checkQuorum: true });
    net.campaign(1n);
    net.isolate(3n);
    for (let i = 0; i < 50; i++) {
      net.tick(1n);
      net.tick(2n);
      net.deliverAll();
    }
    expect(net.leaders()).toEqual([1n]);
  });

  it('a follower that heard from a live leader within the election timeout ignores vote requests (leader stickiness)', () => {
    const tn = makeNode(2n, { voters, term: 1, checkQuorum: true });
    tn.node.step(msg({ type: MessageType.Heartbeat, from: 1n, to: 2n, term: 1 }));
    tn.process();
    tn.node.step(msg({ type: MessageType.Vote, from: 3n, to: 2n, term: 2, index: 5, logTerm: 1 }));
    expect(ofType(tn.process(), MessageType.VoteResp)).toEqual([]);
    expect(tn.node.status().hardState).toMatchObject({ term: 1, vote: NONE });
    expect(tn.node.softState().lead).toBe(1n);
  });

  it('once the election timeout passes without the leader, the follower votes again', () => {
    const tn = makeNode(2n, { voters, term: 1, checkQuorum: true });
    tn.node.step(msg({ type: MessageType.Heartbeat, from: 1n, to: 2n, term: 1 }));
    tn.process();
    // Ten ticks (the election timeout) with no leader contact: the lease is over. The node may have
    // started its own election meanwhile only after its randomized timeout (>= 10 ticks).
    for (let i = 0; i < 10; i++) tn.node.tick();
    tn.process();
    const term = tn.node.status().hardState.term;
    tn.node.step(msg({ type: MessageType.Vote, from: 3n, to: 2n, term: term + 1, index: 5, logTerm: 1 }));
    const resp = ofType(tn.process(), MessageType.VoteResp);
    expect(resp).toHaveLength(1);
    expect(resp[0].reject).toBe(false);
  });

  it('a vote forced by a leadership transfer is not ignored during the lease', () => {
    const tn = makeNode(2n, { voters, term: 1, checkQuorum: true });
    tn.node.step(msg({ type: MessageType.Heartbeat, from: 1n, to: 2n, term: 1 }));
    tn.process();
    tn.node.step(
      msg({
        type: MessageType.Vote,
        from: 3n,
        to: 2n,
        term: 2,
        index: 5,
        logTerm: 1,
        context: CAMPAIGN_TRANSFER_CONTEXT,
      }),
    );
    const resp = ofType(tn.process(), MessageType.VoteResp);
    expect(resp).toHaveLength(1);
    expect(resp[0]).toMatchObject({ reject: false, term: 2 });
    expect(tn.node.status().hardState).toMatchObject({ term: 2, vote: 3n });
  });

  it('a leader in its lease ignores a vote request with a higher term', () => {
    const tn = makeNode(1n, { voters, checkQuorum: true });
    electLeader(tn, voters);
    tn.node.step(msg({ type: MessageType.Vote, from: 3n, to: 1n, term: 5, index: 10, logTerm: 4 }));
    expect(tn.process()).toEqual([]);
    expect(tn.state()).toBe(StateType.Leader);
    expect(tn.node.status().hardState.term).toBe(1);
  });

  it('a follower answers a stale AppendEntries with its term, so a deposed leader learns it and steps down', () => {
    const follower = makeNode(2n, { voters, term: 5, checkQuorum: true });
    follower.node.step(msg({ type: MessageType.App, from: 1n, to: 2n, term: 3 }));
    const resp = ofType(follower.process(), MessageType.AppResp);
    expect(resp).toHaveLength(1);
    expect(resp[0]).toMatchObject({ to: 1n, term: 5 });

    const stale = makeNode(1n, { voters, checkQuorum: true, term: 2 });
    electLeader(stale, voters);
    stale.node.step(resp[0]);
    stale.process();
    expect(stale.state()).toBe(StateType.Follower);
    expect(stale.node.status().hardState.term).toBe(5);
  });

  it('a leader with check-quorum checks once per election timeout, counting itself', () => {
    // A single-voter cluster always has a quorum: itself.
    const tn = makeNode(1n, { voters: [1n], checkQuorum: true });
    tn.node.campaign();
    tn.process();
    tickN(tn, 50);
    expect(tn.state()).toBe(StateType.Leader);
  });
});
