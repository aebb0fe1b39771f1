// Figure 2 of the Raft paper ("In Search of an Understandable Consensus Algorithm"), rule by rule. Each
// test is named after the rule it proves and drives the adversarial case the rule exists for: the log
// shapes, stale and duplicated messages and term changes under which a slightly wrong reading of the rule
// loses or invents committed entries. `paper.test.ts` follows the prose of §5.1-§5.4; this file follows
// the figure. The two rules that live in the driver (apply once committed, persist before sending) are
// tested beside libs/server's raft-loop.ts; here only the Raft side of them is (what a Ready hands over).
import { describe, expect, it } from 'vitest';
import { MessageType, NONE, StateType, type Entry, type Message, type NodeId } from '../src/types';
import { dec, electLeader, enc, entry, logOf, makeNode, msg, ofType, termsOf } from './support/harness';
import { TestNode } from './support/network';

const voters: NodeId[] = [1n, 2n, 3n];

/** Entries 1..n with the given terms; each carries `<prefix><index>` so applied data names its origin. */
function logWith(terms: number[], prefix = 'e'): Entry[] {
  return terms.map((t, i) => entry(i + 1, t, `${prefix}${i + 1}`));
}

/** Follower 2 of {1,2,3} with `entries` persisted, at `term`, with `commit` (already applied). */
function follower(entries: Entry[], term: number, commit: number, extra: Record<string, unknown> = {}) {
  const tn = makeNode(2n, { voters, entries, term, commit, ...extra });
  tn.process();
  return tn;
}

/** Steps an AppendEntries from leader 1 into `tn` and returns what it answers. */
function appendEntries(
  tn: TestNode,
  fields: { term: number; index: number; logTerm: number; entries?: Entry[]; commit: number },
): Message[] {
  tn.node.step(msg({ type: MessageType.App, from: 1n, to: tn.id, entries: [], ...fields }));
  return tn.process();
}

function hardState(tn: TestNode) {
  return tn.node.status().hardState;
}

/** "index/term data" of every applied entry, to compare with what the leader committed. */
function appliedLabels(tn: TestNode): string[] {
  return tn.applied.map((e) => `${e.index}/t${e.term} ${dec(e.data)}`);
}

function persistedLabels(tn: TestNode): string[] {
  return logOf(tn.storage).map((e) => `${e.index}/t${e.term} ${dec(e.data)}`);
}

