// etcd's --auto-compaction-mode/--auto-compaction-retention, run by the leader:
// - periodic: keep `retention` of history (a duration, or hours as a bare number); the revision is sampled
//   every retention/10 and the store is compacted to the newest sample at least `retention` old;
// - revision: keep the last `retention` revisions, compacting every 5 minutes (etcd's interval).
import type { AutoCompactionMode } from './config';

export interface AutoCompactorOptions {
  mode: AutoCompactionMode;
  retention: string;
  currentRevision(): number;
  compactRevision(): number;
  isLeader(): boolean;
  compact(revision: number): Promise<unknown>;
  now(): number;
  /** Revision mode's check interval (etcd: 5 minutes). */
  revisionIntervalMs?: number;
}

export class AutoCompactorError extends Error {}

/** Parses etcd's retention: '0' = off, '5' = 5 hours (periodic), or a Go-style duration like '1h30m', '10s'. */
export function parseRetentionMs(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 3_600_000;
  const ms = parseGoDurationMs(trimmed);
  if (ms === undefined) throw new AutoCompactorError(`invalid auto-compaction retention "${text}"`);
  return ms;
}

/** A Go-style duration ('100ms', '10s', '1h30m'; '0' alone) in milliseconds, or undefined if it is not one. */
export function parseGoDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  while (rest.length > 0) {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * units[match[2]];
    rest = rest.slice(match[0].length);
  }
  return text === '' ? undefined : total;
}

export class AutoCompactor {
  private timer?: NodeJS.Timeout;
  private readonly samples: { at: number; revision: number }[] = [];
  private compacting = false;

  constructor(private readonly opts: AutoCompactorOptions) {}

  /** Starts the timer; does nothing when retention is 0. */
  start(): void {
    const interval = this.intervalMs();
    if (interval === undefined) return;
    this.timer = setInterval(() => void this.tick(), interval);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private intervalMs(): number | undefined {
    if (this.opts.mode === 'revision') {
      const keep = Number(this.opts.retention);
      if (!Number.isSafeInteger(keep) || keep < 0) {
        throw new AutoCompactorError(
          `invalid auto-compaction retention "${this.opts.retention}" for revision mode`,
        );
      }
      return keep === 0 ? undefined : (this.opts.revisionIntervalMs ?? 5 * 60_000);
    }
    const retentionMs = parseRetentionMs(this.opts.retention);
    return retentionMs === 0 ? undefined : Math.max(10, retentionMs / 10);
  }

  /** One check; exposed for tests. */
  async tick(): Promise<void> {
    const now = this.opts.now();
    const current = this.opts.currentRevision();
    this.samples.push({ at: now, revision: current });
    const target = this.targetRevision(now, current);
    if (target === undefined || this.compacting || !this.opts.isLeader()) return;
    if (target <= this.opts.compactRevision()) return;
    this.compacting = true;
    try {
      await this.opts.compact(target);
    } catch {
      // Lost leadership or an election under way: the next tick tries again.
    } finally {
      this.compacting = false;
    }
  }

  private targetRevision(now: number, current: number): number | undefined {
    if (this.opts.mode === 'revision') {
      const target = current - Number(this.opts.retention);
      return target > 0 ? target : undefined;
    }
    const retentionMs = parseRetentionMs(this.opts.retention);
    let chosen: number | undefined;
    while (this.samples.length > 0 && now - this.samples[0].at >= retentionMs) {
      chosen = this.samples.shift()!.revision;
    }
    return chosen !== undefined && chosen > 0 ? chosen : undefined;
  }
}
