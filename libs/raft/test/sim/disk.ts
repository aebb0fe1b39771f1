// What one node has made durable: its "WAL" (a MemoryStorage holding exactly the snapshot, entries and
// hard state the driver persisted) and its state machine. A crash keeps this object and loses the
// RaftNode; a restart builds a new RaftNode over it.
import {
  MemoryStorage,
  NONE,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
  type Storage,
} from '../../src';
import { AppStateMachine, cloneConfState } from './state-machine';

export class NodeDisk {
  readonly wal = new MemoryStorage();
  readonly stateMachine = new AppStateMachine();
  /** The last hard state written to the WAL (kept here so checks need not call into storage). */
  hardState: HardState = { term: 0, vote: NONE, commit: 0 };
  /** Highest index whose committed entry this node's log was compared against the cluster record. */
  commitCheckedUpTo = 0;

  persistSnapshot(snapshot: Snapshot): void {
    this.wal.applySnapshot(cloneSnapshot(snapshot));
    this.commitCheckedUpTo = Math.max(this.commitCheckedUpTo, snapshot.metadata.index);
  }

  /** The app's own snapshot + compaction: snapshot at `applied`, keep entries after `compactTo`. */
  snapshotAndCompact(compactTo: number): void {
    const sm = this.stateMachine;
    this.wal.createSnapshot(sm.applied, cloneConfState(sm.confState), sm.snapshotData());
    this.wal.compact(compactTo);
  }

  persistEntries(entries: Entry[]): void {
    this.wal.append(entries.map(cloneEntry));
  }

  persistHardState(hardState: HardState): void {
    this.hardState = { ...hardState };
    this.wal.setHardState({ ...hardState });
  }

  /** Entries at or below this index are gone from the WAL (the snapshot may be newer still). */
  compactedTo(): number {
    return this.wal.firstIndex() - 1;
  }

  /** Index of the newest snapshot in the WAL (0 when there is none). */
  snapshotIndex(): number {
    return this.wal.snapshot().metadata.index;
  }

  /** The persisted entry at `index`, or undefined when it is compacted or beyond the log. */
  entryAt(index: number): Entry | undefined {
    if (index < this.wal.firstIndex() || index > this.wal.lastIndex()) return undefined;
    return this.wal.entries(index, index + 1, Number.MAX_SAFE_INTEGER)[0];
  }

  /** The persisted term at `index`, or undefined when it is not known (compacted or beyond the log). */
  termAt(index: number): number | undefined {
    if (index < this.compactedTo() || index > this.wal.lastIndex()) return undefined;
    return this.wal.term(index);
  }

  /**
   * The Storage a restarted RaftNode reads. Raft is restarted with `applied` = the state machine's
   * durable applied index, so the membership it starts from must be the one in force at that index,
   * which the state machine stored beside it (the WAL's snapshot may be older than later conf changes).
   */
  storageForRestart(): Storage {
    const wal = this.wal;
    const confState: ConfState = cloneConfState(this.stateMachine.confState);
    return {
      initialState: () => ({ hardState: wal.initialState().hardState, confState }),
      entries: (lo, hi, maxSize) => wal.entries(lo, hi, maxSize),
      term: (index) => wal.term(index),
      lastIndex: () => wal.lastIndex(),
      firstIndex: () => wal.firstIndex(),
      snapshot: () => wal.snapshot(),
    };
  }
}

export function cloneEntry(entry: Entry): Entry {
  return { term: entry.term, index: entry.index, type: entry.type, data: entry.data.slice() };
}

export function cloneSnapshot(snapshot: Snapshot): Snapshot {
  const { index, term, confState } = snapshot.metadata;
  return { metadata: { index, term, confState: cloneConfState(confState) }, data: snapshot.data.slice() };
}