describe('Figure 2, RequestVote RPC, receiver implementation', () => {
  it('rule 1 (reply false if term < currentTerm): a candidate of an older term is refused, however long and new its log', () => {
    const tn = follower(logWith([1, 1]), 3, 0);
    tn.node.step(msg({ type: MessageType.Vote, from: 3n, to: 2n, term: 2, index: 50, logTerm: 2 }));
    const out = tn.process();
    expect(ofType(out, MessageType.VoteResp).filter((m) => !m.reject)).toEqual([]);
    expect(hardState(tn)).toEqual({ term: 3, vote: NONE, commit: 0 });
    // The voter is still free to vote in its own term.
    tn.node.step(msg({ type: MessageType.Vote, from: 1n, to: 2n, term: 3, index: 2, logTerm: 1 }));
    expect(ofType(tn.process(), MessageType.VoteResp)).toMatchObject([{ to: 1n, term: 3, reject: false }]);
    expect(hardState(tn).vote).toBe(1n);
  });

  it('rule 2 (votedFor is null or candidateId): a second candidate of the same term is refused even with a more up-to-date log, the first is granted again', () => {
    const tn = follower(logWith([1]), 2, 0);
    tn.node.step(msg({ type: MessageType.Vote, from: 1n, to: 2n, term: 2, index: 1, logTerm: 1 }));
    expect(ofType(tn.process(), MessageType.VoteResp)).toMatchObject([{ to: 1n, reject: false }]);
    tn.node.step(msg({ type: MessageType.Vote, from: 3n, to: 2n, term: 2, index: 9, logTerm: 2 }));
    expect(ofType(tn.process(), MessageType.VoteResp)).toMatchObject([{ to: 3n, reject: true }]);
    // Candidate 1 lost our answer and asks again: the same vote is granted again.
    tn.node.step(msg({ type: MessageType.Vote, from: 1n, to: 2n, term: 2, index: 1, logTerm: 1 }));
    expect(ofType(tn.process(), MessageType.VoteResp)).toMatchObject([{ to: 1n, reject: false }]);
    expect(hardState(tn)).toMatchObject({ term: 2, vote: 1n });
  });

  it('rule 2 (candidate log at least as up-to-date): last terms are compared first, lengths only when they are equal', () => {
    // Voter log: 1 1 3 (last term 3, length 3).
    const cases: { index: number; logTerm: number; grant: boolean; why: string }[] = [
      { index: 9, logTerm: 2, grant: false, why: 'longer, but its last term is older' },
      { index: 1, logTerm: 4, grant: true, why: 'shorter, but its last term is newer' },
      { index: 2, logTerm: 3, grant: false, why: 'same last term, shorter' },
      { index: 3, logTerm: 3, grant: true, why: 'same last term, same length' },
      { index: 4, logTerm: 3, grant: true, why: 'same last term, longer' },
    ];
    for (const c of cases) {
      const tn = follower(logWith([1, 1, 3]), 3, 0);
      tn.node.step(
        msg({ type: MessageType.Vote, from: 3n, to: 2n, term: 4, index: c.index, logTerm: c.logTerm }),
      );
      const resp = ofType(tn.process(), MessageType.VoteResp);
      expect(
        resp.map((m) => !m.reject),
        c.why,
      ).toEqual([c.grant]);
      expect(hardState(tn).vote, c.why).toBe(c.grant ? 3n : NONE);
    }
  });

  it('rule 2 (a granted vote is stable storage): it is in the Ready that carries the grant, and a restarted voter still refuses a rival', () => {
    const tn = follower([], 1, 0);
    tn.node.step(msg({ type: MessageType.Vote, from: 1n, to: 2n, term: 2 }));
    const rd = tn.node.ready();
    expect(rd.hardState).toMatchObject({ term: 2, vote: 1n });
    expect(rd.mustSync).toBe(true);
    expect(ofType(rd.messages, MessageType.VoteResp)).toMatchObject([{ to: 1n, reject: false }]);
    tn.storage.setHardState(rd.hardState!);
    tn.node.advance();
    const restarted = new TestNode(2n, tn.storage, {}, 7);
    restarted.process();
    restarted.node.step(msg({ type: MessageType.Vote, from: 3n, to: 2n, term: 2 }));
    expect(ofType(restarted.process(), MessageType.VoteResp)).toMatchObject([{ to: 3n, reject: true }]);
  });
});

