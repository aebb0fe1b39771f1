// RaftConfig.deferCommitBroadcast: a commit advance rides on the next AppendEntries instead of an empty one
// of its own; broadcastCommit() sends it when nothing else did.
import { describe, expect, it } from 'vitest';
import { MessageType, type Message } from '../src/types';
import { electLeader, enc, makeNode, msg, ofType } from './support/harness';
import type { TestNode } from './support/network';

/** A 3-voter leader with both followers replicating and everything so far committed; outbox cleared. */
function leaderOfThree(deferCommitBroadcast: boolean): TestNode {
  const leader = makeNode(1n, { voters: [1n, 2n, 3n], deferCommitBroadcast });
  const probes = ofType(electLeader(leader, [1n, 2n, 3n]), MessageType.App);
  for (const probe of probes) {
    ack(leader, probe.to, probe.index + probe.entries.length);
  }
  leader.process();
  if (deferCommitBroadcast) leader.node.broadcastCommit();
  leader.process();
  return leader;
}

function ack(leader: TestNode, from: bigint, index: number): void {
  const term = leader.node.status().hardState.term;
  leader.node.step(msg({ type: MessageType.AppResp, from, to: leader.id, term, index }));
}

function propose(leader: TestNode, data: string): { index: number; sent: Message[] } {
  leader.node.propose(enc(data));
  const sent = ofType(leader.process(), MessageType.App);
  return { index: sent[0].entries[sent[0].entries.length - 1].index, sent };
}

describe('deferred commit broadcasts', () => {
  it('without the option, an acknowledgement that commits sends every follower an empty AppendEntries', () => {
    const leader = leaderOfThree(false);
    const { index } = propose(leader, 'a');
    ack(leader, 2n, index);
    const sent = ofType(leader.process(), MessageType.App);
    expect(sent.map((m) => [m.to, m.entries.length, m.commit])).toEqual([
      [2n, 0, index],
      [3n, 0, index],
    ]);
  });

  it('with it, the commit is applied on the leader but held back from the followers', () => {
    const leader = leaderOfThree(true);
    const { index } = propose(leader, 'a');
    ack(leader, 2n, index);
    const sent = leader.process();
    expect(ofType(sent, MessageType.App)).toEqual([]);
    expect(leader.node.status().hardState.commit).toBe(index);
    expect(leader.applied.map((e) => e.index)).toContain(index);
    expect(leader.node.hasPendingCommitBroadcast()).toBe(true);
  });

  it('the next AppendEntries carries the held-back commit and clears it', () => {
    const leader = leaderOfThree(true);
    const first = propose(leader, 'a');
    ack(leader, 2n, first.index);
    leader.process();
    const second = propose(leader, 'b');
    expect(second.sent.map((m) => [m.to, m.commit])).toEqual([
      [2n, first.index],
      [3n, first.index],
    ]);
    expect(leader.node.hasPendingCommitBroadcast()).toBe(false);
    leader.node.broadcastCommit();
    expect(ofType(leader.process(), MessageType.App)).toEqual([]);
  });

  it('numbers each pending advance: one carried and the next held back are told apart, two before a carry are not', () => {
    const leader = leaderOfThree(true);
    expect(leader.node.pendingCommitBroadcast()).toBeUndefined();
    const first = propose(leader, 'a');
    ack(leader, 2n, first.index);
    leader.process();
    const round = leader.node.pendingCommitBroadcast();
    expect(round).toBeDefined();
    const second = propose(leader, 'b'); // carries the first commit
    expect(leader.node.pendingCommitBroadcast()).toBeUndefined();
    ack(leader, 2n, second.index);
    leader.process();
    const next = leader.node.pendingCommitBroadcast();
    expect(next).toBeDefined();
    expect(next).not.toBe(round);
    // A further advance while this one is still pending is the same round: it waits as long as the first.
    const third = propose(leader, 'c');
    expect(leader.node.pendingCommitBroadcast()).toBeUndefined();
    ack(leader, 2n, third.index);
    leader.process();
    const held = leader.node.pendingCommitBroadcast();
    ack(leader, 3n, third.index);
    leader.process();
    expect(leader.node.pendingCommitBroadcast()).toBe(held);
  });

  it('broadcastCommit() sends it when no AppendEntries did', () => {
    const leader = leaderOfThree(true);
    const { index } = propose(leader, 'a');
    ack(leader, 3n, index);
    leader.process();
    leader.node.broadcastCommit();
    const sent = ofType(leader.process(), MessageType.App);
    expect(sent.map((m) => [m.to, m.entries.length, m.commit])).toEqual([
      [2n, 0, index],
      [3n, 0, index],
    ]);
    expect(leader.node.hasPendingCommitBroadcast()).toBe(false);
  });

  it('a leader that steps down forgets a held-back commit', () => {
    const leader = leaderOfThree(true);
    const { index } = propose(leader, 'a');
    ack(leader, 2n, index);
    leader.process();
    const term = leader.node.status().hardState.term;
    leader.node.step(msg({ type: MessageType.App, from: 2n, to: 1n, term: term + 1, index, logTerm: term }));
    leader.process();
    expect(leader.node.hasPendingCommitBroadcast()).toBe(false);
    leader.node.broadcastCommit();
    expect(ofType(leader.process(), MessageType.App)).toEqual([]);
  });
});
