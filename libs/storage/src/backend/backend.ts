import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { BackendBatch } from './backend-batch';
import { BackendError } from './backend-error';
import { type Bucket, bucketEnd, bucketKey, bucketStart } from './bucket';
import { BackendSnapshot } from './backend-snapshot';
import { drainEntries, type IterateOptions } from './iterate';
import { restoreSnapshotFile, type SnapshotFileInfo, writeSnapshotFile } from './snapshot-file';

/**
 * The persistent store under MVCC, leases, members and auth: one LevelDB database whose keys are
 * prefixed by a one-byte bucket. Keys handed back by get/iterate are bucket-relative.
 */
export class Backend {
  private closed = false;

  private constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    readonly path: string,
  ) {}

  /** Open (creating if missing) the database directory at `path`. */
  static async open(path: string): Promise<Backend> {
    const db = new ClassicLevel<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    return new Backend(db, path);
  }

  /**
   * Verify the checksum of a snapshot file written by writeSnapshot and rebuild a database at `path`
   * from it. `path` must not exist yet (remove the old data directory first).
   */
  static async restoreSnapshot(file: string, path: string): Promise<void> {
    await restoreSnapshotFile(file, path);
  }

  /** The value of `key` in `bucket`, or undefined when missing. */
  async get(bucket: Bucket, key: Uint8Array): Promise<Buffer | undefined> {
    this.assertOpen();
    return this.db.get(bucketKey(bucket, key));
  }

  /**
   * The value of `key` in `bucket` read synchronously (LevelDB's memtable and block cache, else the
   * files), or undefined: the MVCC store reads live values this way, as etcd reads bbolt.
   */
  getSync(bucket: Bucket, key: Uint8Array): Buffer | undefined {
    this.assertOpen();
    return this.db.getSync(bucketKey(bucket, key));
  }

  /**
   * Entries of `bucket` in key order (or reverse), bounded by gte/lt. The LevelDB snapshot behind the
   * iteration is taken synchronously by this call, so writes that finish later are never seen. Iterate
   * it once, to the end or until `break` (which releases the LevelDB iterator).
   */
  iterate(bucket: Bucket, options: IterateOptions = {}): AsyncIterable<[Buffer, Buffer]> {
    this.assertOpen();
    const iterator = this.db.iterator({
      gte: options.gte ? bucketKey(bucket, options.gte) : bucketStart(bucket),
      lt: options.lt ? bucketKey(bucket, options.lt) : bucketEnd(bucket),
      reverse: options.reverse ?? false,
      limit: options.limit ?? -1,
    });
    return drainEntries(iterator);
  }

  /** Values of many keys of `bucket` in one round trip (undefined where missing). */
  async getMany(bucket: Bucket, keys: Uint8Array[]): Promise<Array<Buffer | undefined>> {
    this.assertOpen();
    if (keys.length === 0) return [];
    return this.db.getMany(keys.map((key) => bucketKey(bucket, key)));
  }

  /** A read view frozen now (synchronously); close it when done. */
  snapshot(): BackendSnapshot {
    this.assertOpen();
    return new BackendSnapshot(this.db, this.db.snapshot());
  }

  /** A new batch; nothing reaches LevelDB until its write() resolves. */
  batch(): BackendBatch {
    this.assertOpen();
    return new BackendBatch(this.db);
  }

  /** Stream a consistent point-in-time copy of every bucket to `file` (checksummed, fsynced). */
  async writeSnapshot(file: string): Promise<SnapshotFileInfo> {
    this.assertOpen();
    return writeSnapshotFile(this.db, file);
  }

  /** Bytes on disk of the database directory. */
  async size(): Promise<number> {
    this.assertOpen();
    let total = 0;
    for (const name of await readdir(this.path)) {
      const info = await stat(join(this.path, name)).catch(() => undefined);
      if (info?.isFile()) total += info.size;
    }
    return total;
  }

  /** Compact the whole key space so deleted and overwritten entries give their disk space back. */
  async defragment(): Promise<void> {
    this.assertOpen();
    await this.db.compactRange(Buffer.of(0x00), Buffer.alloc(8, 0xff));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new BackendError('closed', `backend ${this.path} is closed`);
  }
}