describe('Figure 2, AppendEntries RPC, receiver implementation', () => {
  it("rule 1 (reply false if term < currentTerm): a deposed leader's append changes neither log nor commit, and tells it the newer term", () => {
    for (const checkQuorum of [false, true]) {
      const tn = follower(logWith([1, 1, 3]), 3, 1, { checkQuorum });
      const out = appendEntries(tn, {
        term: 2,
        index: 1,
        logTerm: 1,
        entries: [entry(2, 2, 'stale'), entry(3, 2, 'stale')],
        commit: 3,
      });
      expect(termsOf(logOf(tn.storage))).toEqual([1, 1, 3]);
      expect(hardState(tn)).toEqual({ term: 3, vote: NONE, commit: 1 });
      expect(tn.node.softState().lead).toBe(NONE);
      const answers = ofType(out, MessageType.AppResp);
      // Without check-quorum or pre-vote the deposed leader learns the term from the next election;
      // with them nobody would ever raise its term, so it is told at once.
      expect(answers.map((m) => m.term)).toEqual(checkQuorum ? [3] : []);
    }
  });

  it('rule 2 (reply false if the log has no entry at prevLogIndex with prevLogTerm): missing, mismatched and matching previous entries', () => {
    const cases = [
      { index: 5, logTerm: 2, reject: true, why: 'prevLogIndex beyond the log' },
      { index: 3, logTerm: 2, reject: true, why: 'an entry at prevLogIndex, of another term' },
      { index: 3, logTerm: 3, reject: false, why: 'a matching entry' },
    ];
    for (const c of cases) {
      const tn = follower(logWith([1, 1, 3]), 3, 1);
      const out = appendEntries(tn, {
        term: 3,
        index: c.index,
        logTerm: c.logTerm,
        entries: [entry(c.index + 1, 3, 'new')],
        commit: c.index + 1,
      });
      const [resp] = ofType(out, MessageType.AppResp);
      expect(resp.reject, c.why).toBe(c.reject);
      if (c.reject) {
        // A refusal appends nothing and, above all, commits nothing: the leader's commit index says
        // nothing about entries this follower may hold at those indexes.
        expect(termsOf(logOf(tn.storage)), c.why).toEqual([1, 1, 3]);
        expect(hardState(tn).commit, c.why).toBe(1);
        expect(resp.rejectHint, c.why).toBeLessThanOrEqual(3);
      } else {
        expect(hardState(tn).commit, c.why).toBe(c.index + 1);
      }
    }
  });

  it('rule 3 (an existing entry that conflicts with a new one is deleted with all that follow it): a conflict in the middle of the batch also removes the follower entries beyond the batch', () => {
    // Entries 3..6 of term 2 came from a leader that died before replicating them.
    const tn = follower(logWith([1, 1, 2, 2, 2, 2], 'old'), 3, 2);
    appendEntries(tn, {
      term: 3,
      index: 2,
      logTerm: 1,
      // 3/t2 matches, 4/t3 conflicts with 4/t2: 4, 5 and 6 must all go.
      entries: [entry(3, 2, 'old3'), entry(4, 3, 'new4')],
      commit: 2,
    });
    expect(persistedLabels(tn)).toEqual(['1/t1 old1', '2/t1 old2', '3/t2 old3', '4/t3 new4']);
  });

  it('rule 4 (append any new entries not already in the log): a delayed duplicate of an earlier append does not cut off what came after it', () => {
    const tn = follower(logWith([1, 1]), 2, 2);
    appendEntries(tn, {
      term: 2,
      index: 2,
      logTerm: 1,
      entries: [entry(3, 2, 'a'), entry(4, 2, 'b'), entry(5, 2, 'c')],
      commit: 2,
    });
    // The first, shorter append of the same entries arrives late (reordered by the network).
    const out = appendEntries(tn, { term: 2, index: 2, logTerm: 1, entries: [entry(3, 2, 'a')], commit: 2 });
    expect(termsOf(logOf(tn.storage))).toEqual([1, 1, 2, 2, 2]);
    expect(persistedLabels(tn).slice(2)).toEqual(['3/t2 a', '4/t2 b', '5/t2 c']);
    // It acknowledges what that message covered, no more and no less.
    expect(ofType(out, MessageType.AppResp)).toMatchObject([{ reject: false, index: 3 }]);
  });

  it('rule 5 (commitIndex = min(leaderCommit, index of last new entry)): an append covering part of a longer divergent follower log, with the leader commit beyond it, commits only what it covered', () => {
    // Follower: 1 1 2 2 2 2. Entries 4..6 (term 2) were appended by a leader of term 2 that died before
    // replicating them. The leader of term 3 holds 1 1 2 3 3 and has committed 5.
    const tn = follower(logWith([1, 1, 2, 2, 2, 2], 'old'), 3, 2);
    // One entry per message (a small maxSizePerMsg): the append covers index 3 only.
    let out = appendEntries(tn, { term: 3, index: 2, logTerm: 1, entries: [entry(3, 2, 'old3')], commit: 5 });
    expect(ofType(out, MessageType.AppResp)).toMatchObject([{ reject: false, index: 3 }]);
    // 4/t2 and 5/t2 are in the log and below the leader's commit index, but they are not the leader's
    // entries 4 and 5: committing them would apply entries that the cluster never committed.
    expect(hardState(tn).commit).toBe(3);
    expect(appliedLabels(tn)).toEqual(['1/t1 old1', '2/t1 old2', '3/t2 old3']);
    expect(termsOf(logOf(tn.storage))).toEqual([1, 1, 2, 2, 2, 2]);

    // An empty append (a probe at 3) commits no further than its prevLogIndex either.
    out = appendEntries(tn, { term: 3, index: 3, logTerm: 2, commit: 5 });
    expect(ofType(out, MessageType.AppResp)).toMatchObject([{ reject: false, index: 3 }]);
    expect(hardState(tn).commit).toBe(3);

    // The next append replaces the divergent suffix and carries the commit over the leader's entries.
    out = appendEntries(tn, {
      term: 3,
      index: 3,
      logTerm: 2,
      entries: [entry(4, 3, 'new4'), entry(5, 3, 'new5')],
      commit: 5,
    });
    expect(ofType(out, MessageType.AppResp)).toMatchObject([{ reject: false, index: 5 }]);
    expect(persistedLabels(tn).slice(3)).toEqual(['4/t3 new4', '5/t3 new5']);
    expect(hardState(tn).commit).toBe(5);
    expect(appliedLabels(tn)).toEqual(['1/t1 old1', '2/t1 old2', '3/t2 old3', '4/t3 new4', '5/t3 new5']);
  });

  it('rule 5 (commitIndex = min(leaderCommit, index of last new entry)): a batch that conflicts part-way commits up to its own last entry, never the old entries past it', () => {
    const tn = follower(logWith([1, 1, 2, 2, 2, 2], 'old'), 3, 2);
    appendEntries(tn, {
      term: 3,
      index: 2,
      logTerm: 1,
      entries: [entry(3, 2, 'old3'), entry(4, 3, 'new4')],
      commit: 6,
    });
    expect(hardState(tn).commit).toBe(4);
    expect(termsOf(logOf(tn.storage))).toEqual([1, 1, 2, 3]);
    expect(appliedLabels(tn).at(-1)).toBe('4/t3 new4');
  });

  it('rule 5 (only if leaderCommit > commitIndex): a late append carrying an older leader commit never moves the commit index back', () => {
    const tn = follower(logWith([1, 1, 3, 3, 3]), 3, 4);
    // Sent when the leader had committed 2; delivered after the follower learned of 4.
    let out = appendEntries(tn, { term: 3, index: 4, logTerm: 3, entries: [entry(5, 3, 'e5')], commit: 2 });
    expect(ofType(out, MessageType.AppResp)).toMatchObject([{ reject: false, index: 5 }]);
    expect(hardState(tn).commit).toBe(4);
    // One whose previous entry is already committed is answered with the commit index, untouched.
    out = appendEntries(tn, { term: 3, index: 2, logTerm: 1, entries: [entry(3, 3, 'e3')], commit: 2 });
    expect(ofType(out, MessageType.AppResp)).toMatchObject([{ reject: false, index: 4 }]);
    expect(hardState(tn).commit).toBe(4);
    expect(termsOf(logOf(tn.storage))).toEqual([1, 1, 3, 3, 3]);
    expect(tn.applied.map((e) => e.index)).toEqual([1, 2, 3, 4]);
  });
});

