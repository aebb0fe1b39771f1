import type { Backend, BackendBatch } from '@cairn/storage';
import { HotValues } from './hot-values';
import type { KeyIndex } from './key-index';
import { KeySpace } from './key-space';
import { decodeKeyValue, keepBytes, type KeyValue } from './key-value';
import { DATA_FORMAT_ZERO_BASED, META_CURRENT_REVISION, putMetaNumber } from './meta';
import { ReadBuffer } from './read-buffer';
import { encodeRevisionKey } from './revision';

const EMPTY: Buffer = Buffer.alloc(0);

/** The state KvStore, its write transactions and its readers share. */
export class StoreState {
  readonly keys = new KeySpace();
  readonly buffer = new ReadBuffer();
  readonly hot: HotValues;
  /** Revision of the last write transaction that changed something. */
  currentRevision = 0;
  /** Revisions below this are gone (reads of them fail with 'compacted'). */
  compactRevision = 0;
  /** The store's data format (meta.ts): how its revisions are numbered. */
  dataFormat = DATA_FORMAT_ZERO_BASED;

  /** The newest revision staged into each not-yet-written batch. */
  private readonly batchRevisions = new WeakMap<BackendBatch, number>();

  constructor(
    readonly backend: Backend,
    hotValueBytes?: number,
  ) {
    this.hot = new HotValues(hotValueBytes);
  }

  /** Persist the current revision with `batch`: one 'meta' write per batch, whatever its txn count. */
  recordRevisionIn(batch: BackendBatch, revision: number): void {
    if (!this.batchRevisions.has(batch)) {
      batch.beforeWrite(() =>
        putMetaNumber(batch, META_CURRENT_REVISION, this.batchRevisions.get(batch) ?? revision),
      );
    }
    this.batchRevisions.set(batch, revision);
  }

  /**
   * The live version of `index` (undefined while deleted), synchronously: revisions come from the
   * index, the value from the hot cache, the not-yet-written batch or LevelDB (`withValue` false: empty).
   * `key`: the key's bytes if the caller has a copy of its own (default: a fresh transient one).
   */
  latest(index: KeyIndex, withValue = true, key?: Buffer): KeyValue | undefined {
    if (!index.live) return undefined;
    return {
      key: key ?? index.key,
      createRevision: index.createRevision,
      modRevision: index.modMain,
      version: index.version,
      value: withValue ? this.latestValue(index) : EMPTY,
      lease: index.lease,
    };
  }

  private latestValue(index: KeyIndex): Buffer {
    const cached = index.value;
    if (cached) return cached;
    const revKey = encodeRevisionKey(index.modified);
    const buffered = this.buffer.get(revKey);
    const record = buffered ?? this.backend.getSync('key', revKey);
    if (!record) throw new Error(`mvcc: revision ${index.modMain} of a live key is missing`);
    const view = decodeKeyValue(record).value;
    // A staged record may sit in Node's shared allocation pool: cache a copy of its own. A record
    // LevelDB just handed over is a small buffer of its own, so a view of it pins nothing else.
    const value = buffered ? keepBytes(view, true) : view;
    this.hot.remember(index, value);
    return value;
  }
}
