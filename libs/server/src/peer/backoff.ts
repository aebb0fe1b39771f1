// Exponential back-off for redialling a peer: each failure doubles the wait up to a cap, with jitter so that
// members restarted together do not redial in lock-step; a successful connection starts over.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export class Backoff {
  private currentMs: number;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError(
        `dial back-off needs 0 < initialMs <= maxMs, got ${options.initialMs}/${options.maxMs}`,
      );
    }
    this.currentMs = options.initialMs;
  }

  /** The wait before the next attempt: between half and all of the current step. */
  next(): number {
    const step = this.currentMs;
    this.currentMs = Math.min(this.currentMs * 2, this.options.maxMs);
    return Math.round(step / 2 + (this.random() * step) / 2);
  }

  reset(): void {
    this.currentMs = this.options.initialMs;
  }
}