describe('Figure 2, Rules for Servers, all servers', () => {
  it('if commitIndex > lastApplied, apply log[lastApplied+1..commitIndex] in order: each Ready hands over exactly the newly committed entries, once', () => {
    const tn = follower(logWith([1, 1]), 1, 0);
    const handed: number[][] = [];
    const drain = () => {
      while (tn.node.hasReady()) {
        const rd = tn.node.ready();
        tn.storage.append(rd.entries);
        if (rd.hardState) tn.storage.setHardState(rd.hardState);
        if (rd.committedEntries.length > 0) handed.push(rd.committedEntries.map((e) => e.index));
        tn.node.advance();
      }
    };
    const ents = [entry(3, 1), entry(4, 1), entry(5, 1)];
    tn.node.step(
      msg({
        type: MessageType.App,
        from: 1n,
        to: 2n,
        term: 1,
        index: 2,
        logTerm: 1,
        entries: ents,
        commit: 2,
      }),
    );
    drain();
    tn.node.step(msg({ type: MessageType.Heartbeat, from: 1n, to: 2n, term: 1, commit: 4 }));
    drain();
    tn.node.step(msg({ type: MessageType.Heartbeat, from: 1n, to: 2n, term: 1, commit: 4 }));
    drain();
    tn.node.step(msg({ type: MessageType.Heartbeat, from: 1n, to: 2n, term: 1, commit: 5 }));
    drain();
    expect(handed).toEqual([[1, 2], [3, 4], [5]]);
    expect(tn.node.status().applied).toBe(5);
  });

  it('if a request or response carries term T > currentTerm, set currentTerm = T and convert to follower: responses count too, and the vote of the old term is forgotten', () => {
    const responses: { type: MessageType; role: 'candidate' | 'leader' }[] = [
      { type: MessageType.VoteResp, role: 'candidate' },
      { type: MessageType.AppResp, role: 'leader' },
      { type: MessageType.HeartbeatResp, role: 'leader' },
    ];
    for (const r of responses) {
      const tn = follower([], 1, 0);
      if (r.role === 'candidate') {
        tn.node.campaign();
        tn.process();
      } else {
        electLeader(tn, voters);
      }
      expect(hardState(tn).vote).toBe(2n);
      tn.node.step(msg({ type: r.type, from: 3n, to: 2n, term: 7, reject: true }));
      tn.process();
      expect(tn.state(), MessageType[r.type]).toBe(StateType.Follower);
      expect(hardState(tn), MessageType[r.type]).toMatchObject({ term: 7, vote: NONE });
      expect(tn.storage.getHardState()).toMatchObject({ term: 7, vote: NONE });
      // Free to vote in term 7.
      tn.node.step(msg({ type: MessageType.Vote, from: 1n, to: 2n, term: 7, index: 9, logTerm: 6 }));
      expect(ofType(tn.process(), MessageType.VoteResp), MessageType[r.type]).toMatchObject([
        { reject: false },
      ]);
    }
  });
});

