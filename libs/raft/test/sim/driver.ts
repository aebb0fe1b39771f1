// Handles one Ready the way the server's raft loop does: persist (snapshot, entries, hard state), then
// send, then apply (snapshot, committed entries, calling applyConfChange for conf changes), then
// advance. An armed crash can strike between any two of those stages, losing whatever came after.
import {
  EntryType,
  StateType,
  decodeConfChange,
  type ConfChange,
  type Entry,
  type Message,
  type ReadState,
  type Snapshot,
} from '../../src';
import type { SafetyChecker } from './invariants';
import type { SimNode } from './node';
import type { SimStats } from './stats';
import { entryLabel, type SimTrace } from './trace';

export interface DriverHooks {
  readonly checker: SafetyChecker;
  readonly trace: SimTrace;
  readonly stats: SimStats;
  send(from: SimNode, msg: Message): void;
  crash(node: SimNode, why: string): void;
  confChangeApplied(node: SimNode, cc: ConfChange): void;
  snapshotRestored(node: SimNode, snapshot: Snapshot): void;
  entryApplied(node: SimNode, entry: Entry): void;
  leaderCommitted(node: SimNode): void;
}

/** Returns false when the node crashed while handling this Ready. */
export function handleReady(node: SimNode, hooks: DriverHooks): boolean {
  const raft = node.raft;
  if (!raft) return false;
  const { checker, trace } = hooks;
  const disk = node.disk;
  const rd = raft.ready();
  const crash = node.crashPoint;
  const crashNow = (stage: string): false => {
    hooks.stats.crashesMidReady++;
    hooks.crash(node, `crash ${stage}`);
    return false;
  };

  for (const state of rd.readStates) readAnswered(node, state, hooks);

  // 1. Persist: what is written here survives a crash; nothing later in this Ready does.
  if (crash?.stage === 'before-persist') return crashNow('before persisting');
  if (rd.snapshot) {
    checker.beforePersistSnapshot(node.id, disk, rd.snapshot);
    disk.persistSnapshot(rd.snapshot);
    trace.record(
      () => `n${node.id} persist snapshot i${rd.snapshot?.metadata.index} t${rd.snapshot?.metadata.term}`,
    );
  }
  if (rd.entries.length > 0) {
    checker.beforePersistEntries(node.id, disk, rd.entries);
    disk.persistEntries(rd.entries);
    const leading = raft.softState().raftState === StateType.Leader;
    if (leading && rd.entries.some((entry) => entry.type === EntryType.ConfChange)) {
      checker.checkOneConfChangeAtATime(node.id, disk);
    }
    trace.record(() => `n${node.id} persist ${rd.entries.map(entryLabel).join(' ')}`);
  }
  if (rd.hardState) {
    const previousCommit = disk.hardState.commit;
    checker.beforePersistHardState(node.id, disk, rd.hardState);
    disk.persistHardState(rd.hardState);
    checker.afterPersistHardState(node.id, disk);
    if (disk.hardState.commit > previousCommit && raft.softState().raftState === StateType.Leader) {
      hooks.leaderCommitted(node);
    }
    trace.record(
      () =>
        `n${node.id} persist hs term=${disk.hardState.term} vote=${disk.hardState.vote} commit=${disk.hardState.commit}`,
    );
  }

  // 2. Send, only once what the messages promise is durable.
  if (crash?.stage === 'before-send') return crashNow('after persisting, before sending');
  for (const msg of rd.messages) hooks.send(node, msg);

  // 3. Apply.
  if (crash?.stage === 'before-apply') return crashNow('after sending, before applying');
  const sm = disk.stateMachine;
  if (rd.snapshot) {
    checker.beforeRestore(node.id, sm, rd.snapshot);
    sm.restore(rd.snapshot);
    hooks.snapshotRestored(node, rd.snapshot);
  }
  let appliedThisReady = 0;
  for (const entry of rd.committedEntries) {
    if (crash?.stage === 'mid-apply' && appliedThisReady >= crash.appliedBeforeCrash) {
      return crashNow(
        `after applying ${appliedThisReady} of ${rd.committedEntries.length} committed entries`,
      );
    }
    const fingerprint = checker.beforeApply(node.id, disk, entry);
    let cc: ConfChange | undefined;
    if (entry.type === EntryType.ConfChange) {
      cc = decodeConfChange(entry.data);
      sm.confState = raft.applyConfChange(cc);
    }
    sm.apply(entry, fingerprint);
    checker.afterApply(node.id, sm);
    hooks.stats.entriesApplied++;
    appliedThisReady++;
    trace.record(() => `n${node.id} apply ${entryLabel(entry)}`);
    hooks.entryApplied(node, entry);
    if (cc) hooks.confChangeApplied(node, cc);
  }
  if (crash?.stage === 'mid-apply') return crashNow('after applying everything, before advance');

  raft.advance();
  return true;
}

function readAnswered(node: SimNode, state: ReadState, hooks: DriverHooks): void {
  hooks.trace.record(
    () => `n${node.id} read-state ${Buffer.from(state.requestCtx).toString('latin1')} index=${state.index}`,
  );
  hooks.checker.readAnswered(node.id, state);
}
