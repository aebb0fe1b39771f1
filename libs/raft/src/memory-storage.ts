// An in-memory Storage (etcd-io/raft's MemoryStorage): the persisted log as Raft reads it. The server
// keeps one in front of its WAL; tests and the simulation use it as their "disk".
//
// ents[0] is a dummy entry holding the index and term of the last compacted entry (the snapshot
// point), so term(firstIndex - 1) always answers.
import { limitSize } from './describe';
import { RaftError, RaftErrorCode } from './errors';
import type { Storage } from './contracts';
import { EntryType, NONE, type ConfState, type Entry, type HardState, type Snapshot } from './types';

const EMPTY = new Uint8Array(0);

function dummyEntry(index: number, term: number): Entry {
  return { index, term, type: EntryType.Normal, data: EMPTY };
}

// Entry data kept here lives until a snapshot compacts the log (up to --snapshot-count entries). The data
// handed in is often a view into a shared buffer (Node's 8 KiB allocation pool, mixed with short-lived
// bytes; a peer message frame on a follower), which each kept entry would pin. Copies go into slabs of
// their own instead; entries are released in log order, so whole slabs are freed as the log compacts.
const ENTRY_SLAB_BYTES = 64 * 1024;
/** Larger entries get a buffer of their own. */
const MAX_ENTRY_SLAB_COPY = 4 * 1024;
let entrySlab = new Uint8Array(0);
let entrySlabUsed = 0;

function keptEntry(entry: Entry): Entry {
  const data = entry.data;
  const n = data.byteLength;
  if (n === 0) return entry;
  const isBuffer = Buffer.isBuffer(data);
  let buffer: ArrayBufferLike;
  let offset = 0;
  if (n > MAX_ENTRY_SLAB_COPY) {
    // Already alone in its memory: nothing to gain from a copy.
    if (data.byteOffset === 0 && data.buffer.byteLength === n) return entry;
    buffer = new ArrayBuffer(n);
  } else {
    if (entrySlabUsed + n > entrySlab.length) {
      entrySlab = new Uint8Array(ENTRY_SLAB_BYTES);
      entrySlabUsed = 0;
    }
    buffer = entrySlab.buffer;
    offset = entrySlabUsed;
    entrySlabUsed += n;
  }
  // The same kind of view as given (a Buffer stays a Buffer), over the copy.
  const copy = isBuffer ? Buffer.from(buffer, offset, n) : new Uint8Array(buffer, offset, n);
  copy.set(data);
  return { ...entry, data: copy };
}

function copyConfState(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners] };
}

export class MemoryStorage implements Storage {
  private hard: HardState = { term: 0, vote: NONE, commit: 0 };
  private snap: Snapshot = {
    metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } },
    data: EMPTY,
  };
  private confState: ConfState = { voters: [], learners: [] };
  private ents: Entry[] = [dummyEntry(0, 0)];

  /**
   * The hard state and the membership the node restarts with. The membership is the one last recorded
   * by setConfState / applySnapshot / createSnapshot.
   */
  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hard }, confState: copyConfState(this.confState) };
  }

  getHardState(): HardState {
    return { ...this.hard };
  }

  setHardState(hs: HardState): void {
    this.hard = { ...hs };
  }

  getConfState(): ConfState {
    return copyConfState(this.confState);
  }

  /** Records the membership a restarted node should start from (bootstrap, or a driver persisting it). */
  setConfState(cs: ConfState): void {
    this.confState = copyConfState(cs);
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.ents[0].index;
    if (lo <= offset) throw new RaftError(RaftErrorCode.Compacted, `lo ${lo} <= compacted index ${offset}`);
    if (hi > this.lastIndex() + 1) {
      throw new RaftError(
        RaftErrorCode.Unavailable,
        `hi ${hi} is out of bound, last index ${this.lastIndex()}`,
      );
    }
    if (this.ents.length === 1) throw new RaftError(RaftErrorCode.Unavailable, 'log is empty');
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  term(index: number): number {
    const offset = this.ents[0].index;
    if (index < offset)
      throw new RaftError(RaftErrorCode.Compacted, `index ${index} < compacted index ${offset}`);
    if (index - offset >= this.ents.length) {
      throw new RaftError(RaftErrorCode.Unavailable, `index ${index} > last index ${this.lastIndex()}`);
    }
    return this.ents[index - offset].term;
  }

  lastIndex(): number {
    return this.ents[0].index + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.ents[0].index + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with a snapshot received from the leader (and its membership). */
  applySnapshot(snap: Snapshot): void {
    const current = this.snap.metadata.index;
    if (snap.metadata.index <= current) {
      throw new RaftError(
        RaftErrorCode.SnapOutOfDate,
        `snapshot ${snap.metadata.index} <= current ${current}`,
      );
    }
    this.snap = snap;
    this.confState = copyConfState(snap.metadata.confState);
    this.ents = [dummyEntry(snap.metadata.index, snap.metadata.term)];
  }

  /**
   * Makes a snapshot at `index` (an applied index) that leaders can send to lagging followers. It does
   * not compact the log; call compact() for that (usually keeping some entries for slow followers).
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) {
      throw new RaftError(
        RaftErrorCode.SnapOutOfDate,
        `snapshot ${index} <= current ${this.snap.metadata.index}`,
      );
    }
    if (index > this.lastIndex()) {
      throw new RaftError(
        RaftErrorCode.Unavailable,
        `snapshot ${index} is beyond last index ${this.lastIndex()}`,
      );
    }
    this.snap = { metadata: { index, term: this.term(index), confState: copyConfState(confState) }, data };
    this.confState = copyConfState(confState);
    return this.snap;
  }

  /** Discards entries up to and including `compactIndex` (must be at or below an applied index). */
  compact(compactIndex: number): void {
    const offset = this.ents[0].index;
    if (compactIndex <= offset) {
      throw new RaftError(RaftErrorCode.Compacted, `compact ${compactIndex} <= compacted index ${offset}`);
    }
    if (compactIndex > this.lastIndex()) {
      throw new RaftError(
        RaftErrorCode.Unavailable,
        `compact ${compactIndex} is beyond last index ${this.lastIndex()}`,
      );
    }
    const i = compactIndex - offset;
    this.ents = [dummyEntry(compactIndex, this.ents[i].term), ...this.ents.slice(i + 1)];
  }

  /**
   * Appends entries that Raft handed out in Ready.entries. Entries must be contiguous; an entry whose
   * index is already present replaces it and everything after it (a conflicting suffix).
   */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    // Everything offered is already compacted away.
    if (last < first) return;
    let ents = entries;
    if (first > ents[0].index) ents = ents.slice(first - ents[0].index);
    ents = ents.map(keptEntry);
    const offset = ents[0].index - this.ents[0].index;
    if (this.ents.length > offset) {
      this.ents = [...this.ents.slice(0, offset), ...ents];
    } else if (this.ents.length === offset) {
      for (const e of ents) this.ents.push(e);
    } else {
      throw new RaftError(
        RaftErrorCode.Unavailable,
        `missing log entries: last index ${this.lastIndex()}, appending at ${ents[0].index}`,
      );
    }
  }
}
