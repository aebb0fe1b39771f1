// The run's event log. Off during normal runs (formatting every message would cost more than the run);
// a failing seed is replayed with it on, which is exact because runs are deterministic.
import { EntryType, describeEntry, type Entry } from '../../src';

/** describeEntry plus the client payload, so a trace line says which write it is. */
export function entryLabel(entry: Entry): string {
  const base = describeEntry(entry);
  if (entry.type !== EntryType.Normal || entry.data.length === 0) return base;
  return `${base} "${Buffer.from(entry.data).toString('utf8')}"`;
}

export class SimTrace {
  /** The simulated clock, stamped on every line. */
  tick = 0;
  private readonly lines: string[] = [];

  constructor(readonly enabled: boolean) {}

  /** `text` is only called when tracing is on, so callers can format freely. */
  record(text: () => string): void {
    if (this.enabled) this.lines.push(`[t${this.tick}] ${text()}`);
  }

  all(): readonly string[] {
    return this.lines;
  }

  /** The ring buffer printed with a failure: the last `count` events. */
  tail(count: number): string[] {
    return this.lines.slice(Math.max(0, this.lines.length - count));
  }
}
