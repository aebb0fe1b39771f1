// Prepares the next segment file in the background, like etcd's file pipeline: a file preallocated by
// writing zeros, so that appends overwrite allocated blocks and fdatasync has no block allocation or
// file size to journal (measured 1.3-5x more records/s than appending to a growing file; README, Measurements).
// The zero-fill runs on the libuv threadpool while the current segment fills up, so a cut does not stall.
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';

const FILL_CHUNK = Buffer.alloc(1024 * 1024);

/** Creates `path` (truncating it) and, if `preallocate`, fills it with `size` zero bytes, fsynced. */
export async function createSegmentFile(path: string, size: number, preallocate: boolean): Promise<void> {
  const handle = await open(path, 'w');
  try {
    if (preallocate) {
      for (let at = 0; at < size; at += FILL_CHUNK.length) {
        await handle.write(FILL_CHUNK, 0, Math.min(FILL_CHUNK.length, size - at), at);
      }
      await handle.datasync();
    }
  } finally {
    await handle.close();
  }
}

export class SegmentPipeline {
  private pending: Promise<string> | undefined;
  private counter = 0;

  constructor(
    private readonly dir: string,
    private readonly size: number,
    private readonly preallocate: boolean,
  ) {}

  /** Starts preparing the next file unless one is already prepared or on its way. */
  start(): void {
    if (this.pending) return;
    const path = join(this.dir, `segment-${this.counter++ % 2}.tmp`);
    const p = createSegmentFile(path, this.size, this.preallocate).then(() => path);
    p.catch(() => undefined); // surfaced by take(); do not let it count as unhandled meanwhile
    this.pending = p;
  }

  /** The prepared file's path (the caller renames it away). */
  async take(): Promise<string> {
    this.start();
    const p = this.pending as Promise<string>;
    this.pending = undefined;
    return p;
  }

  /** Waits for a preparation in flight and deletes the unused file. */
  async close(): Promise<void> {
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    const path = await p.catch(() => undefined);
    if (path) await rm(path, { force: true });
  }
}
