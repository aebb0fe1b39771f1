// Every revision of one key, split into generations: a generation runs from the put that created
// the key to the tombstone that deleted it (the tombstone is the generation's last revision). The
// last generation is the live one; it is empty while the key is deleted. As in etcd, the index keeps
// revisions, not values: a live value is read back from the backend (or the small hot-value cache).
import { compareRevisions, type Revision, revisionId } from './revision';

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

const NO_GENERATIONS: readonly Generation[] = Object.freeze([]);

/** What few keys carry: a cached live value (hot-values.ts) or history beyond one live revision. */
interface Rare {
  value: Buffer | undefined;
  full: Generation[] | undefined;
}

export class KeyIndex {
  /** Main and sub revision of the key's newest revision (0 before the first). */
  modMain = 0;
  modSub = 0;
  /** Lease of the live version (0n = none, or while deleted). */
  lease = 0n;
  // Most keys hold one live revision in one generation. That case is kept inline (created and version
  // here, the revision in modMain/modSub; `created` > 0 marks it) instead of as arrays of generation and
  // revision objects; `rare.full` holds the generations of every other key. The cached value and the
  // generations sit in a second object that most keys lack: a million keys of one revision each are a
  // million objects of 7 fields (80 bytes), not 9 (96 bytes).
  private created = 0;
  private singleVersion = 0;
  private rare: Rare | undefined = undefined;

  constructor(
    /** latin1 form of the key (one char per byte): the ordering id in the key space, and the only copy. */
    readonly id: string,
  ) {}

  /** The live version's value while the store's hot-value cache holds it (hot-values.ts). */
  get value(): Buffer | undefined {
    return this.rare?.value;
  }

  set value(value: Buffer | undefined) {
    if (value !== undefined) (this.rare ??= { value: undefined, full: undefined }).value = value;
    else if (this.rare) this.setRare(undefined, this.rare.full);
  }

  private get full(): Generation[] | undefined {
    return this.rare?.full;
  }

  private set full(full: Generation[] | undefined) {
    this.setRare(this.rare?.value, full);
  }

  /** Whether the key is held inline (one live revision in one generation). */
  private get single(): boolean {
    return this.created > 0 && this.rare?.full === undefined;
  }

  private setRare(value: Buffer | undefined, full: Generation[] | undefined): void {
    if (value === undefined && full === undefined) this.rare = undefined;
    else if (this.rare) {
      this.rare.value = value;
      this.rare.full = full;
    } else this.rare = { value, full };
  }

  /** The key's bytes (a fresh Buffer: the index keeps the latin1 string only). */
  get key(): Buffer {
    return Buffer.from(this.id, 'latin1');
  }

  /** The newest revision (a fresh object). */
  get modified(): Revision {
    return { main: this.modMain, sub: this.modSub };
  }

  /** Every generation, oldest first (read-only; built afresh while the key is held inline). */
  get generations(): readonly Generation[] {
    if (this.full) return this.full;
    if (!this.single) return NO_GENERATIONS;
    return [{ created: this.created, version: this.singleVersion, revs: [this.modified] }];
  }

  /** Whether the key has a live version at the store's current revision. */
  get live(): boolean {
    if (!this.full) return this.single;
    return this.full[this.full.length - 1].revs.length > 0;
  }

  /** Create revision of the live version (meaningful only while live). */
  get createRevision(): number {
    return this.full ? this.full[this.full.length - 1].created : this.created;
  }

  /** Version of the live version (meaningful only while live). */
  get version(): number {
    return this.full ? this.full[this.full.length - 1].version : this.singleVersion;
  }

  /** Record a put at `rev`, which must be newer than every revision already recorded. */
  put(rev: Revision): void {
    if (compareRevisions(rev, this.modified) <= 0) {
      throw new Error(
        `keyIndex ${JSON.stringify(this.id)}: put ${revisionId(rev)} not after ${revisionId(this.modified)}`,
      );
    }
    if (!this.full && !this.single) {
      this.created = rev.main;
      this.singleVersion = 1;
    } else {
      const generations = this.expand();
      const last = generations.length - 1;
      if (last < 0 || generations[last].revs.length === 0) {
        generations[Math.max(last, 0)] = { created: rev.main, version: 1, revs: [rev] };
      } else {
        generations[last].revs.push(rev);
        generations[last].version++;
      }
    }
    this.modMain = rev.main;
    this.modSub = rev.sub;
    this.shrink();
  }

