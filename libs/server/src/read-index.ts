// Linearizable reads without going through the log (Raft thesis §6.4): ask Raft for a read index, wait until
// this member has applied up to it, then read locally. Reads that arrive while a round is in flight wait for
// the next round, and one round confirms every read queued behind it (batching).
import type { ReadState } from '@cairn/raft';

interface PendingRead {
  resolve(): void;
  reject(err: unknown): void;
}

interface Round {
  ctx: string;
  reads: PendingRead[];
  startedAt: number;
  retryTimer?: NodeJS.Timeout;
}

export interface ReadIndexOptions {
  /** Ask Raft for a read index with this context (throws when there is no leader). */
  requestReadIndex(ctx: Uint8Array): void;
  appliedIndex(): number;
  /** Re-ask when no answer came (a lost message, a leader change). */
  retryIntervalMs: number;
  /** Fail reads that have waited this long. */
  timeoutMs: number;
  timeoutError(): Error;
  now(): number;
}

export class ReadIndexBatcher {
  private queued: PendingRead[] = [];
  private round?: Round;
  private readonly awaitingApply: { index: number; reads: PendingRead[]; timer: NodeJS.Timeout }[] = [];
  private nextCtx = 1n;
  private closed = false;

  constructor(private readonly opts: ReadIndexOptions) {}

  /** Resolves when a linearizable read may be served from local state. */
  waitReadable(): Promise<void> {
    if (this.closed) return Promise.reject(this.opts.timeoutError());
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ resolve, reject });
      if (!this.round) this.startRound();
    });
  }

  onReadStates(states: ReadState[]): void {
    const round = this.round;
    if (!round) return;
    for (const state of states) {
      if (Buffer.from(state.requestCtx).toString('hex') !== round.ctx) continue;
      clearTimeout(round.retryTimer);
      this.round = undefined;
      if (this.opts.appliedIndex() >= state.index) {
        for (const read of round.reads) read.resolve();
      } else {
        // A stalled apply must not hang reads forever: they fail with the timeout error like any other wait.
        const group = {
          index: state.index,
          reads: round.reads,
          timer: setTimeout(() => {
            const at = this.awaitingApply.indexOf(group);
            if (at >= 0) this.awaitingApply.splice(at, 1);
            const err = this.opts.timeoutError();
            for (const read of group.reads) read.reject(err);
          }, this.opts.timeoutMs),
        };
        this.awaitingApply.push(group);
      }
      this.startRound();
      return;
    }
  }

  onApplied(applied: number): void {
    while (this.awaitingApply.length > 0 && this.awaitingApply[0].index <= applied) {
      const group = this.awaitingApply.shift()!;
      clearTimeout(group.timer);
      for (const read of group.reads) read.resolve();
    }
  }

  close(err: Error): void {
    this.closed = true;
    if (this.round) {
      clearTimeout(this.round.retryTimer);
      for (const read of this.round.reads) read.reject(err);
      this.round = undefined;
    }
    for (const read of this.queued) read.reject(err);
    this.queued = [];
    for (const group of this.awaitingApply.splice(0)) {
      clearTimeout(group.timer);
      for (const read of group.reads) read.reject(err);
    }
  }

  private startRound(): void {
    if (this.queued.length === 0 || this.closed) return;
    const ctxBytes = Buffer.alloc(8);
    ctxBytes.writeBigUInt64BE(this.nextCtx++);
    this.round = { ctx: ctxBytes.toString('hex'), reads: this.queued, startedAt: this.opts.now() };
    this.queued = [];
    this.ask(this.round, ctxBytes);
  }

  private ask(round: Round, ctxBytes: Buffer): void {
    try {
      this.opts.requestReadIndex(ctxBytes);
    } catch {
      // No leader right now: keep the reads and ask again after the retry interval.
    }
    round.retryTimer = setTimeout(() => {
      if (this.round !== round) return;
      if (this.opts.now() - round.startedAt >= this.opts.timeoutMs) {
        this.round = undefined;
        const err = this.opts.timeoutError();
        for (const read of round.reads) read.reject(err);
        this.startRound();
        return;
      }
      this.ask(round, ctxBytes);
    }, this.opts.retryIntervalMs);
  }
}
