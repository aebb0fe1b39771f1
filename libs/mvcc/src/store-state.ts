import type { Backend } from '@cairn/storage';
import { KeySpace } from './key-space';
import { ReadBuffer } from './read-buffer';

/** The state KvStore, its write transactions and its readers share. */
export class StoreState {
  readonly keys = new KeySpace();
  readonly buffer = new ReadBuffer();
  /** Revision of the last write transaction that changed something. */
  currentRevision = 0;
  /** Revisions below this are gone (reads of them fail with 'compacted'). */
  compactRevision = 0;

  constructor(readonly backend: Backend) {}
}
