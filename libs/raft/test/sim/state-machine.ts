// The application the simulated cluster replicates: it folds every applied entry into a digest chain
// (digest_i = H(digest_{i-1}, entry_i)) and keeps the membership it was told by applyConfChange.
// Two replicas with the same applied index and digest applied the same history, so the digest is what
// a snapshot carries and what convergence compares.
import { EntryType, type ConfState, type Entry, type Snapshot } from '../../src';

/** Identifies an entry across nodes: term, type and payload. */
export function entryFingerprint(entry: Entry): string {
  return `${entry.term}.${entry.type}.${Buffer.from(entry.data).toString('latin1')}`;
}

/** FNV-1a over the fingerprint, seeded with the previous digest. 32 bits is plenty for a test run. */
export function chainDigest(previous: number, fingerprint: string): number {
  let hash = (previous ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < fingerprint.length; i++) {
    hash ^= fingerprint.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export interface SnapshotState {
  index: number;
  digest: number;
  /** Normal entries with a payload applied so far (a second, independent summary of the history). */
  writes: number;
}

export function encodeSnapshotState(state: SnapshotState): Uint8Array {
  return Buffer.from(JSON.stringify(state), 'utf8');
}

export function decodeSnapshotState(data: Uint8Array): SnapshotState {
  return JSON.parse(Buffer.from(data).toString('utf8')) as SnapshotState;
}

/**
 * The state machine of one node. The simulation treats it as durable: each applied entry is committed
 * to it atomically with the applied index (as the server's backend batch does), so a crash keeps
 * exactly what was applied before it.
 */
export class AppStateMachine {
  applied = 0;
  digest = 0;
  writes = 0;
  confState: ConfState = { voters: [], learners: [] };
  /** Snapshot index this replica's history was restored from (0 = replayed from the first entry). */
  restoredFrom = 0;
  /** Fingerprints of the entries applied since `restoredFrom`, by position. */
  readonly appliedLog: string[] = [];

  apply(entry: Entry, fingerprint: string): void {
    this.applied = entry.index;
    this.digest = chainDigest(this.digest, fingerprint);
    if (entry.type === EntryType.Normal && entry.data.length > 0) this.writes++;
    this.appliedLog.push(fingerprint);
  }

  restore(snapshot: Snapshot): SnapshotState {
    const state = decodeSnapshotState(snapshot.data);
    this.applied = snapshot.metadata.index;
    this.digest = state.digest;
    this.writes = state.writes;
    this.confState = cloneConfState(snapshot.metadata.confState);
    this.restoredFrom = snapshot.metadata.index;
    this.appliedLog.length = 0;
    return state;
  }

  snapshotData(): Uint8Array {
    return encodeSnapshotState({ index: this.applied, digest: this.digest, writes: this.writes });
  }
}

export function cloneConfState(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners] };
}