/** Ticks until `tn` starts an election; returns the number of ticks it took. */
function ticksToCampaign(tn: TestNode, limit = 100): number {
  const term = hardState(tn).term;
  for (let t = 1; t <= limit; t++) {
    tn.node.tick();
    tn.process();
    if (hardState(tn).term !== term) return t;
  }
  return Number.POSITIVE_INFINITY;
}

describe('Figure 2, Rules for Servers, followers', () => {
  it('respond to RPCs from candidates and leaders: every vote request and append of the current term gets an answer', () => {
    const tn = follower(logWith([1]), 1, 1);
    tn.node.step(msg({ type: MessageType.Vote, from: 3n, to: 2n, term: 1, index: 0, logTerm: 0 }));
    tn.node.step(msg({ type: MessageType.App, from: 1n, to: 2n, term: 1, index: 1, logTerm: 1, commit: 1 }));
    tn.node.step(msg({ type: MessageType.App, from: 1n, to: 2n, term: 1, index: 7, logTerm: 1, commit: 1 }));
    tn.node.step(msg({ type: MessageType.Heartbeat, from: 1n, to: 2n, term: 1, commit: 1 }));
    const out = tn.process();
    expect(out.map((m) => [MessageType[m.type], m.to, m.reject])).toEqual([
      ['VoteResp', 3n, true],
      ['AppResp', 1n, false],
      ['AppResp', 1n, true],
      ['HeartbeatResp', 1n, false],
    ]);
  });

  it('if the election timeout elapses without AppendEntries from the current leader or granting a vote, become candidate: a grant restarts the timeout, a refusal or a stale leader does not', () => {
    // The same seed gives the same randomized timeout: measure it on a twin. Term 2, no leader known,
    // no vote cast yet.
    const timeout = ticksToCampaign(follower([], 2, 0, { seed: 42 }));
    expect(timeout).toBeGreaterThanOrEqual(10);

    const granting = follower([], 2, 0, { seed: 42 });
    for (let i = 0; i < timeout - 1; i++) granting.node.tick();
    granting.node.step(msg({ type: MessageType.Vote, from: 3n, to: 2n, term: 2 }));
    expect(ofType(granting.process(), MessageType.VoteResp)).toMatchObject([{ reject: false }]);
    // A whole timeout again before it may campaign: it just promised candidate 3 not to compete.
    expect(ticksToCampaign(granting)).toBe(timeout);

    const refusing = follower(logWith([1, 1]), 2, 0, { seed: 42 });
    for (let i = 0; i < timeout - 1; i++) refusing.node.tick();
    // A candidate with a stale log is refused; a deposed leader of term 1 is ignored.
    refusing.node.step(msg({ type: MessageType.Vote, from: 3n, to: 2n, term: 2, index: 0, logTerm: 0 }));
    refusing.node.step(msg({ type: MessageType.App, from: 1n, to: 2n, term: 1, index: 0, logTerm: 0 }));
    expect(ofType(refusing.process(), MessageType.VoteResp)).toMatchObject([{ reject: true }]);
    expect(ticksToCampaign(refusing)).toBe(1);
  });
});

