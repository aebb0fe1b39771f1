import { describe, expect, it } from 'vitest';
import { MessageType, NONE, StateType } from '../src/types';
import { entriesWithTerms, makeNode, msg, ofType } from './support/harness';
import { Network } from './support/network';

const voters = [1n, 2n, 3n];

describe('pre-vote', () => {
  it('a pre-candidate asks for votes for term+1 without changing its own term or vote', () => {
    const tn = makeNode(1n, { voters, term: 3, preVote: true });
    tn.node.campaign();
    const out = tn.process();
    expect(tn.state()).toBe(StateType.PreCandidate);
    expect(tn.node.status().hardState).toMatchObject({ term: 3, vote: NONE });
    const preVotes = ofType(out, MessageType.PreVote);
    expect(preVotes.map((m) => [m.to, m.term])).toEqual([
      [2n, 4],
      [3n, 4],
    ]);
    expect(ofType(out, MessageType.Vote)).toEqual([]);
  });

  it('after a pre-vote quorum it becomes candidate, bumps the term and asks for real votes', () => {
    const tn = makeNode(1n, { voters, term: 3, preVote: true });
    tn.node.campaign();
    tn.process();
    tn.node.step(msg({ type: MessageType.PreVoteResp, from: 2n, to: 1n, term: 4 }));
    const out = tn.process();
    expect(tn.state()).toBe(StateType.Candidate);
    expect(tn.node.status().hardState).toMatchObject({ term: 4, vote: 1n });
    expect(ofType(out, MessageType.Vote).map((m) => [m.to, m.term])).toEqual([
      [2n, 4],
      [3n, 4],
    ]);
  });

  it('a pre-candidate rejected by a majority returns to follower at its old term', () => {
    const tn = makeNode(1n, { voters, term: 3, preVote: true });
    tn.node.campaign();
    tn.process();
    tn.node.step(msg({ type: MessageType.PreVoteResp, from: 2n, to: 1n, term: 3, reject: true }));
    tn.node.step(msg({ type: MessageType.PreVoteResp, from: 3n, to: 1n, term: 3, reject: true }));
    tn.process();
    expect(tn.state()).toBe(StateType.Follower);
    expect(tn.node.status().hardState.term).toBe(3);
  });

  it('granting a pre-vote changes neither the voter term nor its vote', () => {
    const tn = makeNode(2n, { voters, term: 3, preVote: true });
    tn.node.step(msg({ type: MessageType.PreVote, from: 1n, to: 2n, term: 4, index: 0, logTerm: 0 }));
    const resp = ofType(tn.process(), MessageType.PreVoteResp);
    expect(resp).toHaveLength(1);
    expect(resp[0]).toMatchObject({ to: 1n, term: 4, reject: false });
    expect(tn.node.status().hardState).toMatchObject({ term: 3, vote: NONE });
  });

  it('a pre-vote from a candidate with a stale log is rejected with the voter term', () => {
    const tn = makeNode(2n, { voters, term: 3, preVote: true, entries: entriesWithTerms([1, 3]) });
    tn.node.step(msg({ type: MessageType.PreVote, from: 1n, to: 2n, term: 4, index: 5, logTerm: 2 }));
    const resp = ofType(tn.process(), MessageType.PreVoteResp);
    expect(resp[0]).toMatchObject({ to: 1n, term: 3, reject: true });
  });

  it('a partitioned node does not bump its term, so it cannot disrupt the leader when it rejoins', () => {
    for (const preVote of [true, false]) {
      const net = Network.bootstrap(voters, { preVote });
      net.campaign(1n);
      const term = net.get(1n).node.status().hardState.term;
      net.isolate(3n);
      net.tick(3n, 100);
      net.deliverAll();
      const isolatedTerm = net.get(3n).node.status().hardState.term;
      net.heal();
      net.tickAll(30);
      if (preVote) {
        expect(isolatedTerm).toBe(term);
        expect(net.leaders()).toEqual([1n]);
        expect(net.get(1n).node.status().hardState.term).toBe(term);
      } else {
        // Without pre-vote the isolated node inflates its term and deposes the leader on return.
        expect(isolatedTerm).toBeGreaterThan(term);
        expect(net.get(1n).node.status().hardState.term).toBeGreaterThan(term);
      }
    }
  });

  it('with pre-vote a cluster still elects a leader, and the winner bumps the term exactly once', () => {
    const net = Network.bootstrap(voters, { preVote: true });
    net.campaign(2n);
    expect(net.leaders()).toEqual([2n]);
    for (const n of net.nodes.values()) expect(n.node.status().hardState.term).toBe(2);
  });
});
