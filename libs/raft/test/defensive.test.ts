// The core's defensive checks and the rarely taken branches of its helpers, one behaviour per test: a
// contract violation by a driver or storage fails loudly with a message that names it, instead of
// corrupting the log; the odd-but-legal inputs (an empty batch, a message without a context, a snapshot
// message without a snapshot) are handled. Branches that no input can reach are listed in README.md.
import { describe, expect, it } from 'vitest';
import type { Storage } from '../src/contracts';
import { describeMessage, limitSize } from '../src/describe';
import { RaftError, RaftErrorCode } from '../src/errors';
import { UnstableLog } from '../src/log-unstable';
import { MemoryStorage } from '../src/memory-storage';
import { makeMessage, voteResponseType } from '../src/message';
import { RaftLog } from '../src/raft-log';
import { RaftNode } from '../src/raft-node';
import { ReadOnly } from '../src/read-only';
import { ProgressTracker } from '../src/tracker';
import { MessageType, NONE, StateType, type Snapshot } from '../src/types';
import { dec, electLeader, enc, entriesWithTerms, entry, makeNode, msg, ofType } from './support/harness';
import { TestNode } from './support/network';

const voters = [1n, 2n, 3n];

/** A RaftLog over storage holding entries 1..n with `terms`, committed up to `commit`. */
function logOver(terms: number[], commit = 0, storage = new MemoryStorage()): RaftLog {
  storage.append(entriesWithTerms(terms));
  const log = new RaftLog(storage, Number.POSITIVE_INFINITY);
  log.committed = commit;
  return log;
}

/** A storage whose reads of `badIndex` fail with an error that is not a RaftError (a broken disk). */
function brokenAt(badIndex: number, terms: number[]): Storage {
  const inner = new MemoryStorage();
  inner.append(entriesWithTerms(terms));
  return {
    initialState: () => inner.initialState(),
    entries: (lo, hi, maxSize) => {
      if (lo <= badIndex && badIndex < hi) throw new Error('disk on fire');
      return inner.entries(lo, hi, maxSize);
    },
    term: (index) => {
      if (index === badIndex) throw new Error('disk on fire');
      return inner.term(index);
    },
    lastIndex: () => inner.lastIndex(),
    firstIndex: () => inner.firstIndex(),
    snapshot: () => inner.snapshot(),
  };
}

describe('RaftLog refuses what would corrupt it', () => {
  it('commitTo beyond the last index throws; below the commit index it is a no-op', () => {
    const log = logOver([1, 1, 1], 2);
    expect(() => log.commitTo(4)).toThrow('commit 4 is out of range [last index 3]');
    log.commitTo(1);
    expect(log.committed).toBe(2);
  });

  it('appliedTo outside [applied, committed] throws; appliedTo(0) is a no-op', () => {
    const log = logOver([1, 1, 1], 2);
    log.appliedTo(0);
    log.appliedTo(2);
    expect(() => log.appliedTo(3)).toThrow('applied 3 is out of range [prev applied 2, committed 2]');
    expect(() => log.appliedTo(1)).toThrow('applied 1 is out of range');
  });

  it('appending nothing changes nothing; appending over committed entries throws', () => {
    const log = logOver([1, 1, 1], 2);
    expect(log.append([])).toBe(3);
    expect(() => log.append([entry(2, 2)])).toThrow('appending after 1 is out of range: committed 2');
    // A leader's append that conflicts with a committed entry means two leaders committed different
    // entries: the follower stops rather than overwrite it.
    expect(() => log.maybeAppend(1, 1, 3, [entry(2, 2)])).toThrow('entry 2 conflicts with committed entry');
  });

  it('slices: an empty range is empty, an inverted or out-of-bounds one throws', () => {
    const log = logOver([1, 1, 1]);
    expect(log.slice(2, 2, Number.POSITIVE_INFINITY)).toEqual([]);
    expect(() => log.slice(3, 2, Number.POSITIVE_INFINITY)).toThrow('invalid slice 3 > 2');
    expect(() => log.slice(1, 5, Number.POSITIVE_INFINITY)).toThrow('slice[1,5) out of bound [1,3]');
  });

  it('a compacted index reads as term 0 in the back-off search, and storage failures that are not RaftErrors propagate', () => {
    const storage = new MemoryStorage();
    storage.append(entriesWithTerms([1, 1, 2, 2]));
    storage.compact(2);
    const log = new RaftLog(storage, Number.POSITIVE_INFINITY);
    expect(log.findConflictByTerm(1, 1)).toEqual({ index: 1, term: 0 });

    const broken = new RaftLog(brokenAt(2, [1, 1, 1]), Number.POSITIVE_INFINITY);
    expect(() => broken.findConflictByTerm(2, 1)).toThrow('disk on fire');
    expect(() => broken.matchTerm(2, 1)).toThrow('disk on fire');
    expect(() => broken.termOrZero(2)).toThrow('disk on fire');
    expect(() => broken.slice(1, 3, Number.POSITIVE_INFINITY)).toThrow('disk on fire');
  });

  it('entries the storage says are unavailable inside its own bounds are a storage bug, reported with the range', () => {
    const inner = new MemoryStorage();
    inner.append(entriesWithTerms([1, 1, 1]));
    const lying: Storage = {
      initialState: () => inner.initialState(),
      entries: () => {
        throw new RaftError(RaftErrorCode.Unavailable);
      },
      term: (i) => inner.term(i),
      lastIndex: () => inner.lastIndex(),
      firstIndex: () => inner.firstIndex(),
      snapshot: () => inner.snapshot(),
    };
    expect(() => new RaftLog(lying, Number.POSITIVE_INFINITY).slice(1, 3, 100)).toThrow(
      'entries[1:3) is unavailable from storage',
    );
  });
});

