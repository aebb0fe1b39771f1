// The in-memory index of every key that has history: key -> KeyIndex (generations of revisions),
// ordered for range scans. Values live in the backend (StoreState.latest reads a live one back).
import { KeyIndex, type IndexedRevision } from './key-index';
import type { KeyRange } from './key-range';
import { SortedKeyMap } from './sorted-key-map';

export class KeySpace {
  private readonly keys = new SortedKeyMap<KeyIndex>();

  /** Number of keys with history (live or deleted-but-not-compacted). */
  get size(): number {
    return this.keys.size;
  }

  get(id: string): KeyIndex | undefined {
    return this.keys.get(id);
  }

  getOrCreate(id: string): KeyIndex {
    let index = this.keys.get(id);
    if (!index) {
      index = new KeyIndex(id);
      this.keys.insert(index);
    }
    return index;
  }

  /** Key indexes within `range`, in key order. */
  *indexes(range: KeyRange): Generator<KeyIndex> {
    if (range.kind === 'single') {
      const index = this.keys.get(range.id);
      if (index) yield index;
      return;
    }
    yield* this.keys.range(range.start, range.end);
  }

  /** Key indexes of keys live now, in key order. */
  *live(range: KeyRange): Generator<KeyIndex> {
    for (const index of this.indexes(range)) if (index.live) yield index;
  }

  /** Keys live at `atRev` with the revision visible then, in key order. */
  *at(range: KeyRange, atRev: number): Generator<{ index: KeyIndex; found: IndexedRevision }> {
    for (const index of this.indexes(range)) {
      const found = index.get(atRev);
      if (found) yield { index, found };
    }
  }

  /** Compact every key at `atRev`; returns the revisions <= atRev that must stay on disk. */
  compact(atRev: number): Set<string> {
    const available = new Set<string>();
    const emptied: string[] = [];
    for (const index of this.keys.values()) {
      index.compact(atRev, available);
      if (index.isEmpty()) emptied.push(index.id);
    }
    for (const id of emptied) this.keys.delete(id);
    return available;
  }

  /** The revisions <= atRev a compaction at atRev would keep (for hashKV). */
  keep(atRev: number): Set<string> {
    const available = new Set<string>();
    for (const index of this.keys.values()) index.keep(atRev, available);
    return available;
  }
}
