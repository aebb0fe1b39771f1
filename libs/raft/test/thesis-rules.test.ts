// The rules the Raft thesis (Ongaro, "Consensus: Bridging Theory and Practice", 2014) adds to Figure 2,
// one test per rule, each with the case the rule exists for: ReadIndex (§6.4), pre-vote (§9.6),
// check-quorum (§6.2), leadership transfer (§3.10) and single-server membership changes (§4.1, with the
// snapshot that carries a membership, §5). Cairn changes membership one server at a time, as etcd's
// ConfChange (v1) does; joint consensus (§4.3) is not implemented, so it has no rules here.
import { describe, expect, it } from 'vitest';
import { encodeConfChange } from '../src/confchange-codec';
import { RaftError } from '../src/errors';
import { CAMPAIGN_TRANSFER_CONTEXT } from '../src/raft';
import {
  ConfChangeType,
  EntryType,
  MessageType,
  NONE,
  StateType,
  type NodeId,
  type Snapshot,
} from '../src/types';
import { dec, electLeader, enc, entry, logOf, makeNode, msg, ofType, termsOf } from './support/harness';
import type { TestNode } from './support/network';

const voters: NodeId[] = [1n, 2n, 3n];

/** Leader 1 of `members` whose no-op every follower acknowledged (so it has committed in its term). */
function committedLeader(setup: Parameters<typeof makeNode>[1] = { voters }): TestNode {
  const tn = makeNode(1n, setup);
  tn.process();
  for (const m of ofType(electLeader(tn, setup.voters), MessageType.App)) {
    tn.node.step(
      msg({ type: MessageType.AppResp, from: m.to, to: 1n, term: m.term, index: m.index + m.entries.length }),
    );
  }
  tn.process();
  return tn;
}

function term(tn: TestNode): number {
  return tn.node.status().hardState.term;
}

function heartbeatAck(leader: TestNode, from: NodeId, context?: string): void {
  leader.node.step(
    msg({
      type: MessageType.HeartbeatResp,
      from,
      to: leader.id,
      term: term(leader),
      context: context === undefined ? undefined : enc(context),
    }),
  );
  leader.process();
}

describe('ReadIndex (thesis §6.4)', () => {
  it('leadership is confirmed by a heartbeat round sent after the read arrived: acknowledgements of an earlier round confirm earlier reads only', () => {
    const leader = committedLeader();
    leader.node.readIndex(enc('a'));
    leader.process();
    leader.node.readIndex(enc('b'));
    leader.process();
    // Node 2 answers the round that was sent for "a" (before "b" arrived): that proves leadership at a
    // moment before "b", when another leader may already have committed writes "b" must see.
    heartbeatAck(leader, 2n, 'a');
    expect(leader.readStates.map((rs) => dec(rs.requestCtx))).toEqual(['a']);
    heartbeatAck(leader, 3n, 'b');
    expect(leader.readStates.map((rs) => dec(rs.requestCtx))).toEqual(['a', 'b']);
  });

  it('the read index is the commit index when the read arrived, even if more commits before leadership is confirmed', () => {
    const leader = committedLeader();
    leader.node.readIndex(enc('r'));
    leader.process();
    leader.node.propose(enc('w'));
    leader.process();
    leader.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 1, index: 2 }));
    leader.process();
    expect(leader.node.status().hardState.commit).toBe(2);
    heartbeatAck(leader, 2n, 'r');
    expect(leader.readStates.map((rs) => [dec(rs.requestCtx), rs.index])).toEqual([['r', 1]]);
  });

  it('a leader deposed before its round completes answers nothing, even when the acknowledgements arrive later', () => {
    const leader = committedLeader();
    leader.node.readIndex(enc('r'));
    leader.process();
    // A newer term shows up: this node is no longer leader.
    leader.node.step(msg({ type: MessageType.AppResp, from: 3n, to: 1n, term: 5 }));
    leader.process();
    expect(leader.state()).toBe(StateType.Follower);
    leader.node.step(msg({ type: MessageType.HeartbeatResp, from: 2n, to: 1n, term: 5, context: enc('r') }));
    leader.process();
    expect(leader.readStates).toEqual([]);
  });
});

