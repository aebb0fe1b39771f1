import { describe, expect, it } from 'vitest';
import type { RaftLogger } from '../src/contracts';
import { RaftErrorCode } from '../src/errors';
import { MemoryStorage } from '../src/memory-storage';
import { seededRandom } from '../src/random';
import { RaftNode } from '../src/raft-node';
import { EntryType, MessageType, NONE, StateType } from '../src/types';
import { electLeader, enc, entriesWithTerms, entry, makeNode, msg, storageFor } from './support/harness';
import { TestNode } from './support/network';

const voters = [1n, 2n, 3n];
const code = (c: RaftErrorCode) => expect.objectContaining({ code: c }) as Error;

describe('RaftNode construction and restart', () => {
  it('restores term, vote, commit and membership from storage, and hands back only entries above `applied`', () => {
    const storage = storageFor({
      voters,
      entries: entriesWithTerms([1, 1, 2, 2]),
      term: 2,
      vote: 3n,
      commit: 3,
    });
    const node = new RaftNode({
      id: 1n,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      random: seededRandom(1),
      applied: 1,
    });
    const st = node.status();
    expect(st.hardState).toEqual({ term: 2, vote: 3n, commit: 3 });
    expect(st.applied).toBe(1);
    expect(node.softState()).toEqual({ lead: NONE, raftState: StateType.Follower });
    const rd = node.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([2, 3]);
    expect(rd.entries).toEqual([]);
    expect(rd.hardState).toBeUndefined(); // unchanged since start
    expect(rd.mustSync).toBe(false);
    node.advance();
    expect(node.status().applied).toBe(3);
  });

  it('validates its configuration', () => {
    const storage = new MemoryStorage();
    const base = { id: 1n, electionTick: 10, heartbeatTick: 1, storage, random: seededRandom(1) };
    expect(() => new RaftNode({ ...base, id: NONE })).toThrow(code(RaftErrorCode.InvalidConfig));
    expect(() => new RaftNode({ ...base, heartbeatTick: 10 })).toThrow(code(RaftErrorCode.InvalidConfig));
    expect(() => new RaftNode({ ...base, heartbeatTick: 0 })).toThrow(code(RaftErrorCode.InvalidConfig));
    expect(() => new RaftNode({ ...base, maxInflightMsgs: 0 })).toThrow(code(RaftErrorCode.InvalidConfig));
    expect(() => new RaftNode({ ...base, applied: 5 })).toThrow(code(RaftErrorCode.InvalidConfig));
    const snapshotted = storageFor({ voters, entries: entriesWithTerms([1, 1, 1, 1]), term: 1, commit: 4 });
    snapshotted.createSnapshot(3, { voters, learners: [] }, enc(''));
    snapshotted.compact(3);
    expect(() => new RaftNode({ ...base, storage: snapshotted, applied: 2 })).toThrow(
      /below the snapshot index 3/,
    );
    expect(new RaftNode({ ...base, storage: snapshotted, applied: 0 }).status().applied).toBe(3);
  });

  it('bootstrap writes AddNode entries 1..n at term 1, committed, that the first Ready hands back', () => {
    const storage = new MemoryStorage();
    RaftNode.bootstrap(storage, [{ id: 1n, context: enc('n1') }, { id: 2n }, { id: 3n }]);
    expect(storage.getHardState()).toEqual({ term: 1, vote: NONE, commit: 3 });
    expect(storage.getConfState()).toEqual({ voters, learners: [] });
    const tn = new TestNode(1n, storage, {}, 1);
    expect(tn.applied.map((e) => [e.index, e.term, e.type])).toEqual([]);
    tn.process();
    expect(tn.applied.map((e) => [e.index, e.term, e.type])).toEqual([
      [1, 1, EntryType.ConfChange],
      [2, 1, EntryType.ConfChange],
      [3, 1, EntryType.ConfChange],
    ]);
    expect(tn.confState).toEqual({ voters, learners: [] });
    expect(() => RaftNode.bootstrap(storage, [{ id: 1n }])).toThrow(code(RaftErrorCode.InvalidConfig));
    expect(() => RaftNode.bootstrap(new MemoryStorage(), [])).toThrow(code(RaftErrorCode.InvalidConfig));
    expect(() => RaftNode.bootstrap(new MemoryStorage(), [{ id: 1n }, { id: 1n }])).toThrow(
      code(RaftErrorCode.InvalidConfig),
    );
  });
});

