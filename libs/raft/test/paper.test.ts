// Unit tests that follow the statements of the Raft paper (Ongaro & Ousterhout, "In Search of an
// Understandable Consensus Algorithm", §5.1-§5.4), one test per statement.
import { describe, expect, it } from 'vitest';
import { MessageType, NONE, StateType, type Entry, type NodeId } from '../src/types';
import {
  electLeader,
  enc,
  entriesWithTerms,
  entry,
  logOf,
  makeNode,
  msg,
  ofType,
  termsOf,
  tickN,
} from './support/harness';
import { Network, type TestNode } from './support/network';

const ET = 10; // electionTick used by the helpers

function status(tn: TestNode) {
  return tn.node.status();
}

/** A leader at term 1 over `voters` with an empty log, every follower caught up (no-op committed). */
function leaderOf(voters: NodeId[]): TestNode {
  const tn = makeNode(1n, { voters });
  ackAll(tn, electLeader(tn, voters));
  tn.process();
  return tn;
}

/** Acks every AppendEntries in `msgs` as if each follower accepted it. */
function ackAll(leader: TestNode, msgs = leader.process()): void {
  for (const m of ofType(msgs, MessageType.App)) {
    leader.node.step(
      msg({
        type: MessageType.AppResp,
        from: m.to,
        to: leader.id,
        term: m.term,
        index: m.index + m.entries.length,
      }),
    );
  }
}

describe('§5.1 Raft basics', () => {
  for (const role of [StateType.Follower, StateType.Candidate, StateType.Leader]) {
    it(`a ${role} that sees a larger term adopts it and reverts to follower`, () => {
      for (const type of [MessageType.App, MessageType.Heartbeat, MessageType.Vote]) {
        const tn = makeNode(1n, { voters: [1n, 2n, 3n], term: 1 });
        if (role === StateType.Candidate) {
          tn.node.campaign();
          tn.process();
        } else if (role === StateType.Leader) {
          electLeader(tn, [1n, 2n, 3n]);
        }
        expect(tn.state()).toBe(role);
        const before = status(tn).hardState.term;
        tn.node.step(msg({ type, from: 2n, to: 1n, term: before + 1, index: 0, logTerm: 0 }));
        tn.process();
        expect(status(tn).hardState.term).toBe(before + 1);
        expect(tn.state()).toBe(StateType.Follower);
        // Only AppendEntries and heartbeats come from a leader.
        expect(tn.node.softState().lead).toBe(type === MessageType.Vote ? NONE : 2n);
      }
    });
  }

  it('a server that receives a request with a stale term ignores it', () => {
    const tn = makeNode(1n, { voters: [1n, 2n, 3n], term: 2 });
    tn.node.step(msg({ type: MessageType.App, from: 2n, to: 1n, term: 1, entries: [entry(1, 1)] }));
    tn.node.step(msg({ type: MessageType.Vote, from: 2n, to: 1n, term: 1, index: 5, logTerm: 1 }));
    const out = tn.process();
    expect(out).toEqual([]);
    expect(logOf(tn.storage)).toEqual([]);
    expect(status(tn).hardState).toEqual({ term: 2, vote: NONE, commit: 0 });
  });

  it('servers start up as followers', () => {
    const tn = makeNode(1n, { voters: [1n, 2n, 3n] });
    expect(tn.state()).toBe(StateType.Follower);
    expect(tn.node.softState().lead).toBe(NONE);
  });

  it('a leader sends periodic heartbeats (AppendEntries with no entries) to all followers', () => {
    const tn = leaderOf([1n, 2n, 3n]);
    const hbs = ofType(tickN(tn, 1), MessageType.Heartbeat);
    expect(hbs.map((m) => m.to)).toEqual([2n, 3n]);
    for (const m of hbs) {
      expect(m).toMatchObject({ from: 1n, term: 1, index: 0, logTerm: 0, entries: [], commit: 1 });
    }
  });
});

