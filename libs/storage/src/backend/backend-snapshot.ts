import type { ClassicLevel } from 'classic-level';
import { BackendError } from './backend-error';
import { type Bucket, bucketEnd, bucketKey, bucketStart } from './bucket';
import { drainEntries, type IterateOptions } from './iterate';

type Snapshot = ReturnType<ClassicLevel<Buffer, Buffer>['snapshot']>;

/**
 * A read-only view of the database frozen at the moment Backend.snapshot() was called: later writes
 * (including physical compaction deletes) are invisible to it. Close it when done; it pins old data.
 */
export class BackendSnapshot {
  private closed = false;

  /** @internal Created by Backend.snapshot(). */
  constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    private readonly snapshot: Snapshot,
  ) {}

  async get(bucket: Bucket, key: Uint8Array): Promise<Buffer | undefined> {
    this.assertOpen();
    return this.db.get(bucketKey(bucket, key), { snapshot: this.snapshot });
  }

  async getMany(bucket: Bucket, keys: Uint8Array[]): Promise<Array<Buffer | undefined>> {
    this.assertOpen();
    if (keys.length === 0) return [];
    return this.db.getMany(
      keys.map((key) => bucketKey(bucket, key)),
      { snapshot: this.snapshot },
    );
  }

  iterate(bucket: Bucket, options: IterateOptions = {}): AsyncIterable<[Buffer, Buffer]> {
    this.assertOpen();
    return drainEntries(
      this.db.iterator({
        gte: options.gte ? bucketKey(bucket, options.gte) : bucketStart(bucket),
        lt: options.lt ? bucketKey(bucket, options.lt) : bucketEnd(bucket),
        reverse: options.reverse ?? false,
        limit: options.limit ?? -1,
        snapshot: this.snapshot,
      }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.snapshot.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new BackendError('closed', 'backend snapshot is closed');
  }
}