describe('Ready / advance', () => {
  it('softState and hardState appear only when they changed', () => {
    const tn = makeNode(1n, { voters, term: 1 });
    expect(tn.node.hasReady()).toBe(false);
    tn.node.campaign();
    const rd = tn.node.ready();
    expect(rd.softState).toEqual({ lead: NONE, raftState: StateType.Candidate });
    expect(rd.hardState).toEqual({ term: 2, vote: 1n, commit: 0 });
    expect(rd.mustSync).toBe(true);
    tn.node.advance();
    // A vote rejection changes nothing: no soft or hard state in the next Ready.
    tn.node.step(msg({ type: MessageType.VoteResp, from: 2n, to: 1n, term: 2, reject: true }));
    expect(tn.node.hasReady()).toBe(false);
  });

  it('mustSync is set for new entries or a term/vote change, not for a commit-only change', () => {
    const tn = makeNode(2n, { voters, term: 1 });
    tn.node.step(
      msg({ type: MessageType.App, from: 1n, to: 2n, term: 1, entries: [entry(1, 1), entry(2, 1)] }),
    );
    let rd = tn.node.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([1, 2]);
    expect(rd.mustSync).toBe(true);
    tn.storage.append(rd.entries);
    tn.node.advance();
    tn.node.step(msg({ type: MessageType.Heartbeat, from: 1n, to: 2n, term: 1, commit: 2 }));
    rd = tn.node.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: NONE, commit: 2 });
    expect(rd.entries).toEqual([]);
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1, 2]);
    expect(rd.mustSync).toBe(false);
    tn.node.advance();
  });

  it('committed entries per Ready are bounded by maxCommittedSizePerReady (at least one)', () => {
    const entries = Array.from({ length: 5 }, (_, i) => entry(i + 1, 1, 'x'.repeat(84))); // 100 bytes each
    const tn = makeNode(1n, { voters, entries, term: 1, commit: 5, maxCommittedSizePerReady: 250 });
    const batches: number[][] = [];
    while (tn.node.hasReady()) {
      const rd = tn.node.ready();
      batches.push(rd.committedEntries.map((e) => e.index));
      tn.node.advance();
    }
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('hasReady is false while a Ready is outstanding; ready() twice or advance() alone throws', () => {
    const tn = makeNode(1n, { voters });
    expect(() => tn.node.advance()).toThrow(/without an outstanding Ready/);
    tn.node.campaign();
    tn.node.ready();
    expect(tn.node.hasReady()).toBe(false);
    expect(() => tn.node.ready()).toThrow(/before advance/);
    tn.node.advance();
    expect(tn.node.hasReady()).toBe(false);
  });

  it('input stepped between ready() and advance() is kept for the next Ready, even entries that replace those being persisted', () => {
    const tn = makeNode(2n, { voters, term: 1 });
    tn.node.step(
      msg({ type: MessageType.App, from: 1n, to: 2n, term: 1, entries: [entry(1, 1), entry(2, 1)] }),
    );
    const first = tn.node.ready();
    // While the driver persists entries 1..2 (term 1), a new leader overwrites index 2.
    tn.node.step(
      msg({ type: MessageType.App, from: 3n, to: 2n, term: 2, index: 1, logTerm: 1, entries: [entry(2, 2)] }),
    );
    tn.storage.append(first.entries);
    tn.node.advance();
    const second = tn.node.ready();
    // (Entry 1 may be handed out again: it was persisted with the batch that was partly replaced.)
    expect(second.entries.map((e) => [e.index, e.term]).at(-1)).toEqual([2, 2]);
    expect(second.hardState?.term).toBe(2);
    expect(second.messages.map((m) => [m.type, m.to, m.index])).toEqual([[MessageType.AppResp, 3n, 2]]);
    tn.storage.append(second.entries);
    tn.node.advance();
    expect(tn.storage.term(2)).toBe(2);
  });

  it('status reports progress only on the leader', () => {
    const tn = makeNode(1n, { voters });
    expect(tn.node.status().progress).toBeUndefined();
    electLeader(tn, voters);
    const progress = tn.node.status().progress!;
    expect([...progress.keys()]).toEqual(voters);
    expect(progress.get(1n)!.match).toBe(1);
  });
});