describe('§5.2 Leader election', () => {
  it('a follower that hears nothing for an election timeout becomes candidate: term+1, votes for itself, asks every other server in parallel', () => {
    const tn = makeNode(1n, { voters: [1n, 2n, 3n], term: 1, entries: [entry(1, 1)], commit: 1 });
    const out = tickN(tn, 2 * ET);
    expect(tn.state()).toBe(StateType.Candidate);
    expect(status(tn).hardState).toMatchObject({ term: 2, vote: 1n });
    const votes = ofType(out, MessageType.Vote);
    expect(votes.map((m) => m.to)).toEqual([2n, 3n]);
    for (const m of votes) expect(m).toMatchObject({ term: 2, index: 1, logTerm: 1 });
  });

  it('a candidate whose election times out without a winner starts a new election with a new term', () => {
    const tn = makeNode(1n, { voters: [1n, 2n, 3n], term: 1 });
    tn.node.campaign();
    tn.process();
    expect(status(tn).hardState.term).toBe(2);
    const out = tickN(tn, 2 * ET);
    expect(tn.state()).toBe(StateType.Candidate);
    expect(status(tn).hardState).toMatchObject({ term: 3, vote: 1n });
    expect(ofType(out, MessageType.Vote).map((m) => [m.to, m.term])).toEqual([
      [2n, 3],
      [3n, 3],
    ]);
  });

  it('a candidate wins an election if it receives votes from a majority of the full cluster for the same term', () => {
    const cases: { size: number; grants: NodeId[]; rejects: NodeId[]; want: StateType }[] = [
      { size: 1, grants: [], rejects: [], want: StateType.Leader },
      { size: 3, grants: [2n, 3n], rejects: [], want: StateType.Leader },
      { size: 3, grants: [2n], rejects: [], want: StateType.Leader },
      { size: 5, grants: [2n, 3n, 4n, 5n], rejects: [], want: StateType.Leader },
      { size: 5, grants: [2n, 3n, 4n], rejects: [], want: StateType.Leader },
      { size: 5, grants: [2n, 3n], rejects: [], want: StateType.Leader },
      // a majority rejects: back to follower
      { size: 3, grants: [], rejects: [2n, 3n], want: StateType.Follower },
      { size: 5, grants: [], rejects: [2n, 3n, 4n], want: StateType.Follower },
      // no decision yet: stay candidate
      { size: 3, grants: [], rejects: [], want: StateType.Candidate },
      { size: 5, grants: [2n], rejects: [], want: StateType.Candidate },
      { size: 5, grants: [2n], rejects: [3n], want: StateType.Candidate },
    ];
    for (const c of cases) {
      const voters = Array.from({ length: c.size }, (_, i) => BigInt(i + 1));
      const tn = makeNode(1n, { voters });
      tn.node.campaign();
      for (const id of c.grants) tn.node.step(msg({ type: MessageType.VoteResp, from: id, to: 1n, term: 1 }));
      for (const id of c.rejects) {
        tn.node.step(msg({ type: MessageType.VoteResp, from: id, to: 1n, term: 1, reject: true }));
      }
      tn.process();
      expect(
        tn.state(),
        JSON.stringify({ ...c, grants: c.grants.map(String), rejects: c.rejects.map(String) }),
      ).toBe(c.want);
      expect(status(tn).hardState.term).toBe(1);
    }
  });

  it('each server votes for at most one candidate in a given term, first-come-first-served', () => {
    const cases: { vote: NodeId; from: NodeId; reject: boolean }[] = [
      { vote: NONE, from: 1n, reject: false },
      { vote: NONE, from: 2n, reject: false },
      { vote: 1n, from: 1n, reject: false },
      { vote: 2n, from: 2n, reject: false },
      { vote: 1n, from: 2n, reject: true },
      { vote: 2n, from: 1n, reject: true },
    ];
    for (const c of cases) {
      const tn = makeNode(3n, { voters: [1n, 2n, 3n], term: 1, vote: c.vote });
      tn.node.step(msg({ type: MessageType.Vote, from: c.from, to: 3n, term: 1 }));
      const resp = ofType(tn.process(), MessageType.VoteResp);
      expect(resp).toHaveLength(1);
      expect(resp[0]).toMatchObject({ to: c.from, term: 1, reject: c.reject });
      expect(status(tn).hardState.vote).toBe(c.reject ? c.vote : c.from);
    }
  });

  it('a candidate that receives AppendEntries from a leader with a term at least as large returns to follower', () => {
    for (const term of [1, 2]) {
      const tn = makeNode(1n, { voters: [1n, 2n, 3n] });
      tn.node.campaign();
      tn.process();
      expect(tn.state()).toBe(StateType.Candidate);
      tn.node.step(msg({ type: MessageType.App, from: 2n, to: 1n, term }));
      tn.process();
      expect(tn.state()).toBe(StateType.Follower);
      expect(tn.node.softState().lead).toBe(2n);
      expect(status(tn).hardState.term).toBe(term);
    }
  });

  function ticksUntilTermChanges(tn: TestNode): number {
    const term = status(tn).hardState.term;
    for (let t = 1; t <= 4 * ET; t++) {
      tn.node.tick();
      tn.process();
      if (status(tn).hardState.term !== term) return t;
    }
    throw new Error('never timed out');
  }

  it('election timeouts are randomized in [electionTimeout, 2*electionTimeout) for followers', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 300; seed++) {
      const tn = makeNode(1n, { voters: [1n, 2n, 3n], seed });
      seen.add(ticksUntilTermChanges(tn));
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: ET }, (_, i) => ET + i));
  });

  it('election timeouts are randomized in [electionTimeout, 2*electionTimeout) for candidates', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 300; seed++) {
      const tn = makeNode(1n, { voters: [1n, 2n, 3n], seed });
      tn.node.campaign();
      tn.process();
      seen.add(ticksUntilTermChanges(tn));
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: ET }, (_, i) => ET + i));
  });

  for (const role of [StateType.Follower, StateType.Candidate]) {
    it(`in most cases only a single ${role} times out (randomized timeouts make split votes rare)`, () => {
      const rounds = 400;
      let conflicts = 0;
      for (let round = 0; round < rounds; round++) {
        const nodes = [1n, 2n, 3n, 4n, 5n].map((id) =>
          makeNode(id, { voters: [1n, 2n, 3n, 4n, 5n], seed: round * 10 + Number(id) }),
        );
        if (role === StateType.Candidate) {
          for (const n of nodes) {
            n.node.campaign();
            n.process();
          }
        }
        const start = nodes.map((n) => status(n).hardState.term);
        for (let t = 0; t < 2 * ET; t++) {
          for (const n of nodes) {
            n.node.tick();
            n.process();
          }
          const timedOut = nodes.filter((n, i) => status(n).hardState.term !== start[i]).length;
          if (timedOut > 0) {
            if (timedOut > 1) conflicts++;
            break;
          }
        }
      }
      expect(conflicts / rounds).toBeLessThanOrEqual(0.3);
    });
  }

  it('election safety: at most one leader can be elected in a given term', () => {
    // Five nodes, all timing out together: whatever the split, no term ever has two leaders.
    for (let seed = 1; seed <= 20; seed++) {
      const net = Network.bootstrap([1n, 2n, 3n, 4n, 5n], { seed });
      const leaderOfTerm = new Map<number, NodeId>();
      for (let t = 0; t < 60; t++) {
        net.tickAll(1);
        for (const n of net.nodes.values()) {
          if (n.state() !== StateType.Leader) continue;
          const term = status(n).hardState.term;
          expect(leaderOfTerm.get(term) ?? n.id).toBe(n.id);
          leaderOfTerm.set(term, n.id);
        }
      }
      expect(leaderOfTerm.size).toBeGreaterThan(0);
    }
  });
});

