import { describe, expect, it } from 'vitest';
import { Inflights } from '../src/inflights';
import { Progress } from '../src/progress';
import { MessageType, ProgressState } from '../src/types';
import { electLeader, enc, makeNode, msg, ofType } from './support/harness';
import type { TestNode } from './support/network';

describe('Inflights', () => {
  it('fills up to its capacity and frees acknowledged messages in order, across the ring boundary', () => {
    const inf = new Inflights(4);
    for (const i of [1, 2, 3, 4]) inf.add(i);
    expect(inf.full()).toBe(true);
    expect(() => inf.add(5)).toThrow();
    inf.freeLE(2);
    expect(inf.size()).toBe(2);
    inf.add(5);
    inf.add(6); // wraps around
    expect(inf.full()).toBe(true);
    inf.freeLE(5);
    expect(inf.size()).toBe(1);
    inf.freeFirstOne();
    expect(inf.size()).toBe(0);
    inf.freeFirstOne(); // no-op when empty
    inf.add(7);
    inf.reset();
    expect(inf.size()).toBe(0);
  });
});

describe('Progress', () => {
  it('moves match/next forward on acknowledgements and never back', () => {
    const pr = new Progress(5, 8, false);
    pr.match = 3;
    expect(pr.maybeUpdate(2)).toBe(false);
    expect(pr.match).toBe(3);
    expect(pr.maybeUpdate(4)).toBe(true);
    expect([pr.match, pr.next]).toEqual([4, 5]);
    expect(pr.maybeUpdate(6)).toBe(true);
    expect([pr.match, pr.next]).toEqual([6, 7]);
  });

  it('ignores stale rejections and backs off to the hint on fresh ones', () => {
    const probe = new Progress(10, 8, false);
    probe.match = 2;
    expect(probe.maybeDecrTo(5, 4)).toBe(false); // not the probe we sent (next-1 = 9)
    expect(probe.maybeDecrTo(9, 4)).toBe(true);
    expect(probe.next).toBe(5); // min(rejected, hint+1)
    expect(probe.maybeDecrTo(4, 0)).toBe(true);
    expect(probe.next).toBe(3); // never below match+1

    const repl = new Progress(10, 8, false);
    repl.match = 6;
    repl.becomeReplicate();
    repl.optimisticUpdate(12);
    expect(repl.maybeDecrTo(5, 5)).toBe(false); // at or below match: stale
    expect(repl.maybeDecrTo(9, 5)).toBe(true);
    expect(repl.next).toBe(7); // back to match+1
  });

  it('after a snapshot, probing resumes past the snapshot index', () => {
    const pr = new Progress(1, 8, false);
    pr.becomeSnapshot(20);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect([pr.state, pr.next, pr.pendingSnapshot]).toEqual([ProgressState.Probe, 21, 0]);
  });

  it('pauses a probing follower after one message and a replicating one when its window is full', () => {
    const pr = new Progress(1, 2, false);
    expect(pr.isPaused()).toBe(false);
    pr.probeSent = true;
    expect(pr.isPaused()).toBe(true);
    pr.becomeReplicate();
    expect(pr.isPaused()).toBe(false);
    pr.inflights.add(1);
    pr.inflights.add(2);
    expect(pr.isPaused()).toBe(true);
  });
});

/** A 2-voter leader whose follower 2 is in Replicate state, with outbox cleared. */
function replicatingLeader(maxInflightMsgs: number, maxSizePerMsg?: number): TestNode {
  const leader = makeNode(1n, { voters: [1n, 2n], maxInflightMsgs, maxSizePerMsg });
  const probe = ofType(electLeader(leader, [1n, 2n]), MessageType.App)[0];
  leader.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 1, index: probe.index + 1 }));
  leader.process();
  expect(leader.node.status().progress?.get(2n)?.state).toBe(ProgressState.Replicate);
  return leader;
}

describe('replication flow control', () => {
  it('a replicating follower gets at most maxInflightMsgs unacknowledged appends', () => {
    const leader = replicatingLeader(3);
    const sent = [];
    for (let i = 0; i < 10; i++) {
      leader.node.propose(enc(`e${i}`));
      sent.push(...ofType(leader.process(), MessageType.App));
    }
    expect(sent).toHaveLength(3);
    expect(leader.node.status().progress?.get(2n)?.inflight).toBe(3);
    expect(sent.map((m) => m.entries.map((e) => e.index))).toEqual([[2], [3], [4]]);
    // Acknowledging the first two frees two slots: everything held back goes out at once.
    leader.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 1, index: sent[1].index + 1 }));
    const more = ofType(leader.process(), MessageType.App);
    expect(more.map((m) => m.entries.map((e) => e.index))).toEqual([[5, 6, 7, 8, 9, 10, 11]]);
    expect(leader.node.status().progress?.get(2n)?.inflight).toBe(2);
  });

  it('a heartbeat response frees one slot of a full window so replication cannot stall', () => {
    const leader = replicatingLeader(2);
    for (let i = 0; i < 4; i++) leader.node.propose(enc(`e${i}`));
    expect(ofType(leader.process(), MessageType.App)).toHaveLength(2);
    leader.node.step(msg({ type: MessageType.HeartbeatResp, from: 2n, to: 1n, term: 1 }));
    const after = ofType(leader.process(), MessageType.App);
    expect(after).toHaveLength(1);
    expect(after[0].entries.map((e) => e.index)).toEqual([4, 5]);
  });

  it('a probing follower gets one append at a time until it answers', () => {
    const leader = makeNode(1n, { voters: [1n, 2n] });
    expect(ofType(electLeader(leader, [1n, 2n]), MessageType.App)).toHaveLength(1);
    leader.node.propose(enc('a'));
    leader.node.propose(enc('b'));
    expect(ofType(leader.process(), MessageType.App)).toEqual([]);
    // A heartbeat response unpauses the probe.
    leader.node.step(msg({ type: MessageType.HeartbeatResp, from: 2n, to: 1n, term: 1 }));
    const retry = ofType(leader.process(), MessageType.App);
    expect(retry).toHaveLength(1);
    expect(retry[0].entries.map((e) => e.index)).toEqual([1, 2, 3]);
  });

  it('maxSizePerMsg bounds the entries per append (0 = one entry per message)', () => {
    // entrySize = data length + 16 = 34 bytes here: three entries fit in 110 bytes, four do not.
    const cases = [
      { maxSizePerMsg: 110, want: [3, 3, 1] },
      { maxSizePerMsg: 0, want: [1, 1, 1, 1, 1, 1, 1] },
    ];
    for (const c of cases) {
      const leader = makeNode(1n, { voters: [1n, 2n], maxSizePerMsg: c.maxSizePerMsg });
      const probe = ofType(electLeader(leader, [1n, 2n]), MessageType.App)[0];
      // The follower is probing, so these wait...
      for (let i = 0; i < 7; i++) leader.node.propose(enc('x'.repeat(18)));
      expect(ofType(leader.process(), MessageType.App)).toEqual([]);
      // ... until it answers; then they stream out in size-bounded messages.
      leader.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 1, index: probe.index + 1 }));
      const sizes = ofType(leader.process(), MessageType.App)
        .filter((m) => m.entries.length > 0)
        .map((m) => m.entries.length);
      expect(sizes, `maxSizePerMsg ${c.maxSizePerMsg}`).toEqual(c.want);
    }
  });

  it('reportUnreachable moves a replicating follower back to probe', () => {
    const leader = replicatingLeader(4);
    leader.node.reportUnreachable(2n);
    expect(leader.node.status().progress?.get(2n)?.state).toBe(ProgressState.Probe);
  });
});