describe('stepping and proposing', () => {
  it('local message types cannot be stepped from the network', () => {
    const tn = makeNode(1n, { voters });
    for (const type of [
      MessageType.Hup,
      MessageType.Beat,
      MessageType.Unreachable,
      MessageType.SnapStatus,
      MessageType.CheckQuorum,
    ]) {
      expect(() => tn.node.step(msg({ type, from: 2n, to: 1n }))).toThrow(code(RaftErrorCode.StepLocalMsg));
    }
  });

  it('proposals without a leader are dropped; a follower forwards to its leader unless forwarding is disabled', () => {
    const tn = makeNode(2n, { voters, term: 1 });
    expect(() => tn.node.propose(enc('x'))).toThrow(code(RaftErrorCode.ProposalDropped));
    tn.node.step(msg({ type: MessageType.Heartbeat, from: 1n, to: 2n, term: 1 }));
    tn.process();
    tn.node.propose(enc('x'));
    const fwd = tn.process().filter((m) => m.type === MessageType.Prop);
    expect(fwd.map((m) => [m.to, m.from, m.term])).toEqual([[1n, 2n, 0]]);

    const noFwd = makeNode(2n, { voters, term: 1, disableProposalForwarding: true });
    noFwd.node.step(msg({ type: MessageType.Heartbeat, from: 1n, to: 2n, term: 1 }));
    expect(() => noFwd.node.propose(enc('x'))).toThrow(code(RaftErrorCode.ProposalDropped));
  });

  it('proposeBatch appends all entries together and replicates them in one message per follower', () => {
    const tn = makeNode(1n, { voters: [1n, 2n] });
    const probe = electLeader(tn, [1n, 2n]).find((m) => m.type === MessageType.App)!;
    tn.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 1, index: probe.index + 1 }));
    tn.process();
    tn.node.proposeBatch([enc('a'), enc('b'), enc('c')]);
    const apps = tn.process().filter((m) => m.type === MessageType.App);
    expect(apps.map((m) => m.entries.map((e) => [e.index, e.term]))).toEqual([
      [
        [2, 1],
        [3, 1],
        [4, 1],
      ],
    ]);
    const follower = makeNode(2n, { voters: [1n, 2n], term: 1 });
    expect(() => follower.node.proposeBatch([enc('a')])).toThrow(code(RaftErrorCode.ProposalDropped));
  });

  it('a candidate drops proposals', () => {
    const tn = makeNode(1n, { voters });
    tn.node.campaign();
    expect(() => tn.node.propose(enc('x'))).toThrow(code(RaftErrorCode.ProposalDropped));
  });

  it('a forwarded proposal reaching a node with no leader is dropped without an error', () => {
    const tn = makeNode(2n, { voters, term: 1 });
    expect(() =>
      tn.node.step(msg({ type: MessageType.Prop, from: 3n, to: 2n, entries: [entry(0, 0, 'x')] })),
    ).not.toThrow();
    expect(tn.process()).toEqual([]);
  });

  it('logs through the injected logger with the node id and term', () => {
    const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
    const logger: RaftLogger = {
      debug: (m, f) => lines.push({ level: 'debug', msg: m, fields: f }),
      info: (m, f) => lines.push({ level: 'info', msg: m, fields: f }),
      warn: (m, f) => lines.push({ level: 'warn', msg: m, fields: f }),
      error: (m, f) => lines.push({ level: 'error', msg: m, fields: f }),
    };
    const tn = makeNode(0x1an, { voters: [0x1an], logger });
    tn.node.campaign();
    const leaderLine = lines.find((l) => l.msg === 'became leader');
    expect(leaderLine?.fields).toMatchObject({ id: '1a', term: 1 });
    for (const l of lines) expect(JSON.stringify(l.fields)).toBeTypeOf('string'); // no bigint in fields
  });
});
