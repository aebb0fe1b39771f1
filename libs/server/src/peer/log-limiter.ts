// Keeps a down peer to one log line per interval per kind of trouble: the rest are counted and the count
// rides along with the next line that is let through.

export class LogLimiter {
  private readonly lastLoggedAt = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  /** Whether a line for `key` may be logged now; if so, how many were held back since the last one. */
  allow(key: string): { allowed: true; suppressed: number } | { allowed: false } {
    const now = this.now();
    const last = this.lastLoggedAt.get(key);
    if (last !== undefined && now - last < this.intervalMs) {
      this.suppressed.set(key, (this.suppressed.get(key) ?? 0) + 1);
      return { allowed: false };
    }
    this.lastLoggedAt.set(key, now);
    const suppressed = this.suppressed.get(key) ?? 0;
    this.suppressed.delete(key);
    return { allowed: true, suppressed };
  }

  /** Forget a key, so that the next line about it (say, after a recovery) is logged at once. */
  reset(key: string): void {
    this.lastLoggedAt.delete(key);
    this.suppressed.delete(key);
  }
}