describe('Pre-vote (thesis §9.6)', () => {
  it('a pre-vote is not a vote: a voter that voted in its current term still grants a pre-vote for the next one, and keeps its term and vote', () => {
    const tn = makeNode(2n, { voters, term: 2, vote: 1n, preVote: true });
    tn.process();
    tn.node.step(msg({ type: MessageType.PreVote, from: 3n, to: 2n, term: 3 }));
    expect(ofType(tn.process(), MessageType.PreVoteResp)).toMatchObject([{ to: 3n, term: 3, reject: false }]);
    expect(tn.node.status().hardState).toMatchObject({ term: 2, vote: 1n });
    // A real vote for term 2 to anyone else is still refused.
    tn.node.step(msg({ type: MessageType.Vote, from: 3n, to: 2n, term: 2 }));
    expect(ofType(tn.process(), MessageType.VoteResp)).toMatchObject([{ reject: true }]);
  });

  it('a pre-candidate refused by a voter of a higher term adopts that term as a follower instead of campaigning', () => {
    const tn = makeNode(1n, { voters, term: 1, preVote: true });
    tn.process();
    tn.node.campaign();
    tn.process();
    expect(tn.state()).toBe(StateType.PreCandidate);
    tn.node.step(msg({ type: MessageType.PreVoteResp, from: 2n, to: 1n, term: 5, reject: true }));
    tn.process();
    expect(tn.state()).toBe(StateType.Follower);
    expect(tn.node.status().hardState).toMatchObject({ term: 5, vote: NONE });
    // A late grant of the abandoned pre-election does not revive it.
    tn.node.step(msg({ type: MessageType.PreVoteResp, from: 3n, to: 1n, term: 2 }));
    tn.process();
    expect(tn.state()).toBe(StateType.Follower);
  });
});

describe('Check-quorum (thesis §6.2)', () => {
  it('only voters keep a leader up: a leader that hears from learners alone steps down', () => {
    const tn = committedLeader({ voters, learners: [4n, 5n], checkQuorum: true });
    for (let i = 0; i < 20; i++) {
      tn.node.tick();
      tn.process();
      heartbeatAck(tn, 4n);
      heartbeatAck(tn, 5n);
    }
    expect(tn.state()).toBe(StateType.Follower);
  });

  it('each round needs fresh contact: a follower heard from in one election timeout does not keep the leader up in the next', () => {
    const tn = committedLeader({ voters, checkQuorum: true });
    heartbeatAck(tn, 2n);
    for (let i = 0; i < 10; i++) {
      tn.node.tick();
      tn.process();
    }
    expect(tn.state()).toBe(StateType.Leader);
    for (let i = 0; i < 10; i++) {
      tn.node.tick();
      tn.process();
    }
    expect(tn.state()).toBe(StateType.Follower);
  });
});

describe('Leadership transfer (thesis §3.10)', () => {
  it('TimeoutNow goes out only once the transferee holds the whole log, exactly once', () => {
    const leader = committedLeader({ voters, maxSizePerMsg: 0 });
    // Node 3 falls behind by two entries.
    leader.node.propose(enc('x'));
    leader.node.propose(enc('y'));
    leader.process();
    leader.node.transferLeader(3n);
    expect(ofType(leader.process(), MessageType.TimeoutNow)).toEqual([]);
    leader.node.step(msg({ type: MessageType.AppResp, from: 3n, to: 1n, term: 1, index: 2 }));
    expect(ofType(leader.process(), MessageType.TimeoutNow)).toEqual([]);
    leader.node.step(msg({ type: MessageType.AppResp, from: 3n, to: 1n, term: 1, index: 3 }));
    expect(ofType(leader.process(), MessageType.TimeoutNow).map((m) => m.to)).toEqual([3n]);
    leader.node.step(msg({ type: MessageType.AppResp, from: 3n, to: 1n, term: 1, index: 3 }));
    expect(ofType(leader.process(), MessageType.TimeoutNow)).toEqual([]);
  });

  it('the transferee campaigns at once in a real election (no pre-vote), marking its requests as a transfer so voters inside the lease answer', () => {
    const tn = makeNode(3n, { voters, term: 4, preVote: true, checkQuorum: true });
    tn.process();
    tn.node.step(msg({ type: MessageType.Heartbeat, from: 1n, to: 3n, term: 4 }));
    tn.process();
    tn.node.step(msg({ type: MessageType.TimeoutNow, from: 1n, to: 3n, term: 4 }));
    const votes = ofType(tn.process(), MessageType.Vote);
    expect(tn.state()).toBe(StateType.Candidate);
    expect(votes.map((m) => [m.to, m.term, dec(m.context!)])).toEqual([
      [1n, 5, dec(CAMPAIGN_TRANSFER_CONTEXT)],
      [2n, 5, dec(CAMPAIGN_TRANSFER_CONTEXT)],
    ]);
  });

  it('a TimeoutNow of an older term (a transfer from a deposed leader) is ignored', () => {
    const tn = makeNode(3n, { voters, term: 4 });
    tn.process();
    tn.node.step(msg({ type: MessageType.TimeoutNow, from: 1n, to: 3n, term: 3 }));
    expect(tn.process()).toEqual([]);
    expect(tn.state()).toBe(StateType.Follower);
    expect(term(tn)).toBe(4);
  });
});

