// 'key' bucket entries staged into a BackendBatch that has not been written yet. History reads, watch
// catch-up and hashKV consult it so they see every revision up to the current one even while the
// caller's batch is still on its way to LevelDB (like etcd's backend read buffer).
import type { BackendBatch } from '@cairn/storage';

export interface BufferedEntry {
  /** Revision key as stored in the 'key' bucket. */
  key: Buffer;
  value: Buffer;
}

export class ReadBuffer {
  /** Insertion order is revision order: writes are staged in revision order. */
  private readonly entries = new Map<string, BufferedEntry>();
  private readonly tracked = new WeakSet<BackendBatch>();
  private readonly stagedPerBatch = new Map<BackendBatch, string[]>();

  get size(): number {
    return this.entries.size;
  }

  /** Stage a 'key' bucket write into `batch` and keep it readable until the batch is written. */
  stage(batch: BackendBatch, key: Buffer, value: Buffer): void {
    batch.put('key', key, value);
    const id = key.toString('latin1');
    this.entries.set(id, { key, value });
    let ids = this.stagedPerBatch.get(batch);
    if (!ids) {
      ids = [];
      this.stagedPerBatch.set(batch, ids);
    }
    ids.push(id);
    if (!this.tracked.has(batch)) {
      this.tracked.add(batch);
      batch.afterWrite(() => {
        for (const staged of this.stagedPerBatch.get(batch) ?? []) this.entries.delete(staged);
        this.stagedPerBatch.delete(batch);
      });
    }
  }

  get(key: Buffer): Buffer | undefined {
    return this.entries.get(key.toString('latin1'))?.value;
  }

  /** A copy of the buffered entries in revision order (take it in the same tick as a backend snapshot). */
  snapshot(): BufferedEntry[] {
    return [...this.entries.values()];
  }
}
