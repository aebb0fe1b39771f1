// The log as Raft sees it: persisted entries (Storage) followed by unstable ones, plus the commit and
// applied indexes. Indexes and terms are JS numbers (see the number rule in types.ts).
import type { Storage } from './contracts';
import { limitSize } from './describe';
import { RaftError, RaftErrorCode, isRaftError } from './errors';
import { UnstableLog } from './log-unstable';
import type { Entry, Snapshot } from './types';

export const NO_LIMIT = Number.POSITIVE_INFINITY;

export class RaftLog {
  readonly unstable: UnstableLog;
  /** Highest index known to be committed by a quorum. */
  committed: number;
  /** Highest index the driver has applied (acknowledged through advance()). */
  applied: number;

  constructor(
    readonly storage: Storage,
    /** Bound on the bytes of committed entries handed out in one Ready. */
    private readonly maxNextEntsSize: number,
  ) {
    const firstIndex = storage.firstIndex();
    const lastIndex = storage.lastIndex();
    this.unstable = new UnstableLog(lastIndex + 1);
    this.committed = firstIndex - 1;
    this.applied = firstIndex - 1;
  }

  /**
   * Appends entries from a leader's AppendEntries if (index, logTerm) matches our log. Returns the new
   * last index covered by the message, or undefined when the log does not match.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNewIndex = index + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new Error(`entry ${conflict} conflicts with committed entry (committed ${this.committed})`);
      }
      this.append(ents.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNewIndex));
    return lastNewIndex;
  }

  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0].index - 1;
    if (after < this.committed) {
      throw new Error(`appending after ${after} is out of range: committed ${this.committed}`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry in `ents` that is missing from our log or has a different term; 0 if
   * all of them are already present.
   */
  findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term (0 when unknown, e.g.
   * compacted). Used on both sides of the fast back-off after a rejected AppendEntries.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (; index > 0; index--) {
      let ourTerm: number;
      try {
        ourTerm = this.term(index);
      } catch (err) {
        if (isRaftError(err)) return { index, term: 0 };
        throw err;
      }
      if (ourTerm <= term) return { index, term: ourTerm };
    }
    return { index: 0, term: 0 };
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries;
  }

  /** Committed entries not yet applied (bounded by maxNextEntsSize). */
  nextEnts(): Entry[] {
    const off = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 > off) return this.slice(off, this.committed + 1, this.maxNextEntsSize);
    return [];
  }

  hasNextEnts(): boolean {
    return this.committed + 1 > Math.max(this.applied + 1, this.firstIndex());
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  commitTo(toCommit: number): void {
    if (this.committed >= toCommit) return; // never decrease the commit index
    if (this.lastIndex() < toCommit) {
      throw new Error(`commit ${toCommit} is out of range [last index ${this.lastIndex()}]`);
    }
    this.committed = toCommit;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    if (this.committed < index || index < this.applied) {
      throw new Error(
        `applied ${index} is out of range [prev applied ${this.applied}, committed ${this.committed}]`,
      );
    }
    this.applied = index;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /**
   * Term of entry `index`; 0 outside [firstIndex-1, lastIndex]. Throws RaftError(Compacted) if storage
   * no longer has it.
   */
  term(index: number): number {
    const dummyIndex = this.firstIndex() - 1;
    if (index < dummyIndex || index > this.lastIndex()) return 0;
    const t = this.unstable.maybeTerm(index);
    if (t !== undefined) return t;
    return this.storage.term(index);
  }

  /** term(), but 0 for a compacted index (which can never equal a live term we compare against). */
  termOrZero(index: number): number {
    try {
      return this.term(index);
    } catch (err) {
      if (isRaftError(err, RaftErrorCode.Compacted)) return 0;
      throw err;
    }
  }

  /** Entries from `index` to the end, at most maxSize bytes (but at least one). */
  entries(index: number, maxSize: number): Entry[] {
    if (index > this.lastIndex()) return [];
    return this.slice(index, this.lastIndex() + 1, maxSize);
  }

  /** The whole log (test helper; the first index must not be compacted). */
  allEntries(): Entry[] {
    return this.entries(this.firstIndex(), NO_LIMIT);
  }

  /** Raft §5.4.1: is a candidate's log (lastIndex, term) at least as up to date as ours? */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  matchTerm(index: number, term: number): boolean {
    try {
      return this.term(index) === term;
    } catch (err) {
      if (isRaftError(err)) return false;
      throw err;
    }
  }

  /** Commits up to maxIndex if that entry is from `term` (Raft §5.4.2: only current-term entries by counting). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOrZero(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(snap: Snapshot): void {
    this.committed = snap.metadata.index;
    this.unstable.restore(snap);
  }

  /** Entries in [lo, hi), at most maxSize bytes (at least one). Throws RaftError(Compacted) below firstIndex. */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    this.checkOutOfBounds(lo, hi);
    if (lo === hi) return [];
    let ents: Entry[] = [];
    const unstableOffset = this.unstable.offset;
    if (lo < unstableOffset) {
      const storedHi = Math.min(hi, unstableOffset);
      let stored: Entry[];
      try {
        stored = this.storage.entries(lo, storedHi, maxSize);
      } catch (err) {
        if (isRaftError(err, RaftErrorCode.Unavailable)) {
          throw new Error(`entries[${lo}:${storedHi}) is unavailable from storage`, { cause: err });
        }
        throw err;
      }
      // Storage already applied the size limit.
      if (stored.length < storedHi - lo) return stored;
      ents = stored;
    }
    if (hi > unstableOffset) {
      const fresh = this.unstable.slice(Math.max(lo, unstableOffset), hi);
      ents = ents.length > 0 ? ents.concat(fresh) : fresh;
    }
    return limitSize(ents, maxSize);
  }

  private checkOutOfBounds(lo: number, hi: number): void {
    if (lo > hi) throw new Error(`invalid slice ${lo} > ${hi}`);
    const first = this.firstIndex();
    if (lo < first) throw new RaftError(RaftErrorCode.Compacted, `slice from ${lo} < first index ${first}`);
    const length = this.lastIndex() + 1 - first;
    if (hi > first + length)
      throw new Error(`slice[${lo},${hi}) out of bound [${first},${this.lastIndex()}]`);
  }
}
