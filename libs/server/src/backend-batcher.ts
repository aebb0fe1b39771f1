// How applied writes reach LevelDB, the way etcd's backend commits its batch transaction: every apply stages
// into one open batch, which is written when it has been open for `intervalMs` or holds `limit` operations
// (etcd's --backend-batch-interval / --backend-batch-limit). Durability does not depend on it: an entry is in
// the fsynced WAL before it is applied, and a restart re-applies everything after the consistent index the
// last written batch recorded. What it saves is a LevelDB write (and two thread hand-offs) per apply when
// requests arrive one at a time.
import type { Backend, BackendBatch } from '@cairn/storage';

export interface BackendBatcherOptions {
  /** Longest time a staged write waits for its batch to be written; 0 writes after every apply. */
  intervalMs: number;
  /** Operations that make a batch be written at once. */
  limit: number;
  /** A batch was written in this many seconds. */
  observe?: (seconds: number) => void;
  /** A write failed: the member must stop, as on a WAL failure (no later batch is written after a gap). */
  onFailed(err: unknown): void;
}

export class BackendBatcher {
  private open: BackendBatch | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The last write handed to LevelDB: resolves once it (and every earlier one) is written. */
  private written: Promise<void> = Promise.resolve();
  private inFlight = 0;

  constructor(
    private readonly backend: () => Backend,
    private readonly options: BackendBatcherOptions,
  ) {}

  /** The batch the next apply stages into (the open one, or a new one on the current backend). */
  batch(): BackendBatch {
    this.open ??= this.backend().batch();
    return this.open;
  }

  /** Batches handed to LevelDB and not written yet (an apply slows down when the disk falls behind). */
  get pendingWrites(): number {
    return this.inFlight;
  }

  /** An apply finished staging: write the batch now if it is full, else within the interval. */
  staged(): void {
    const open = this.open;
    if (open === undefined) return;
    if (open.length >= this.options.limit || this.options.intervalMs <= 0) {
      void this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.options.intervalMs);
      this.timer.unref();
    }
  }

  /** Writes the open batch now; resolves once it and every earlier batch are in LevelDB. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.open;
    this.open = undefined;
    if (batch !== undefined) {
      this.inFlight++;
      const write = this.written.then(async () => {
        const started = process.hrtime.bigint();
        await batch.write({ sync: false });
        this.options.observe?.(Number(process.hrtime.bigint() - started) / 1e9);
      });
      this.written = write;
      write.then(
        () => this.inFlight--,
        (err: unknown) => {
          this.inFlight--;
          this.options.onFailed(err);
        },
      );
    }
    return this.written;
  }
}