describe('Membership changes, one server at a time (thesis §4.1)', () => {
  it('a learner promoted while cut off from the leader counts in the quorum once the promotion is applied: three of four must then hold an entry', () => {
    const leader = committedLeader({ voters, learners: [4n] });
    leader.node.applyConfChange({ type: ConfChangeType.AddNode, nodeId: 4n, context: new Uint8Array() });
    leader.process();
    leader.node.propose(enc('after-promotion'));
    leader.process();
    const index = logOf(leader.storage).at(-1)!.index;
    leader.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 1, index }));
    leader.process();
    // Leader and node 2: a majority of the old {1,2,3}, not of {1,2,3,4}.
    expect(leader.node.status().hardState.commit).toBe(index - 1);
    leader.node.step(msg({ type: MessageType.AppResp, from: 3n, to: 1n, term: 1, index }));
    leader.process();
    expect(leader.node.status().hardState.commit).toBe(index);
  });

  it('once a removal is applied the removed server counts for nothing: its acknowledgements neither commit nor keep the leader up', () => {
    const leader = committedLeader({ voters, checkQuorum: true });
    leader.node.applyConfChange({ type: ConfChangeType.RemoveNode, nodeId: 3n, context: new Uint8Array() });
    leader.process();
    leader.node.propose(enc('x'));
    leader.process();
    const index = logOf(leader.storage).at(-1)!.index;
    leader.node.step(msg({ type: MessageType.AppResp, from: 3n, to: 1n, term: 1, index }));
    leader.process();
    expect(leader.node.status().hardState.commit).toBe(index - 1);
    leader.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 1, index }));
    leader.process();
    expect(leader.node.status().hardState.commit).toBe(index);
  });

  it("one change at a time across leaders: a new leader refuses a change while its log may hold its predecessor's unapplied one", () => {
    // Entry 2 is a conf change the previous leader (term 1) appended; nobody knows yet whether it committed.
    const pending = {
      index: 2,
      term: 1,
      type: EntryType.ConfChange,
      data: encodeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 4n, context: new Uint8Array() }),
    };
    const leader = makeNode(1n, { voters, term: 1, commit: 1, entries: [entry(1, 1), pending] });
    leader.process();
    electLeader(leader, voters);
    const change = { type: ConfChangeType.AddNode, nodeId: 5n, context: new Uint8Array() };
    expect(() => leader.node.proposeConfChange(change)).toThrow(RaftError);
    // Once the new leader's no-op (index 3) commits and everything up to it is applied, changes resume.
    leader.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 2, index: 3 }));
    leader.process();
    expect(leader.node.status().applied).toBe(3);
    expect(() => leader.node.proposeConfChange(change)).not.toThrow();
  });

  const snapshot = (index: number, snapTerm: number, members: NodeId[]): Snapshot => ({
    metadata: { index, term: snapTerm, confState: { voters: members, learners: [] } },
    data: enc(`state@${index}`),
  });

  it("a follower that installs a snapshot takes the snapshot's membership: it then campaigns among those voters", () => {
    const tn = makeNode(2n, { voters, term: 3 });
    tn.process();
    tn.node.step(
      msg({
        type: MessageType.Snap,
        from: 1n,
        to: 2n,
        term: 3,
        snapshot: snapshot(7, 3, [1n, 2n, 3n, 4n, 5n]),
      }),
    );
    tn.process();
    tn.node.campaign();
    expect(ofType(tn.process(), MessageType.Vote).map((m) => m.to)).toEqual([1n, 3n, 4n, 5n]);
  });

  it("a snapshot whose last entry the follower holds under another term replaces the follower's divergent suffix instead of committing it", () => {
    // 3..5 of term 2 were appended by a leader that died; the snapshot covers 1..4 as the cluster
    // committed them (4 is of term 3).
    const tn = makeNode(2n, {
      voters,
      term: 3,
      commit: 2,
      entries: [entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2), entry(5, 2)],
    });
    tn.process();
    tn.node.step(
      msg({ type: MessageType.Snap, from: 1n, to: 2n, term: 3, snapshot: snapshot(4, 3, voters) }),
    );
    const out = tn.process();
    expect(ofType(out, MessageType.AppResp)).toMatchObject([{ reject: false, index: 4 }]);
    expect(tn.storage.snapshot().metadata).toMatchObject({ index: 4, term: 3 });
    expect(termsOf(logOf(tn.storage))).toEqual([]);
    expect(tn.node.status().hardState.commit).toBe(4);
    // Nothing of the dead leader's term-2 suffix past the old commit index was applied.
    expect(tn.applied.filter((e) => e.index > 2)).toEqual([]);
  });
});
