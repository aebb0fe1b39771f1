// Every revision of one key, split into generations: a generation runs from the put that created
// the key to the tombstone that deleted it (the tombstone is the generation's last revision). The
// last generation is the live one; it is empty while the key is deleted.
import { compareRevisions, type Revision, revisionId } from './revision';
import type { KeyValue } from './key-value';

export interface Generation {
  /** Main revision that created the key in this generation. */
  created: number;
  /** Number of puts in this generation (the key's version after its last put). */
  version: number;
  revs: Revision[];
}

export interface IndexedRevision {
  modified: Revision;
  created: number;
  version: number;
}

/** Shared by every KeyIndex before its first revision (never mutated: revisions are replaced). */
const NO_REVISION: Revision = Object.freeze({ main: 0, sub: 0 });

export class KeyIndex {
  modified: Revision = NO_REVISION;
  generations: Generation[] = [];
  /** The key's live version at the store's current revision (undefined while deleted). */
  latest: KeyValue | undefined;

  constructor(
    readonly key: Buffer,
    /** latin1 form of key, the ordering id in the key space. */
    readonly id: string,
  ) {}

  /** Record a put at `rev`, which must be newer than every revision already recorded. */
  put(rev: Revision): void {
    if (compareRevisions(rev, this.modified) <= 0) {
      throw new Error(
        `keyIndex ${JSON.stringify(this.id)}: put ${revisionId(rev)} not after ${revisionId(this.modified)}`,
      );
    }
    const last = this.generations.length - 1;
    if (last < 0 || this.generations[last].revs.length === 0) {
      // Array literals of the exact size: a first push() would reserve 16 slots, and most keys hold
      // one revision in one generation (about 250 bytes per key saved).
      const generation: Generation = { created: rev.main, version: 1, revs: [rev] };
      if (last < 0) this.generations = [generation];
      else this.generations[last] = generation;
    } else {
      const generation = this.generations[last];
      generation.revs.push(rev);
      generation.version++;
    }
    this.modified = rev;
  }

  /** Start the index of a key from its oldest surviving revision (rebuilding after compaction). */
  restore(created: number, modified: Revision, version: number): void {
    const generation: Generation = { created, version, revs: [modified] };
    if (this.generations.length === 0) this.generations = [generation];
    else this.generations.push(generation);
    this.modified = modified;
  }

  /** Record a delete at `rev`: it ends the live generation and opens an empty one. */
  tombstone(rev: Revision): void {
    const last = this.generations[this.generations.length - 1];
    if (!last || last.revs.length === 0) {
      throw new Error(`keyIndex ${JSON.stringify(this.id)}: tombstone of a key that is not live`);
    }
    this.put(rev);
    this.generations.push({ created: 0, version: 0, revs: [] });
  }

  /** The key's revision visible at `atRev` (its latest revision with main <= atRev), if live then. */
  get(atRev: number): IndexedRevision | undefined {
    const generation = this.findGeneration(atRev);
    if (!generation) return undefined;
    for (let n = generation.revs.length - 1; n >= 0; n--) {
      const rev = generation.revs[n];
      if (rev.main <= atRev) {
        return {
          modified: rev,
          created: generation.created,
          version: generation.version - (generation.revs.length - n - 1),
        };
      }
    }
    return undefined;
  }

  isEmpty(): boolean {
    return (
      this.generations.length === 0 ||
      (this.generations.length === 1 && this.generations[0].revs.length === 0)
    );
  }

  /**
   * Drop revisions made obsolete by compacting at `atRev`: keep the newest revision <= atRev of the
   * generation alive at atRev (unless it is a tombstone) and everything newer. The kept revisions
   * <= atRev are added to `available`.
   */
  compact(atRev: number, available: Set<string>): void {
    if (this.isEmpty()) return;
    const { genIndex, revIndex } = this.findCompactionPoint(atRev, available);
    let first = genIndex;
    const generation = this.generations[genIndex];
    if (generation.revs.length > 0) {
      if (revIndex !== -1) generation.revs = generation.revs.slice(revIndex);
      // A generation reduced to its tombstone is history nobody can read any more.
      if (generation.revs.length === 1 && genIndex !== this.generations.length - 1) {
        available.delete(revisionId(generation.revs[0]));
        first++;
      }
    }
    this.generations = this.generations.slice(first);
  }

  /** What compact(atRev) would keep, without changing anything (for hashKV). */
  keep(atRev: number, available: Set<string>): void {
    if (this.isEmpty()) return;
    const { genIndex, revIndex } = this.findCompactionPoint(atRev, available);
    const generation = this.generations[genIndex];
    if (
      generation.revs.length > 0 &&
      revIndex === generation.revs.length - 1 &&
      genIndex !== this.generations.length - 1
    ) {
      available.delete(revisionId(generation.revs[revIndex]));
    }
  }

  private findCompactionPoint(atRev: number, available: Set<string>): { genIndex: number; revIndex: number } {
    // The first generation that is alive at atRev or created after it.
    let genIndex = 0;
    while (genIndex < this.generations.length - 1) {
      const revs = this.generations[genIndex].revs;
      if (revs[revs.length - 1].main >= atRev) break;
      genIndex++;
    }
    const revs = this.generations[genIndex].revs;
    for (let n = revs.length - 1; n >= 0; n--) {
      if (revs[n].main <= atRev) {
        available.add(revisionId(revs[n]));
        return { genIndex, revIndex: n };
      }
    }
    return { genIndex, revIndex: -1 };
  }

  private findGeneration(atRev: number): Generation | undefined {
    const last = this.generations.length - 1;
    for (let g = last; g >= 0; g--) {
      const generation = this.generations[g];
      if (generation.revs.length === 0) continue;
      // A closed generation whose tombstone is at or before atRev: the key was deleted then.
      if (g !== last && generation.revs[generation.revs.length - 1].main <= atRev) return undefined;
      if (generation.revs[0].main <= atRev) return generation;
    }
    return undefined;
  }
}
