import type { Backend, BackendBatch } from '@cairn/storage';
import { KeySpace } from './key-space';
import { DATA_FORMAT_ZERO_BASED, META_CURRENT_REVISION, putMetaNumber } from './meta';
import { ReadBuffer } from './read-buffer';

/** The state KvStore, its write transactions and its readers share. */
export class StoreState {
  readonly keys = new KeySpace();
  readonly buffer = new ReadBuffer();
  /** Revision of the last write transaction that changed something. */
  currentRevision = 0;
  /** Revisions below this are gone (reads of them fail with 'compacted'). */
  compactRevision = 0;
  /** The store's data format (meta.ts): how its revisions are numbered. */
  dataFormat = DATA_FORMAT_ZERO_BASED;

  /** The newest revision staged into each not-yet-written batch. */
  private readonly batchRevisions = new WeakMap<BackendBatch, number>();

  constructor(readonly backend: Backend) {}

  /** Persist the current revision with `batch`: one 'meta' write per batch, whatever its txn count. */
  recordRevisionIn(batch: BackendBatch, revision: number): void {
    if (!this.batchRevisions.has(batch)) {
      batch.beforeWrite(() =>
        putMetaNumber(batch, META_CURRENT_REVISION, this.batchRevisions.get(batch) ?? revision),
      );
    }
    this.batchRevisions.set(batch, revision);
  }
}