describe('Figure 2, Rules for Servers, candidates', () => {
  it('on conversion to candidate: increment currentTerm, vote for self, reset the election timer, send RequestVote to all other servers (not learners), with the vote in the same Ready', () => {
    const tn = makeNode(1n, { voters, learners: [4n], term: 4, entries: logWith([1, 4]) });
    tn.process();
    tn.node.campaign();
    const rd = tn.node.ready();
    expect(rd.hardState).toMatchObject({ term: 5, vote: 1n });
    expect(rd.mustSync).toBe(true);
    expect(ofType(rd.messages, MessageType.Vote).map((m) => [m.to, m.term, m.index, m.logTerm])).toEqual([
      [2n, 5, 2, 4],
      [3n, 5, 2, 4],
    ]);
    tn.storage.setHardState(rd.hardState!);
    tn.node.advance();
    expect(tn.state()).toBe(StateType.Candidate);
    // The timer restarted: no new election before a full timeout.
    for (let i = 0; i < 9; i++) tn.node.tick();
    tn.process();
    expect(hardState(tn).term).toBe(5);
  });

  it('if votes are received from a majority of servers, become leader: only voters of the current term count, each once', () => {
    const tn = makeNode(1n, { voters: [1n, 2n, 3n, 4n, 5n], learners: [6n] });
    tn.process();
    tn.node.campaign();
    tn.process();
    const term = hardState(tn).term;
    const grant = (from: NodeId, t = term) =>
      tn.node.step(msg({ type: MessageType.VoteResp, from, to: 1n, term: t }));
    grant(2n);
    grant(2n); // a duplicated grant
    grant(6n); // a learner
    grant(9n); // not a member
    tn.process();
    expect(tn.state()).toBe(StateType.Candidate);
    grant(3n);
    tn.process();
    expect(tn.state()).toBe(StateType.Leader);
  });

  it('if AppendEntries is received from the new leader, convert to follower: also at the candidate own term, and from a pre-candidate', () => {
    for (const preVote of [false, true]) {
      for (const type of [MessageType.App, MessageType.Heartbeat]) {
        const tn = makeNode(1n, { voters, term: 2, preVote });
        tn.process();
        tn.node.campaign();
        tn.process();
        expect(tn.state()).toBe(preVote ? StateType.PreCandidate : StateType.Candidate);
        const term = hardState(tn).term;
        tn.node.step(msg({ type, from: 3n, to: 1n, term, index: 0, logTerm: 0 }));
        tn.process();
        expect(tn.state(), `${MessageType[type]} preVote=${preVote}`).toBe(StateType.Follower);
        expect(tn.node.softState().lead).toBe(3n);
        expect(hardState(tn).term).toBe(term);
      }
    }
  });

  it('if the election timeout elapses, start a new election: a split vote ends in a higher term with fresh votes', () => {
    const tn = makeNode(1n, { voters });
    tn.process();
    tn.node.campaign();
    tn.process();
    tn.node.step(msg({ type: MessageType.VoteResp, from: 2n, to: 1n, term: 1, reject: true }));
    tn.process();
    expect(tn.state()).toBe(StateType.Candidate);
    expect(ticksToCampaign(tn)).toBeGreaterThanOrEqual(10);
    expect(hardState(tn)).toMatchObject({ term: 2, vote: 1n });
    // The rejection of term 1 does not count against it in term 2.
    tn.node.step(msg({ type: MessageType.VoteResp, from: 3n, to: 1n, term: 2 }));
    tn.process();
    expect(tn.state()).toBe(StateType.Leader);
  });
});