describe('§5.3 Log replication', () => {
  /** A 3-node network with node 1 leading and everyone caught up. */
  function cluster(): Network {
    const net = Network.bootstrap([1n, 2n, 3n]);
    net.campaign(1n);
    return net;
  }

  it('the leader appends the command to its log, then sends AppendEntries in parallel with the index and term of the preceding entry', () => {
    const net = cluster();
    const leader = net.get(1n);
    const li = status(leader).hardState.commit;
    leader.node.propose(enc('some data'));
    const out = leader.process();
    const last = logOf(leader.storage).at(-1)!;
    expect(last).toMatchObject({ index: li + 1, term: 2 });
    const apps = ofType(out, MessageType.App);
    expect(apps.map((m) => m.to)).toEqual([2n, 3n]);
    for (const m of apps) {
      expect(m).toMatchObject({ index: li, logTerm: 2, commit: li });
      expect(m.entries.map((e) => [e.index, e.term])).toEqual([[li + 1, 2]]);
    }
  });

  it('once an entry is replicated on a majority the leader commits and applies it, and includes the commit index in later AppendEntries', () => {
    const net = cluster();
    const leader = net.get(1n);
    const li = status(leader).hardState.commit;
    net.propose(1n, 'some data');
    expect(status(leader).hardState.commit).toBe(li + 1);
    expect(leader.appliedData()).toEqual(['some data']);
    leader.node.propose(enc('more'));
    for (const m of ofType(leader.process(), MessageType.App)) expect(m.commit).toBe(li + 1);
  });

  it('a log entry is committed once the leader that created it has replicated it on a majority of servers', () => {
    const cases: { size: number; acceptors: NodeId[]; committed: boolean }[] = [
      { size: 1, acceptors: [], committed: true },
      { size: 3, acceptors: [], committed: false },
      { size: 3, acceptors: [2n], committed: true },
      { size: 3, acceptors: [2n, 3n], committed: true },
      { size: 5, acceptors: [], committed: false },
      { size: 5, acceptors: [2n], committed: false },
      { size: 5, acceptors: [2n, 3n], committed: true },
      { size: 5, acceptors: [2n, 3n, 4n], committed: true },
      { size: 5, acceptors: [2n, 3n, 4n, 5n], committed: true },
    ];
    for (const c of cases) {
      const voters = Array.from({ length: c.size }, (_, i) => BigInt(i + 1));
      const leader = leaderOf(voters);
      const before = status(leader).hardState.commit;
      leader.node.propose(enc('x'));
      const apps = ofType(leader.process(), MessageType.App);
      for (const m of apps.filter((a) => c.acceptors.includes(a.to))) {
        leader.node.step(msg({ type: MessageType.AppResp, from: m.to, to: 1n, term: 1, index: m.index + 1 }));
      }
      leader.process();
      expect(status(leader).hardState.commit, `size ${c.size} acceptors ${c.acceptors}`).toBe(
        c.committed ? before + 1 : before,
      );
    }
  });

  it('when the leader commits an entry it also commits all preceding entries, including those of previous leaders', () => {
    const previous = entriesWithTerms([1, 2]); // uncommitted entries from terms 1 and 2
    const leader = makeNode(1n, { voters: [1n, 2n, 3n], entries: previous, term: 2 });
    const probes = electLeader(leader, [1n, 2n, 3n]);
    // Follower 2 has the leader's whole log: it accepts the probe carrying the no-op (index 3)...
    for (const m of ofType(probes, MessageType.App).filter((m) => m.to === 2n)) {
      leader.node.step(
        msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 3, index: m.index + m.entries.length }),
      );
    }
    leader.node.propose(enc('some data'));
    // ... and then the new entry (index 4).
    for (const m of ofType(leader.process(), MessageType.App).filter((m) => m.to === 2n)) {
      leader.node.step(
        msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 3, index: m.index + m.entries.length }),
      );
    }
    leader.process();
    expect(status(leader).hardState.commit).toBe(4);
    expect(leader.applied.map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 3],
    ]);
  });

  it('once a follower learns an entry is committed it applies it, in log order', () => {
    const ents = [entry(1, 1, 'a'), entry(2, 1, 'b'), entry(3, 1, 'c')];
    for (const commit of [1, 2, 3]) {
      const tn = makeNode(2n, { voters: [1n, 2n, 3n], term: 1 });
      tn.node.step(
        msg({
          type: MessageType.App,
          from: 1n,
          to: 2n,
          term: 1,
          index: 0,
          logTerm: 0,
          entries: ents,
          commit,
        }),
      );
      tn.process();
      expect(status(tn).hardState.commit).toBe(commit);
      expect(tn.appliedData()).toEqual(['a', 'b', 'c'].slice(0, commit));
    }
  });

  it('a follower refuses new entries when it has no entry with the index and term that precede them', () => {
    const ents = entriesWithTerms([1, 2]);
    const cases = [
      // match with committed entries
      { term: 0, index: 0, reject: false, respIndex: 1 },
      { term: 1, index: 1, reject: false, respIndex: 1 },
      // match with an uncommitted entry
      { term: 2, index: 2, reject: false, respIndex: 2 },
      // unmatch with an existing entry / a missing one
      { term: 1, index: 2, reject: true, respIndex: 2 },
      { term: 3, index: 3, reject: true, respIndex: 3 },
    ];
    for (const c of cases) {
      const tn = makeNode(2n, { voters: [1n, 2n, 3n], entries: ents, term: 2, commit: 1 });
      tn.node.step(
        msg({ type: MessageType.App, from: 1n, to: 2n, term: 2, logTerm: c.term, index: c.index, commit: 1 }),
      );
      const resp = ofType(tn.process(), MessageType.AppResp);
      expect(resp).toHaveLength(1);
      expect(resp[0], JSON.stringify(c)).toMatchObject({
        to: 1n,
        term: 2,
        reject: c.reject,
        index: c.respIndex,
      });
    }
  });

  it('an existing entry that conflicts with a new one is deleted with all that follow it; new entries are appended', () => {
    const cases: { index: number; term: number; ents: Entry[]; want: number[] }[] = [
      { index: 2, term: 2, ents: [entry(3, 3)], want: [1, 2, 3] },
      { index: 1, term: 1, ents: [entry(2, 3), entry(3, 4)], want: [1, 3, 4] },
      { index: 0, term: 0, ents: [entry(1, 1)], want: [1, 2] },
      { index: 0, term: 0, ents: [entry(1, 3)], want: [3] },
    ];
    for (const c of cases) {
      const tn = makeNode(2n, { voters: [1n, 2n, 3n], entries: entriesWithTerms([1, 2]), term: 2 });
      tn.node.step(
        msg({
          type: MessageType.App,
          from: 1n,
          to: 2n,
          term: 2,
          logTerm: c.term,
          index: c.index,
          entries: c.ents,
        }),
      );
      tn.process();
      expect(termsOf(logOf(tn.storage))).toEqual(c.want);
    }
  });

  it("the leader forces followers' logs to duplicate its own (Figure 7)", () => {
    const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followerLogs: Record<string, number[]> = {
      a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      b: [1, 1, 1, 4],
      c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      e: [1, 1, 1, 4, 4, 4, 4],
      f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    };
    for (const [name, log] of Object.entries(followerLogs)) {
      const voters = [1n, 2n, 3n];
      const net = new Network();
      net.add(makeNode(1n, { voters, entries: entriesWithTerms(leaderLog), term: 7, commit: 3 }));
      net.add(makeNode(2n, { voters, entries: entriesWithTerms(log), term: 7, commit: 3 }));
      // A third server with the leader's log gives it a majority even when 2 refuses its vote.
      net.add(makeNode(3n, { voters, entries: entriesWithTerms(leaderLog), term: 7, commit: 3 }));
      net.campaign(1n);
      expect(net.get(1n).state(), name).toBe(StateType.Leader);
      const want = [...leaderLog, 8];
      expect(termsOf(logOf(net.get(2n).storage)), `follower (${name})`).toEqual(want);
      expect(termsOf(logOf(net.get(1n).storage))).toEqual(want);
    }
  });

  it('log matching: if two logs contain an entry with the same index and term, the logs are identical up to it', () => {
    // Drive a 3-node cluster through several leaders with messages to one follower dropped at times.
    for (let seed = 1; seed <= 5; seed++) {
      const net = Network.bootstrap([1n, 2n, 3n], { seed });
      for (let round = 0; round < 6; round++) {
        const target = BigInt((round % 3) + 1);
        net.campaign(target);
        const leader = net.leaders()[0];
        net.cutLink(leader, BigInt(((round + 1) % 3) + 1));
        net.propose(leader, `r${round}a`);
        net.heal();
        net.propose(leader, `r${round}b`);
      }
      const logs = [...net.nodes.values()].map((n) => logOf(n.storage));
      for (const a of logs) {
        for (const b of logs) {
          for (let i = 0; i < Math.min(a.length, b.length); i++) {
            if (a[i].term === b[i].term) {
              expect(termsOf(a.slice(0, i + 1))).toEqual(termsOf(b.slice(0, i + 1)));
            }
          }
        }
      }
    }
  });

  it('leader append-only: a leader never overwrites or deletes entries in its own log', () => {
    const leader = makeNode(1n, { voters: [1n, 2n, 3n], entries: entriesWithTerms([1, 1, 2]), term: 2 });
    electLeader(leader, [1n, 2n, 3n]);
    const before = termsOf(logOf(leader.storage));
    // Messages that would make a follower truncate: a stale AppendEntries, a conflicting snapshot-less
    // append at a lower term, rejections.
    leader.node.step(
      msg({ type: MessageType.App, from: 2n, to: 1n, term: 2, index: 1, logTerm: 1, entries: [entry(2, 2)] }),
    );
    leader.node.step(
      msg({
        type: MessageType.AppResp,
        from: 2n,
        to: 1n,
        term: 3,
        index: 3,
        reject: true,
        rejectHint: 1,
        logTerm: 1,
      }),
    );
    leader.node.propose(enc('x'));
    leader.process();
    const after = termsOf(logOf(leader.storage));
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after).toEqual([1, 1, 2, 3, 3]);
  });
});