describe('UnstableLog edges', () => {
  const snap = (index: number, term: number): Snapshot => ({
    metadata: { index, term, confState: { voters, learners: [] } },
    data: new Uint8Array(),
  });

  it('answers the term of its snapshot index, nothing below it or beyond its entries', () => {
    const u = new UnstableLog(1);
    u.restore(snap(5, 3));
    expect(u.maybeTerm(5)).toBe(3);
    expect(u.maybeTerm(4)).toBeUndefined();
    expect(u.maybeTerm(6)).toBeUndefined();
    u.truncateAndAppend([entry(6, 3), entry(7, 3)]);
    expect(u.maybeTerm(8)).toBeUndefined();
  });

  it('stableTo an index it does not know, or stableSnapTo another snapshot, keeps everything', () => {
    const u = new UnstableLog(6);
    u.restore(snap(5, 3));
    u.truncateAndAppend([entry(6, 3)]);
    u.stableTo(9, 3);
    u.stableSnapTo(4);
    expect(u.entries).toHaveLength(1);
    expect(u.snapshot?.metadata.index).toBe(5);
  });

  it('slicing outside its entries throws', () => {
    const u = new UnstableLog(3);
    u.truncateAndAppend([entry(3, 1)]);
    expect(() => u.slice(2, 4)).toThrow('unstable.slice[2,4) out of bound [3,4]');
  });
});

describe('MemoryStorage edges', () => {
  it('an empty log has no entries to read, and entries that are all compacted away are skipped', () => {
    const s = new MemoryStorage();
    expect(() => s.entries(1, 1, 10)).toThrow(RaftError);
    s.append(entriesWithTerms([1, 1, 1, 1]));
    s.compact(3);
    s.append([entry(2, 1)]);
    expect(s.lastIndex()).toBe(4);
  });
});