describe('Figure 2, Rules for Servers, leaders', () => {
  it('upon election, send an AppendEntries to each server (learners too), and heartbeats during idle periods so nobody times out', () => {
    const tn = makeNode(1n, { voters, learners: [4n], heartbeatTick: 2 });
    tn.process();
    const first = ofType(electLeader(tn, voters), MessageType.App);
    expect(first.map((m) => m.to)).toEqual([2n, 3n, 4n]);
    for (const m of first) expect(m.entries.map((e) => [e.index, e.term])).toEqual([[1, 1]]);
    const beats: NodeId[][] = [];
    for (let i = 0; i < 6; i++) {
      tn.node.tick();
      beats.push(ofType(tn.process(), MessageType.Heartbeat).map((m) => m.to));
    }
    expect(beats).toEqual([[], [2n, 3n, 4n], [], [2n, 3n, 4n], [], [2n, 3n, 4n]]);
  });

  it('if a command is received from a client, append it to the local log and respond once it is applied', () => {
    const tn = makeNode(1n, { voters });
    tn.process();
    electLeader(tn, voters);
    tn.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 1, index: 1 }));
    tn.process();
    tn.node.propose(enc('cmd'));
    const out = tn.process();
    expect(logOf(tn.storage).at(-1)).toMatchObject({ index: 2, term: 1 });
    expect(
      ofType(out, MessageType.App)
        .filter((m) => m.to === 2n)
        .flatMap((m) => m.entries.map((e) => dec(e.data))),
    ).toEqual(['cmd']);
    expect(tn.appliedData()).toEqual([]);
    tn.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 1, index: 2 }));
    tn.process();
    expect(tn.appliedData()).toEqual(['cmd']);
  });

  it('if last log index >= nextIndex, send entries from nextIndex; on success update nextIndex and matchIndex (never backwards); on an inconsistency, decrement nextIndex and retry', () => {
    const tn = makeNode(1n, { voters, term: 2, entries: logWith([1, 1, 2, 2]), maxSizePerMsg: 0 });
    tn.process();
    const probes = ofType(electLeader(tn, voters), MessageType.App).filter((m) => m.to === 2n);
    expect(probes).toMatchObject([{ index: 4, logTerm: 2 }]);
    // Follower 2 has only 1 1: it refuses, hinting index 2.
    tn.node.step(
      msg({
        type: MessageType.AppResp,
        from: 2n,
        to: 1n,
        term: 3,
        index: 4,
        reject: true,
        rejectHint: 2,
        logTerm: 1,
      }),
    );
    const retry = ofType(tn.process(), MessageType.App).filter((m) => m.to === 2n);
    expect(retry.map((m) => [m.index, m.logTerm, m.entries.map((e) => e.index)])).toEqual([[2, 1, [3]]]);
    // The same refusal delivered twice (duplicated by the network) does not back off again.
    tn.node.step(
      msg({
        type: MessageType.AppResp,
        from: 2n,
        to: 1n,
        term: 3,
        index: 4,
        reject: true,
        rejectHint: 2,
        logTerm: 1,
      }),
    );
    expect(ofType(tn.process(), MessageType.App)).toEqual([]);
    tn.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 3, index: 3 }));
    tn.process();
    expect(tn.node.status().progress?.get(2n)).toMatchObject({ match: 3 });
    tn.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 3, index: 5 }));
    tn.process();
    // A late acknowledgement of the earlier append does not move matchIndex back.
    tn.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 3, index: 3 }));
    tn.process();
    expect(tn.node.status().progress?.get(2n)).toMatchObject({ match: 5, next: 6 });
    expect(hardState(tn).commit).toBe(5);
  });

  it('if there is an N > commitIndex with matchIndex >= N on a majority and log[N].term == currentTerm, set commitIndex = N: the quorum is a majority of voters, and older-term entries wait', () => {
    // Leader of term 3 over five voters, log 1 1 2 2 then its no-op 5/t3.
    const tn = makeNode(1n, { voters: [1n, 2n, 3n, 4n, 5n], term: 2, entries: logWith([1, 1, 2, 2]) });
    tn.process();
    electLeader(tn, [1n, 2n, 3n, 4n, 5n]);
    const ack = (from: NodeId, index: number) => {
      tn.node.step(msg({ type: MessageType.AppResp, from, to: 1n, term: 3, index }));
      tn.process();
    };
    // 4/t2 is on three of five (a majority) but is of an older term: nothing commits (Figure 8).
    ack(2n, 4);
    ack(3n, 4);
    expect(hardState(tn).commit).toBe(0);
    // 5/t3 on the leader and one follower: two of five is no majority.
    ack(2n, 5);
    expect(hardState(tn).commit).toBe(0);
    // A third copy of 5/t3 commits it, and with it everything before it.
    ack(4n, 5);
    expect(hardState(tn).commit).toBe(5);

    // With an even number of voters, half is not a majority.
    const even = makeNode(1n, { voters: [1n, 2n, 3n, 4n] });
    even.process();
    electLeader(even, [1n, 2n, 3n, 4n]);
    even.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 1, index: 1 }));
    even.process();
    expect(hardState(even).commit).toBe(0);
    even.node.step(msg({ type: MessageType.AppResp, from: 3n, to: 1n, term: 1, index: 1 }));
    even.process();
    expect(hardState(even).commit).toBe(1);
  });
});