describe('§5.4 Safety', () => {
  it('a RequestVote includes the index and term of the last entry of the candidate log', () => {
    const cases = [
      { ents: [entry(1, 1)], term: 2 },
      { ents: [entry(1, 1), entry(2, 2)], term: 3 },
    ];
    for (const c of cases) {
      const tn = makeNode(1n, { voters: [1n, 2n, 3n], entries: c.ents, term: c.term - 1 });
      const votes = ofType(tickN(tn, 2 * ET), MessageType.Vote);
      const last = c.ents.at(-1)!;
      expect(votes.map((m) => m.to)).toEqual([2n, 3n]);
      for (const m of votes) expect(m).toMatchObject({ term: c.term, index: last.index, logTerm: last.term });
    }
  });

  it('a voter denies its vote if its own log is more up-to-date than the candidate log', () => {
    const cases = [
      // same last term: longer log wins
      { ents: entriesWithTerms([1]), logTerm: 1, index: 1, reject: false },
      { ents: entriesWithTerms([1]), logTerm: 1, index: 2, reject: false },
      { ents: entriesWithTerms([1, 1]), logTerm: 1, index: 1, reject: true },
      // candidate's last term is higher
      { ents: entriesWithTerms([1]), logTerm: 2, index: 1, reject: false },
      { ents: entriesWithTerms([1]), logTerm: 2, index: 2, reject: false },
      { ents: entriesWithTerms([1, 1]), logTerm: 2, index: 1, reject: false },
      // voter's last term is higher
      { ents: entriesWithTerms([2]), logTerm: 1, index: 1, reject: true },
      { ents: entriesWithTerms([2]), logTerm: 1, index: 2, reject: true },
      { ents: entriesWithTerms([2, 1]), logTerm: 1, index: 1, reject: true },
    ];
    for (const c of cases) {
      const tn = makeNode(1n, { voters: [1n, 2n], entries: c.ents, term: 2 });
      tn.node.step(
        msg({ type: MessageType.Vote, from: 2n, to: 1n, term: 3, logTerm: c.logTerm, index: c.index }),
      );
      const resp = ofType(tn.process(), MessageType.VoteResp);
      expect(resp).toHaveLength(1);
      expect(resp[0].reject, JSON.stringify({ ...c, ents: termsOf(c.ents) })).toBe(c.reject);
    }
  });

  it('only entries from the leader current term are committed by counting replicas', () => {
    const cases = [
      { ackIndex: 1, commit: 0 }, // term-1 entry: not committed by counting
      { ackIndex: 2, commit: 0 }, // term-2 entry: not committed by counting
      { ackIndex: 3, commit: 3 }, // the leader's own no-op at term 3: commits everything before it
    ];
    for (const c of cases) {
      const leader = makeNode(1n, { voters: [1n, 2n, 3n], entries: entriesWithTerms([1, 2]), term: 2 });
      electLeader(leader, [1n, 2n, 3n]);
      expect(status(leader).hardState.term).toBe(3);
      leader.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 3, index: c.ackIndex }));
      leader.process();
      expect(status(leader).hardState.commit, `ack ${c.ackIndex}`).toBe(c.commit);
    }
  });

  it('leader completeness: a committed entry is present in the logs of all leaders of later terms', () => {
    const net = Network.bootstrap([1n, 2n, 3n]);
    net.campaign(1n);
    net.isolate(3n);
    net.propose(1n, 'committed');
    expect(status(net.get(1n)).hardState.commit).toBe(5);
    net.heal();
    // Node 3 lacks the committed entry: its log is less up-to-date, so a majority refuses it.
    net.isolate(1n);
    net.campaign(3n);
    expect(net.get(3n).state()).not.toBe(StateType.Leader);
    // Node 2 has it and can win; the entry is in its log.
    net.campaign(2n);
    expect(net.get(2n).state()).toBe(StateType.Leader);
    expect(logOf(net.get(2n).storage).some((e) => new TextDecoder().decode(e.data) === 'committed')).toBe(
      true,
    );
  });

  it('state machine safety: no two servers apply a different entry at the same index', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const net = Network.bootstrap([1n, 2n, 3n, 4n, 5n], { seed });
      for (let round = 0; round < 8; round++) {
        const candidate = BigInt((round % 5) + 1);
        net.isolate(BigInt(((round + 2) % 5) + 1));
        net.campaign(candidate);
        const leaders = net.leaders();
        for (const l of leaders) {
          try {
            net.propose(l, `r${round}`);
          } catch {
            // a deposed leader without quorum may still think it leads; its proposals simply never commit
          }
        }
        net.heal();
        net.tickAll(3);
      }
      const applied = [...net.nodes.values()].map((n) => n.applied.map((e) => `${e.index}/${e.term}`));
      for (const a of applied) {
        for (const b of applied) {
          const n = Math.min(a.length, b.length);
          expect(a.slice(0, n)).toEqual(b.slice(0, n));
        }
      }
    }
  });
});
