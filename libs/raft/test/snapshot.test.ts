import { describe, expect, it } from 'vitest';
import { RaftError, RaftErrorCode } from '../src/errors';
import { MemoryStorage } from '../src/memory-storage';
import {
  MessageType,
  ProgressState,
  SnapshotStatus,
  StateType,
  type ConfState,
  type Snapshot,
} from '../src/types';
import { electLeader, enc, entriesWithTerms, logOf, makeNode, msg, ofType } from './support/harness';
import { Network, TestNode } from './support/network';

const voters = [1n, 2n, 3n];
const confState: ConfState = { voters, learners: [] };

class FlakySnapshotStorage extends MemoryStorage {
  unavailable = true;
  override snapshot(): Snapshot {
    if (this.unavailable) throw new RaftError(RaftErrorCode.SnapshotTemporarilyUnavailable);
    return super.snapshot();
  }
}

/** Leader 1 at term 2 whose storage holds entries 1..10 (term 1), snapshotted and compacted at 8. */
function compactedLeader(storage: MemoryStorage = new MemoryStorage()): {
  leader: TestNode;
  probes: ReturnType<typeof electLeader>;
} {
  storage.setConfState(confState);
  storage.append(entriesWithTerms(Array<number>(10).fill(1)));
  storage.setHardState({ term: 1, vote: 0n, commit: 10 });
  storage.createSnapshot(8, confState, enc('state@8'));
  storage.compact(8);
  const leader = new TestNode(1n, storage, {}, 1);
  leader.process();
  const probes = electLeader(leader, voters);
  return { leader, probes };
}

/** Makes the leader discover that follower 2 has an empty log. */
function rejectFromEmptyFollower(leader: TestNode, probeIndex: number): void {
  leader.node.step(
    msg({
      type: MessageType.AppResp,
      from: 2n,
      to: 1n,
      term: 2,
      index: probeIndex,
      reject: true,
      rejectHint: 0,
      logTerm: 0,
    }),
  );
}

describe('sending snapshots', () => {
  it('when the follower needs compacted entries, the leader sends storage.snapshot() and waits in Snapshot state', () => {
    const { leader, probes } = compactedLeader();
    rejectFromEmptyFollower(leader, ofType(probes, MessageType.App).find((m) => m.to === 2n)!.index);
    const snaps = ofType(leader.process(), MessageType.Snap);
    expect(snaps).toHaveLength(1);
    expect(snaps[0].to).toBe(2n);
    expect(snaps[0].snapshot?.metadata).toEqual({ index: 8, term: 1, confState });
    expect(new TextDecoder().decode(snaps[0].snapshot?.data)).toBe('state@8');
    const pr = leader.node.status().progress!.get(2n)!;
    expect([pr.state, pr.pendingSnapshot]).toEqual([ProgressState.Snapshot, 8]);
    // Nothing more goes to a follower in Snapshot state.
    leader.node.propose(enc('x'));
    expect(ofType(leader.process(), MessageType.App).filter((m) => m.to === 2n)).toEqual([]);
  });

  it('tolerates SnapshotTemporarilyUnavailable and sends the snapshot on a later attempt', () => {
    const storage = new FlakySnapshotStorage();
    const { leader, probes } = compactedLeader(storage);
    rejectFromEmptyFollower(leader, ofType(probes, MessageType.App).find((m) => m.to === 2n)!.index);
    expect(ofType(leader.process(), MessageType.Snap)).toEqual([]);
    expect(leader.node.status().progress!.get(2n)!.state).toBe(ProgressState.Probe);
    storage.unavailable = false;
    leader.node.step(msg({ type: MessageType.HeartbeatResp, from: 2n, to: 1n, term: 2 }));
    expect(ofType(leader.process(), MessageType.Snap).map((m) => m.to)).toEqual([2n]);
  });

  it('after the follower acknowledges the snapshot index, replication continues from the log', () => {
    const { leader, probes } = compactedLeader();
    rejectFromEmptyFollower(leader, ofType(probes, MessageType.App).find((m) => m.to === 2n)!.index);
    leader.process();
    leader.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 2, index: 8 }));
    const apps = ofType(leader.process(), MessageType.App).filter((m) => m.to === 2n);
    expect(apps[0]).toMatchObject({ index: 8, logTerm: 1 });
    expect(apps[0].entries.map((e) => e.index)).toEqual([9, 10, 11]);
    expect(leader.node.status().progress!.get(2n)!.state).toBe(ProgressState.Replicate);
  });

  it('reportSnapshot(Finish) resumes probing after the snapshot; Failure probes from the old match', () => {
    for (const [status, wantNext] of [
      [SnapshotStatus.Finish, 9],
      [SnapshotStatus.Failure, 1],
    ] as const) {
      const { leader, probes } = compactedLeader();
      rejectFromEmptyFollower(leader, ofType(probes, MessageType.App).find((m) => m.to === 2n)!.index);
      leader.process();
      leader.node.reportSnapshot(2n, status);
      const pr = leader.node.status().progress!.get(2n)!;
      expect([pr.state, pr.next, pr.pendingSnapshot]).toEqual([ProgressState.Probe, wantNext, 0]);
      // It waits for the follower (a heartbeat response) before probing again.
      expect(ofType(leader.process(), MessageType.App)).toEqual([]);
      leader.node.step(msg({ type: MessageType.HeartbeatResp, from: 2n, to: 1n, term: 2 }));
      const out = leader.process();
      if (status === SnapshotStatus.Finish) {
        expect(ofType(out, MessageType.App)[0]).toMatchObject({ to: 2n, index: 8 });
      } else {
        // Index 0 is compacted: straight back to a snapshot.
        expect(ofType(out, MessageType.Snap).map((m) => m.to)).toEqual([2n]);
      }
    }
  });
});

