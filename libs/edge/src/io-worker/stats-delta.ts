// The I/O worker counts its edge events in an EdgeStats of its own; the main thread's (which /metrics reads)
// hears them as deltas and adds them in.
import { EdgeStats } from '../edge-stats';
import type { StatsChanges } from './worker-messages';

type Counters = Record<string, number | Record<string, number>>;

/** What moved in `now` since `before`; undefined when nothing did. */
export function statsDelta(
  now: EdgeStats,
  before: EdgeStats,
): { changes: StatsChanges; snapshot: EdgeStats } | undefined {
  const changes: StatsChanges = {};
  let moved = false;
  const current = now as unknown as Counters;
  const previous = before as unknown as Counters;
  for (const key of Object.keys(current)) {
    const value = current[key];
    const old = previous[key];
    if (typeof value === 'number') {
      const d = value - (old as number);
      if (d !== 0) {
        changes[key] = d;
        moved = true;
      }
    } else {
      const group: Record<string, number> = {};
      let groupMoved = false;
      for (const name of Object.keys(value)) {
        const d = value[name] - (old as Record<string, number>)[name];
        if (d !== 0) {
          group[name] = d;
          groupMoved = true;
        }
      }
      if (groupMoved) {
        changes[key] = group;
        moved = true;
      }
    }
  }
  return moved ? { changes, snapshot: copyOf(now) } : undefined;
}

/** Adds the worker's deltas into the main thread's counters. */
export function applyStatsDelta(stats: EdgeStats, changes: StatsChanges): void {
  const target = stats as unknown as Counters;
  for (const [key, change] of Object.entries(changes)) {
    const value = target[key];
    if (typeof change === 'number' && typeof value === 'number') target[key] = value + change;
    else if (typeof change === 'object' && typeof value === 'object') {
      for (const [name, d] of Object.entries(change)) value[name] = (value[name] ?? 0) + d;
    }
  }
}

function copyOf(stats: EdgeStats): EdgeStats {
  const copy = new EdgeStats();
  applyStatsDelta(copy, stats as unknown as StatsChanges);
  return copy;
}

/** `stats` whose every counter change (top-level or in a group) calls `changed`. */
export function markingChanges(stats: EdgeStats, changed: () => void): EdgeStats {
  const groups = new Map<object, object>();
  const marking = <T extends object>(target: T): T =>
    new Proxy(target, {
      set(t, key, value) {
        Reflect.set(t, key, value);
        changed();
        return true;
      },
      get(t, key, receiver) {
        const value: unknown = Reflect.get(t, key, receiver);
        if (typeof value !== 'object' || value === null) return value;
        let group = groups.get(value);
        if (group === undefined) groups.set(value, (group = marking(value)));
        return group;
      },
    });
  return marking(stats);
}