describe('helpers', () => {
  it('ReadOnly: an unknown context confirms nothing; a read without a context is keyed as empty', () => {
    const ro = new ReadOnly();
    expect(ro.advance(enc('nope'))).toEqual([]);
    ro.addRequest(4, makeMessage({ type: MessageType.ReadIndex, from: 1n }));
    expect(ro.lastPendingRequestCtx()).toEqual(new Uint8Array(0));
    expect(ro.recvAck(2n, undefined)?.has(2n)).toBe(true);
    expect(ro.advance(undefined).map((rs) => rs.index)).toEqual([4]);
  });

  it('ProgressTracker: members are visited in ascending ID order whatever the order given; no voters commit nothing', () => {
    const t = new ProgressTracker(4);
    t.setConfig([30n, 1n, 20n, 20n], [5n], 1);
    const seen: bigint[] = [];
    t.visit((id) => seen.push(id));
    expect(seen).toEqual([1n, 5n, 20n, 30n]);
    expect(new ProgressTracker(4).committed()).toBe(0);
  });

  it('describe: empty batches, unknown message types, snapshots and snapshot reports', () => {
    expect(limitSize([], 0)).toEqual([]);
    expect(describeMessage(makeMessage({ type: 99 as MessageType, from: 1n, to: 2n }))).toContain('type99');
    const snapshot: Snapshot = {
      metadata: { index: 7, term: 2, confState: { voters, learners: [] } },
      data: enc(''),
    };
    expect(
      describeMessage(makeMessage({ type: MessageType.Snap, from: 1n, to: 2n, term: 2, snapshot })),
    ).toContain('snap 7/t2');
    expect(describeMessage(makeMessage({ type: MessageType.SnapStatus, from: 2n, to: 1n }))).toContain(
      'finish',
    );
    expect(
      describeMessage(makeMessage({ type: MessageType.SnapStatus, from: 2n, to: 1n, reject: true })),
    ).toContain('failure');
    expect(describeMessage(makeMessage({ type: MessageType.ReadIndexResp, from: 1n, to: 2n }))).toContain(
      'ctx=',
    );
    expect(() => voteResponseType(MessageType.App)).toThrow('not a vote message: App');
  });
});