describe('receiving snapshots', () => {
  const snapshot: Snapshot = { metadata: { index: 8, term: 1, confState }, data: enc('state@8') };

  it('a follower restores a snapshot newer than its commit index and reports its new last index', () => {
    const tn = makeNode(2n, { voters: [], term: 1 });
    tn.node.step(msg({ type: MessageType.Snap, from: 1n, to: 2n, term: 2, snapshot }));
    const rd = tn.node.ready();
    expect(rd.snapshot?.metadata.index).toBe(8);
    expect(rd.hardState).toMatchObject({ term: 2, commit: 8 });
    expect(rd.committedEntries).toEqual([]);
    expect(rd.messages.map((m) => [m.type, m.to, m.index, m.reject])).toEqual([
      [MessageType.AppResp, 1n, 8, false],
    ]);
    tn.storage.applySnapshot(rd.snapshot!);
    tn.storage.setHardState(rd.hardState!);
    tn.node.advance();
    const st = tn.node.status();
    expect([st.applied, st.hardState.commit]).toEqual([8, 8]);
    expect(tn.storage.firstIndex()).toBe(9);
    // It learned the membership from the snapshot: it can now campaign.
    for (let i = 0; i < 20; i++) tn.node.tick();
    expect(tn.state()).toBe(StateType.Candidate);
    expect(tn.node.hasReady()).toBe(true);
  });

  it('a snapshot at or below the commit index is ignored and answered with the commit index', () => {
    const tn = makeNode(2n, {
      voters,
      entries: entriesWithTerms(Array<number>(10).fill(1)),
      term: 1,
      commit: 10,
    });
    tn.node.step(msg({ type: MessageType.Snap, from: 1n, to: 2n, term: 1, snapshot }));
    const rd = tn.node.ready();
    expect(rd.snapshot).toBeUndefined();
    expect(rd.messages.map((m) => [m.type, m.index])).toEqual([[MessageType.AppResp, 10]]);
    tn.node.advance();
  });

  it('a snapshot whose last entry the log already has only fast-forwards the commit index', () => {
    const tn = makeNode(2n, {
      voters,
      entries: entriesWithTerms(Array<number>(10).fill(1)),
      term: 1,
      commit: 5,
    });
    tn.node.step(msg({ type: MessageType.Snap, from: 1n, to: 2n, term: 1, snapshot }));
    const out = tn.process();
    expect(tn.node.status().hardState.commit).toBe(8);
    expect(logOf(tn.storage)).toHaveLength(10); // log kept
    expect(out.map((m) => [m.type, m.index])).toEqual([[MessageType.AppResp, 8]]);
    expect(tn.applied.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('a snapshot whose last entry conflicts with the log replaces the log', () => {
    const tn = makeNode(2n, {
      voters,
      entries: entriesWithTerms([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
      term: 1,
      commit: 2,
    });
    const newer: Snapshot = { metadata: { index: 8, term: 2, confState }, data: enc('s') };
    tn.node.step(msg({ type: MessageType.Snap, from: 1n, to: 2n, term: 2, snapshot: newer }));
    tn.process();
    expect(tn.storage.firstIndex()).toBe(9);
    expect(tn.storage.lastIndex()).toBe(8);
    expect(tn.node.status().hardState.commit).toBe(8);
  });
});

describe('catching up a lagging follower end to end', () => {
  it('a follower that missed compacted entries gets a snapshot, then the rest of the log', () => {
    const net = Network.bootstrap(voters);
    net.campaign(1n);
    net.isolate(3n);
    for (let i = 0; i < 10; i++) net.propose(1n, `v${i}`);
    const leader = net.get(1n);
    const applied = leader.node.status().applied;
    leader.storage.createSnapshot(applied, leader.confState, enc(`snap@${applied}`));
    leader.storage.compact(applied - 2);
    net.propose(1n, 'after-snapshot');
    net.heal();
    net.tickAll(3);
    const follower = net.get(3n);
    expect(net.trace.filter((m) => m.type === MessageType.Snap && m.to === 3n)).toHaveLength(1);
    expect(follower.storage.snapshot().metadata.index).toBe(applied);
    expect(follower.node.status().hardState.commit).toBe(leader.node.status().hardState.commit);
    expect(follower.appliedData()).toContain('after-snapshot');
    expect(leader.node.status().progress!.get(3n)!.state).toBe(ProgressState.Replicate);
  });
});