  /** Start the index of a key from its oldest surviving revision (rebuilding after compaction). */
  restore(created: number, modified: Revision, version: number): void {
    if (!this.full && !this.single) {
      this.created = created;
      this.singleVersion = version;
    } else {
      this.expand().push({ created, version, revs: [modified] });
    }
    this.modMain = modified.main;
    this.modSub = modified.sub;
  }

  /** Record a delete at `rev`: it ends the live generation and opens an empty one. */
  tombstone(rev: Revision): void {
    if (!this.live) {
      throw new Error(`keyIndex ${JSON.stringify(this.id)}: tombstone of a key that is not live`);
    }
    this.put(rev);
    this.expand().push({ created: 0, version: 0, revs: [] });
  }

  /** The key's revision visible at `atRev` (its latest revision with main <= atRev), if live then. */
  get(atRev: number): IndexedRevision | undefined {
    if (!this.full) {
      if (!this.single || this.modMain > atRev) return undefined;
      return { modified: this.modified, created: this.created, version: this.singleVersion };
    }
    const generation = this.findGeneration(this.full, atRev);
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
    if (!this.full) return !this.single;
    return this.full.length === 0 || (this.full.length === 1 && this.full[0].revs.length === 0);
  }

  /**
   * Drop revisions made obsolete by compacting at `atRev`: keep the newest revision <= atRev of the
   * generation alive at atRev (unless it is a tombstone) and everything newer. The kept revisions
   * <= atRev are added to `available`.
   */
  compact(atRev: number, available: Set<string>): void {
    if (this.isEmpty()) return;
    if (!this.full) {
      // One live revision: it stays, and is needed on disk if it is at or below atRev.
      if (this.modMain <= atRev) available.add(revisionId(this.modified));
      return;
    }
    const generations = this.full;
    const { genIndex, revIndex } = this.findCompactionPoint(generations, atRev, available);
    let first = genIndex;
    const generation = generations[genIndex];
    if (generation.revs.length > 0) {
      if (revIndex !== -1) generation.revs = generation.revs.slice(revIndex);
      // A generation reduced to its tombstone is history nobody can read any more.
      if (generation.revs.length === 1 && genIndex !== generations.length - 1) {
        available.delete(revisionId(generation.revs[0]));
        first++;
      }
    }
    this.full = generations.slice(first);
    this.shrink();
  }

  /** What compact(atRev) would keep, without changing anything (for hashKV). */
  keep(atRev: number, available: Set<string>): void {
    if (this.isEmpty()) return;
    if (!this.full) {
      if (this.modMain <= atRev) available.add(revisionId(this.modified));
      return;
    }
    const generations = this.full;
    const { genIndex, revIndex } = this.findCompactionPoint(generations, atRev, available);
    const generation = generations[genIndex];
    if (
      generation.revs.length > 0 &&
      revIndex === generation.revs.length - 1 &&
      genIndex !== generations.length - 1
    ) {
      available.delete(revisionId(generation.revs[revIndex]));
    }
  }

  /** The generations as arrays, to change them (a key held inline leaves the inline form). */
  private expand(): Generation[] {
    if (!this.full) {
      this.full = [...this.generations];
    }
    return this.full;
  }

  /** Back to the inline form once the key holds one live revision in one generation again. */
  private shrink(): void {
    const generations = this.full;
    if (!generations || generations.length !== 1 || generations[0].revs.length !== 1) return;
    const [only] = generations;
    this.created = only.created;
    this.singleVersion = only.version;
    this.full = undefined;
  }

  private findCompactionPoint(
    generations: Generation[],
    atRev: number,
    available: Set<string>,
  ): { genIndex: number; revIndex: number } {
    // The first generation that is alive at atRev or created after it.
    let genIndex = 0;
    while (genIndex < generations.length - 1) {
      const revs = generations[genIndex].revs;
      if (revs[revs.length - 1].main >= atRev) break;
      genIndex++;
    }
    const revs = generations[genIndex].revs;
    for (let n = revs.length - 1; n >= 0; n--) {
      if (revs[n].main <= atRev) {
        available.add(revisionId(revs[n]));
        return { genIndex, revIndex: n };
      }
    }
    return { genIndex, revIndex: -1 };
  }

  private findGeneration(generations: Generation[], atRev: number): Generation | undefined {
    const last = generations.length - 1;
    for (let g = last; g >= 0; g--) {
      const generation = generations[g];
      if (generation.revs.length === 0) continue;
      // A closed generation whose tombstone is at or before atRev: the key was deleted then.
      if (g !== last && generation.revs[generation.revs.length - 1].main <= atRev) return undefined;
      if (generation.revs[0].main <= atRev) return generation;
    }
    return undefined;
  }
}
