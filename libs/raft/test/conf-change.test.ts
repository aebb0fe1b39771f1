import { describe, expect, it } from 'vitest';
import { decodeConfChange, encodeConfChange } from '../src/confchange-codec';
import { RaftErrorCode } from '../src/errors';
import { MemoryStorage } from '../src/memory-storage';
import {
  ConfChangeType,
  EntryType,
  MessageType,
  StateType,
  type ConfChange,
  type NodeId,
} from '../src/types';
import { electLeader, makeNode, msg, ofType } from './support/harness';
import { Network, TestNode } from './support/network';

const dropped = expect.objectContaining({ code: RaftErrorCode.ProposalDropped }) as Error;
const cc = (type: ConfChangeType, nodeId: NodeId): ConfChange => ({
  type,
  nodeId,
  context: new Uint8Array(),
});

/** A brand-new member: empty storage, no membership; it learns everything from the leader. */
function joiningNode(id: NodeId): TestNode {
  return new TestNode(id, new MemoryStorage(), {}, Number(id));
}

describe('membership changes', () => {
  it('adding a node: once the change commits and is applied, the new member receives the whole log and learns the membership', () => {
    const net = Network.bootstrap([1n, 2n, 3n]);
    net.campaign(1n);
    net.propose(1n, 'before');
    net.add(joiningNode(4n));
    net.get(1n).node.proposeConfChange(cc(ConfChangeType.AddNode, 4n));
    net.deliverAll();
    net.propose(1n, 'after');
    const n4 = net.get(4n);
    expect(n4.appliedData()).toEqual(['before', 'after']);
    expect(n4.confState).toEqual({ voters: [1n, 2n, 3n, 4n], learners: [] });
    expect(net.get(1n).node.status().progress?.get(4n)?.match).toBe(net.get(1n).storage.lastIndex());
  });

  it('at most one change is pending: another is refused until the first is applied', () => {
    const net = Network.bootstrap([1n, 2n, 3n]);
    net.campaign(1n);
    const leader = net.get(1n);
    leader.node.proposeConfChange(cc(ConfChangeType.AddNode, 4n));
    expect(() => leader.node.proposeConfChange(cc(ConfChangeType.AddNode, 5n))).toThrow(dropped);
    net.deliverAll();
    expect(() => leader.node.proposeConfChange(cc(ConfChangeType.AddNode, 5n))).not.toThrow();
  });

  it('a new leader takes a change proposal without throwing before its election no-op is applied (thesis-rules.test.ts proves how such a change is held back)', () => {
    const leader = makeNode(1n, { voters: [1n, 2n, 3n] });
    electLeader(leader, [1n, 2n, 3n]);
    // The no-op is not committed, hence not applied.
    expect(() => leader.node.proposeConfChange(cc(ConfChangeType.AddNode, 4n))).not.toThrow();
  });

  it('a forwarded change that must be refused becomes an empty entry in the leader log', () => {
    const net = Network.bootstrap([1n, 2n, 3n]);
    net.campaign(1n);
    const leader = net.get(1n);
    leader.node.proposeConfChange(cc(ConfChangeType.AddNode, 4n));
    leader.process(); // the first change is appended but not delivered yet
    const follower = net.get(2n);
    follower.node.proposeConfChange(cc(ConfChangeType.AddNode, 5n));
    const fwd = ofType(follower.process(), MessageType.Prop);
    expect(fwd.map((m) => m.to)).toEqual([1n]);
    leader.node.step(fwd[0]);
    leader.process();
    const last = leader.storage.entries(leader.storage.lastIndex(), leader.storage.lastIndex() + 1, 1e9)[0];
    expect([last.type, last.data.byteLength]).toEqual([EntryType.Normal, 0]);
  });

  it('a removed follower stops campaigning', () => {
    const net = Network.bootstrap([1n, 2n, 3n]);
    net.campaign(1n);
    net.get(1n).node.proposeConfChange(cc(ConfChangeType.RemoveNode, 3n));
    net.deliverAll();
    expect(net.get(3n).confState.voters).toEqual([1n, 2n]);
    net.isolate(3n);
    net.tick(3n, 100);
    net.deliverAll();
    expect(net.get(3n).state()).toBe(StateType.Follower);
    expect(net.trace.filter((m) => m.from === 3n && m.type === MessageType.Vote)).toEqual([]);
  });

  it('a removed leader steps down and hands over to an up-to-date voter', () => {
    const net = Network.bootstrap([1n, 2n, 3n]);
    net.campaign(1n);
    net.get(1n).node.proposeConfChange(cc(ConfChangeType.RemoveNode, 1n));
    net.deliverAll();
    expect(net.get(1n).state()).toBe(StateType.Follower);
    const leaders = net.leaders();
    expect(leaders).toHaveLength(1);
    expect(leaders[0]).not.toBe(1n);
    net.propose(leaders[0], 'without-1');
    expect(net.get(2n).appliedData()).toEqual(['without-1']);
    expect(net.get(3n).appliedData()).toEqual(['without-1']);
  });

  it('removing a voter shrinks the quorum', () => {
    const net = Network.bootstrap([1n, 2n, 3n, 4n]);
    net.campaign(1n);
    net.get(1n).node.proposeConfChange(cc(ConfChangeType.RemoveNode, 4n));
    net.deliverAll();
    net.isolate(3n);
    net.isolate(4n);
    // 1 and 2 are a majority of {1,2,3} (they would not be of {1,2,3,4}).
    net.propose(1n, 'two-of-three');
    expect(net.get(2n).appliedData()).toEqual(['two-of-three']);
  });

  it('entries waiting for a removed voter commit as soon as the removal is applied', () => {
    const leader = makeNode(1n, { voters: [1n, 2n] });
    electLeader(leader, [1n, 2n]);
    leader.node.propose(new TextEncoder().encode('waiting'));
    leader.process();
    expect(leader.node.status().hardState.commit).toBe(0);
    leader.node.applyConfChange(cc(ConfChangeType.RemoveNode, 2n));
    leader.process();
    expect(leader.node.status().hardState.commit).toBe(2);
    expect(leader.appliedData()).toEqual(['waiting']);
  });

  it('refuses to remove the last voter, both when proposed and when applied', () => {
    const tn = makeNode(1n, { voters: [1n] });
    tn.node.campaign();
    tn.process();
    expect(tn.state()).toBe(StateType.Leader);
    expect(() => tn.node.proposeConfChange(cc(ConfChangeType.RemoveNode, 1n))).toThrow(dropped);
    expect(() => tn.node.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 1n))).toThrow(dropped);
    expect(tn.node.applyConfChange(cc(ConfChangeType.RemoveNode, 1n))).toEqual({
      voters: [1n],
      learners: [],
    });
    expect(tn.state()).toBe(StateType.Leader);
  });

  it('applying a change is idempotent and follows add / add-learner / remove semantics', () => {
    const tn = makeNode(1n, { voters: [1n, 2n] });
    expect(tn.node.applyConfChange(cc(ConfChangeType.AddNode, 2n))).toEqual({
      voters: [1n, 2n],
      learners: [],
    });
    expect(tn.node.applyConfChange(cc(ConfChangeType.AddLearnerNode, 3n))).toEqual({
      voters: [1n, 2n],
      learners: [3n],
    });
    expect(tn.node.applyConfChange(cc(ConfChangeType.AddLearnerNode, 3n))).toEqual({
      voters: [1n, 2n],
      learners: [3n],
    });
    expect(tn.node.applyConfChange(cc(ConfChangeType.AddNode, 3n))).toEqual({
      voters: [1n, 2n, 3n],
      learners: [],
    });
    expect(tn.node.applyConfChange(cc(ConfChangeType.AddLearnerNode, 2n))).toEqual({
      voters: [1n, 3n],
      learners: [2n],
    });
    expect(tn.node.applyConfChange(cc(ConfChangeType.RemoveNode, 2n))).toEqual({
      voters: [1n, 3n],
      learners: [],
    });
    expect(tn.node.applyConfChange(cc(ConfChangeType.RemoveNode, 9n))).toEqual({
      voters: [1n, 3n],
      learners: [],
    });
  });

  it('a node does not campaign while committed conf changes are not yet applied', () => {
    const entries = [
      {
        index: 1,
        term: 1,
        type: EntryType.ConfChange,
        data: encodeConfChange(cc(ConfChangeType.AddNode, 1n)),
      },
      {
        index: 2,
        term: 1,
        type: EntryType.ConfChange,
        data: encodeConfChange(cc(ConfChangeType.AddNode, 2n)),
      },
    ];
    const tn = makeNode(1n, { voters: [1n, 2n], entries, term: 1, commit: 2 });
    // The first Ready (holding the committed changes) has not been applied yet.
    tn.node.campaign();
    const rd = tn.node.ready();
    expect(rd.committedEntries.map((e) => decodeConfChange(e.data).nodeId)).toEqual([1n, 2n]);
    expect(rd.messages).toEqual([]);
    expect(tn.state()).toBe(StateType.Follower);
    tn.node.advance();
    tn.node.campaign();
    expect(tn.state()).toBe(StateType.Candidate);
  });

  it('a leadership transfer to a node that gets removed is aborted', () => {
    const leader = makeNode(1n, { voters: [1n, 2n, 3n] });
    for (const m of ofType(electLeader(leader, [1n, 2n, 3n]), MessageType.App)) {
      leader.node.step(msg({ type: MessageType.AppResp, from: m.to, to: 1n, term: 1, index: m.index + 1 }));
    }
    leader.process();
    leader.node.proposeConfChange(cc(ConfChangeType.RemoveNode, 3n));
    const apps = ofType(leader.process(), MessageType.App);
    // Node 3 has not acknowledged the removal entry, so the transfer waits for it to catch up.
    leader.node.transferLeader(3n);
    expect(leader.node.status().leadTransferee).toBe(3n);
    const toTwo = apps.find((m) => m.to === 2n)!;
    leader.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 1, index: toTwo.index + 1 }));
    leader.process(); // commits and applies the removal
    expect(leader.confState.voters).toEqual([1n, 2n]);
    expect(leader.node.status().leadTransferee).toBe(0n);
    expect(leader.state()).toBe(StateType.Leader);
  });
});