describe('RaftNode and Raft edges', () => {
  it('bootstrap refuses the NONE id; an empty proposeBatch does nothing', () => {
    expect(() => RaftNode.bootstrap(new MemoryStorage(), [{ id: NONE }])).toThrow('peer id must not be none');
    const tn = makeNode(1n, { voters: [1n] });
    tn.process();
    tn.node.campaign();
    tn.process();
    tn.node.proposeBatch([]);
    expect(tn.node.hasReady()).toBe(false);
  });

  it('a hard state whose commit index is beyond the log is refused at start', () => {
    const storage = new MemoryStorage();
    storage.setConfState({ voters, learners: [] });
    storage.append(entriesWithTerms([1]));
    storage.setHardState({ term: 1, vote: NONE, commit: 5 });
    expect(() => new TestNode(1n, storage, {}, 1)).toThrow('hard state commit 5 is out of range [0, 1]');
  });

  it('a single voter with pre-vote wins its pre-election and its election at once', () => {
    const tn = makeNode(1n, { voters: [1n], preVote: true });
    tn.process();
    tn.node.campaign();
    tn.process();
    expect(tn.state()).toBe(StateType.Leader);
    // Campaigning again as leader is ignored.
    tn.node.campaign();
    expect(tn.process()).toEqual([]);
    expect(tn.node.status().hardState.term).toBe(1);
  });

  it('a vote request whose context only looks like a transfer (same length, other bytes) is not forced through the lease', () => {
    const tn = makeNode(2n, { voters, term: 1, checkQuorum: true });
    tn.process();
    tn.node.step(msg({ type: MessageType.Heartbeat, from: 1n, to: 2n, term: 1 }));
    tn.process();
    tn.node.step(
      msg({ type: MessageType.Vote, from: 3n, to: 2n, term: 2, context: enc('CampaignXransfer') }),
    );
    expect(ofType(tn.process(), MessageType.VoteResp)).toEqual([]);
  });

  it('a leader whose storage was compacted with no snapshot to send cannot catch a follower up, and says so', () => {
    const storage = new MemoryStorage();
    storage.setConfState({ voters, learners: [] });
    storage.append(entriesWithTerms([1, 1, 1, 1]));
    storage.setHardState({ term: 1, vote: NONE, commit: 4 });
    storage.compact(3); // a driver bug: compacted past its latest snapshot (there is none)
    const leader = new TestNode(1n, storage, {}, 1);
    leader.process();
    electLeader(leader, voters);
    expect(() =>
      leader.node.step(
        msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 2, index: 4, reject: true, rejectHint: 0 }),
      ),
    ).toThrow('need a non-empty snapshot to catch up a follower');
  });

  it('a storage whose snapshot() fails with anything but SnapshotTemporarilyUnavailable fails the leader loudly', () => {
    class BrokenSnapshots extends MemoryStorage {
      override snapshot(): Snapshot {
        throw new Error('snapshot file unreadable');
      }
    }
    const storage = new BrokenSnapshots();
    storage.setConfState({ voters, learners: [] });
    storage.append(entriesWithTerms([1, 1, 1, 1]));
    storage.setHardState({ term: 1, vote: NONE, commit: 4 });
    storage.compact(3);
    const leader = new TestNode(1n, storage, {}, 1);
    leader.process();
    electLeader(leader, voters);
    expect(() =>
      leader.node.step(
        msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 2, index: 4, reject: true, rejectHint: 0 }),
      ),
    ).toThrow('snapshot file unreadable');
  });

  it('a candidate ignores TimeoutNow and refuses a local read; a follower without a leader drops forwarded reads and transfer requests', () => {
    const candidate = makeNode(1n, { voters });
    candidate.process();
    candidate.node.campaign();
    candidate.process();
    candidate.node.step(msg({ type: MessageType.TimeoutNow, from: 2n, to: 1n, term: 1 }));
    expect(candidate.state()).toBe(StateType.Candidate);
    expect(() => candidate.node.readIndex(enc('r'))).toThrow(RaftError);
    candidate.node.step(msg({ type: MessageType.ReadIndex, from: 2n, to: 1n, context: enc('r') }));
    expect(ofType(candidate.process(), MessageType.ReadIndexResp)).toEqual([]);

    const follower = makeNode(2n, { voters });
    follower.process();
    follower.node.step(msg({ type: MessageType.ReadIndex, from: 3n, to: 2n, context: enc('r') }));
    follower.node.step(msg({ type: MessageType.TransferLeader, from: 3n, to: 2n }));
    expect(follower.process()).toEqual([]);
  });

  it('reads without a context are answered with an empty context, on the leader and on the follower', () => {
    const leader = makeNode(1n, { voters: [1n] });
    leader.process();
    leader.node.campaign();
    leader.process();
    leader.node.step(msg({ type: MessageType.ReadIndex, from: 2n, to: 1n }));
    expect(ofType(leader.process(), MessageType.ReadIndexResp).map((m) => dec(m.context!))).toEqual(['']);

    // A leader of three confirms it with a heartbeat round keyed by the empty context.
    const three = makeNode(1n, { voters });
    three.process();
    for (const m of ofType(electLeader(three, voters), MessageType.App)) {
      three.node.step(msg({ type: MessageType.AppResp, from: m.to, to: 1n, term: 1, index: m.index + 1 }));
    }
    three.process();
    three.node.step(msg({ type: MessageType.ReadIndex, from: 2n, to: 1n }));
    expect(ofType(three.process(), MessageType.Heartbeat).map((m) => m.context?.byteLength)).toEqual([0, 0]);
    three.node.step(
      msg({ type: MessageType.HeartbeatResp, from: 3n, to: 1n, term: 1, context: new Uint8Array() }),
    );
    expect(ofType(three.process(), MessageType.ReadIndexResp).map((m) => [m.to, m.index])).toEqual([[2n, 1]]);

    const follower = makeNode(2n, { voters, term: 1 });
    follower.process();
    follower.node.step(msg({ type: MessageType.ReadIndexResp, from: 1n, to: 2n, term: 1, index: 3 }));
    follower.process();
    expect(follower.readStates.map((rs) => [rs.index, rs.requestCtx.byteLength])).toEqual([[3, 0]]);
  });

  it('a snapshot message without a snapshot is ignored', () => {
    const tn = makeNode(2n, { voters, term: 1 });
    tn.process();
    tn.node.step(msg({ type: MessageType.Snap, from: 1n, to: 2n, term: 1 }));
    expect(tn.process()).toEqual([]);
    expect(tn.node.softState().lead).toBe(1n);
  });
});
