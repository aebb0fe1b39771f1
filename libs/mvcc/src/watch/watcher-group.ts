// Finds the watchers interested in a key, cheaply even with thousands of watchers: single-key
// watchers in a map by key, prefix watchers in a map by prefix (an event key of length L probes only
// the prefix lengths in use), and the rare arbitrary ranges in a list.
import { prefixEnd } from '@cairn/api';
import type { Watcher } from './watcher';

export class WatcherGroup {
  private readonly byKey = new Map<string, Set<Watcher>>();
  private readonly byPrefix = new Map<string, Set<Watcher>>();
  /** prefix length -> number of prefixes of that length in byPrefix. */
  private readonly prefixLengths = new Map<number, number>();
  private readonly ranges = new Set<Watcher>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(watcher: Watcher): void {
    const range = watcher.range;
    this.count++;
    if (range.kind === 'single') {
      addTo(this.byKey, range.id, watcher);
      return;
    }
    const prefix = prefixOf(range.start, range.end);
    if (prefix !== undefined) {
      if (addTo(this.byPrefix, prefix, watcher)) {
        this.prefixLengths.set(prefix.length, (this.prefixLengths.get(prefix.length) ?? 0) + 1);
      }
      return;
    }
    this.ranges.add(watcher);
  }

  delete(watcher: Watcher): boolean {
    const range = watcher.range;
    let removed: boolean;
    if (range.kind === 'single') {
      removed = deleteFrom(this.byKey, range.id, watcher) !== 'absent';
    } else {
      const prefix = prefixOf(range.start, range.end);
      if (prefix !== undefined) {
        const outcome = deleteFrom(this.byPrefix, prefix, watcher);
        removed = outcome !== 'absent';
        if (outcome === 'emptied') {
          const left = (this.prefixLengths.get(prefix.length) ?? 1) - 1;
          if (left === 0) this.prefixLengths.delete(prefix.length);
          else this.prefixLengths.set(prefix.length, left);
        }
      } else {
        removed = this.ranges.delete(watcher);
      }
    }
    if (removed) this.count--;
    return removed;
  }

  /** Call `visit` once for every watcher whose range contains the key `id` (latin1 form). */
  forEachMatch(id: string, visit: (watcher: Watcher) => void): void {
    const exact = this.byKey.get(id);
    if (exact) for (const watcher of exact) visit(watcher);
    for (const length of this.prefixLengths.keys()) {
      if (length > id.length) continue;
      const watchers = this.byPrefix.get(length === id.length ? id : id.slice(0, length));
      if (watchers) for (const watcher of watchers) visit(watcher);
    }
    for (const watcher of this.ranges) {
      const range = watcher.range;
      if (range.kind === 'range' && id >= range.start && (range.end === undefined || id < range.end))
        visit(watcher);
    }
  }

  /** Whether some watcher's range contains the key `id` (latin1 form). */
  matchesAny(id: string): boolean {
    if (this.count === 0) return false;
    if (this.byKey.has(id)) return true;
    for (const length of this.prefixLengths.keys()) {
      if (length > id.length) continue;
      if (this.byPrefix.has(length === id.length ? id : id.slice(0, length))) return true;
    }
    for (const watcher of this.ranges) {
      const range = watcher.range;
      if (range.kind === 'range' && id >= range.start && (range.end === undefined || id < range.end))
        return true;
    }
    return false;
  }

  /**
   * Call `visit` once per set of watchers whose range contains the key `id`: the watchers of one exact key or
   * one prefix come as their set (a fan-out matches an event once per set, not once per watcher), the rare
   * arbitrary ranges one by one. Every matching watcher is in exactly one visited set.
   */
  forEachMatchSet(id: string, visit: (watchers: ReadonlySet<Watcher> | Watcher) => void): void {
    const exact = this.byKey.get(id);
    if (exact) visit(exact);
    for (const length of this.prefixLengths.keys()) {
      if (length > id.length) continue;
      const watchers = this.byPrefix.get(length === id.length ? id : id.slice(0, length));
      if (watchers) visit(watchers);
    }
    for (const watcher of this.ranges) {
      const range = watcher.range;
      if (range.kind === 'range' && id >= range.start && (range.end === undefined || id < range.end))
        visit(watcher);
    }
  }

  *all(): Generator<Watcher> {
    for (const set of this.byKey.values()) yield* set;
    for (const set of this.byPrefix.values()) yield* set;
    yield* this.ranges;
  }
}

/** The prefix p when [start, end) is exactly "keys starting with p" (p non-empty), else undefined. */
function prefixOf(start: string, end: string | undefined): string | undefined {
  if (start.length === 0 || end === undefined) return undefined;
  const expected = prefixEnd(Buffer.from(start, 'latin1')).toString('latin1');
  return expected === end ? start : undefined;
}

function addTo(map: Map<string, Set<Watcher>>, id: string, watcher: Watcher): boolean {
  let set = map.get(id);
  const created = !set;
  if (!set) {
    set = new Set();
    map.set(id, set);
  }
  set.add(watcher);
  return created;
}

function deleteFrom(
  map: Map<string, Set<Watcher>>,
  id: string,
  watcher: Watcher,
): 'absent' | 'removed' | 'emptied' {
  const set = map.get(id);
  if (!set || !set.delete(watcher)) return 'absent';
  if (set.size > 0) return 'removed';
  map.delete(id);
  return 'emptied';
}
