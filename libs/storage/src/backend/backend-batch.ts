import type { ClassicLevel } from 'classic-level';
import { type Bucket, bucketKey } from './bucket';

type Operation = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/**
 * classic-level's own batch write (abstract-level's private API, which `batch()` ends in). The public
 * `batch()` first copies, validates and re-encodes every operation (an object spread, encoding lookups and
 * key checks per op: ~8 % of a member's CPU per put on the write path); ours are already Buffers under
 * 'buffer' encodings, on the root database, with no hooks or write listeners, so that work changes nothing.
 */
interface DirectBatch {
  _batch(operations: Operation[], options: { sync: boolean }): Promise<void>;
}

/**
 * A set of writes that reaches LevelDB as ONE atomic LevelDB batch. Stage writes with put/del, then
 * write() once. Listeners registered with afterWrite run once the batch is durable in LevelDB (visible
 * to every new read), which lets layers above drop their not-yet-written read buffers.
 */
export class BackendBatch {
  private readonly ops: Operation[] = [];
  private readonly written: Array<() => void> = [];
  private readonly writing: Array<() => void> = [];
  private state: 'open' | 'writing' | 'done' = 'open';

  /** @internal Created by Backend.batch(). */
  constructor(private readonly db: ClassicLevel<Buffer, Buffer>) {}

  put(bucket: Bucket, key: Uint8Array, value: Uint8Array): this {
    this.assertOpen();
    const stored = Buffer.isBuffer(value)
      ? value
      : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    this.ops.push({ type: 'put', key: bucketKey(bucket, key), value: stored });
    return this;
  }

  del(bucket: Bucket, key: Uint8Array): this {
    this.assertOpen();
    this.ops.push({ type: 'del', key: bucketKey(bucket, key) });
    return this;
  }

  /** Number of staged operations. */
  get length(): number {
    return this.ops.length;
  }

  /**
   * Run `listener` at the start of write(), before the batch is handed to LevelDB; it may still stage
   * writes (for values that only need their final state once per batch).
   */
  beforeWrite(listener: () => void): void {
    this.assertOpen();
    this.writing.push(listener);
  }

  /** Run `listener` after this batch has been written (synchronously after the write resolves). */
  afterWrite(listener: () => void): void {
    if (this.state === 'done') listener();
    else this.written.push(listener);
  }

  /**
   * Write everything staged as one LevelDB batch. `sync` fsyncs LevelDB's log; the server leaves it off
   * because the WAL is the durability source. A batch can be written once.
   */
  async write(options: { sync?: boolean } = {}): Promise<void> {
    this.assertOpen();
    for (const listener of this.writing.splice(0)) listener();
    this.state = 'writing';
    if (this.ops.length > 0) {
      const sync = options.sync ?? false;
      // While the database is opening or closing, the public path defers or refuses as it should.
      if (this.db.status === 'open') await (this.db as unknown as DirectBatch)._batch(this.ops, { sync });
      else await this.db.batch(this.ops, { sync });
    }
    this.state = 'done';
    for (const listener of this.written.splice(0)) listener();
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error('BackendBatch: already written');
  }
}
