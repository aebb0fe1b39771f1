// The MVCC key-value store (etcd's mvcc.store): revisions, history, range, txn, compaction, hashKV.
// As etcd's, the in-memory index keeps revisions only; values live in the backend (LevelDB and its block
// cache) plus a small hot-value cache. Live values are read synchronously (LevelDB getSync), so reads at
// the current revision and txn compares stay synchronous; history below it is read asynchronously.
import { type Backend, type BackendBatch, crc32c } from '@cairn/storage';
import { compactBackend } from './compaction';
import { MvccError } from './errors';
import { decodeKeyValue } from './key-value';
import {
  CURRENT_DATA_FORMAT,
  DATA_FORMAT_ETCD_REVISIONS,
  DATA_FORMAT_ZERO_BASED,
  META_CURRENT_REVISION,
  META_DATA_FORMAT,
  META_FINISHED_COMPACT,
  META_SCHEDULED_COMPACT,
  putMetaNumber,
  readMetaNumber,
} from './meta';
import { executeRange } from './range';
import { applyDeleteRange, applyPut, checkPut, validatePutRequest } from './requests';
import { decodeRevisionKey, revisionId } from './revision';
import { openRevisionLog } from './revision-log';
import { keyId } from './sorted-key-map';
import { StoreState } from './store-state';
import { checkTxn, compareToPath, executeTxn, hasWrites, type PendingReads, type TxnView } from './txn';
import type {
  DeleteRangeRequest,
  DeleteRangeResult,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  TxnRequest,
  TxnResult,
  WriteResult,
} from './types';
import { WriteTxn } from './write-txn';

export interface KvStoreOptions {
  /** Tells whether a lease exists; puts naming a missing lease fail with 'lease-not-found'. */
  leaseExists?: (lease: bigint) => boolean;
  /** Revisions examined per physical compaction chunk (etcd's compaction batch limit). */
  compactionChunkSize?: number;
  /** Hears of background compaction failures (also the rejection of compact().done, if any). */
  onBackgroundError?: (error: unknown) => void;
  /** Bytes of live values cached in memory (hot-values.ts); the rest are read back from LevelDB. */
  hotValueBytes?: number;
}

export interface HashKvResult {
  /** CRC-32C over the 'key' bucket revisions <= hashRevision, as etcd computes it. */
  hash: number;
  hashRevision: number;
  compactRevision: number;
}

export type ChangeListener = (result: WriteResult) => void;

const DEFAULT_COMPACTION_CHUNK = 1000;

export class KvStore {
  private readonly listeners = new Set<ChangeListener>();
  private leaseExists: (lease: bigint) => boolean;
  private openWrite: WriteTxn | undefined;
  private compaction: Promise<void> = Promise.resolve();
  private closed = false;
  /** Between detach() and restore(): background work must not touch the backend being replaced. */
  private detached = false;
  private readonly compactionChunkSize: number;
  private readonly onBackgroundError: (error: unknown) => void;
  private readonly hotValueBytes: number | undefined;
  /** Set between detach() and restore(): reads wait for the new backend (values live in it). */
  private reattached: { promise: Promise<void>; resolve: () => void } | undefined;

  private constructor(
    private state: StoreState,
    options: KvStoreOptions,
  ) {
    this.leaseExists = options.leaseExists ?? (() => true);
    this.compactionChunkSize = options.compactionChunkSize ?? DEFAULT_COMPACTION_CHUNK;
    this.onBackgroundError = options.onBackgroundError ?? (() => undefined);
    this.hotValueBytes = options.hotValueBytes;
  }

  /**
   * Open the store over `backend`: rebuild the key index and latest versions from the 'key' bucket,
   * restore revisions from 'meta', and resume a physical compaction that a crash interrupted.
   */
  static async open(backend: Backend, options: KvStoreOptions = {}): Promise<KvStore> {
    const store = new KvStore(new StoreState(backend, options.hotValueBytes), options);
    await store.load(backend);
    return store;
  }

  /**
   * Stop using the backend (etcd's store.Restore begins so): background compaction stops at its next
   * chunk and is waited for. Reads wait until restore() (values live in the backend); call it next.
   */
  async detach(): Promise<void> {
    this.assertNoOpenWrite();
    this.detached = true;
    if (!this.reattached) {
      let resolve = (): void => undefined;
      const promise = new Promise<void>((done) => (resolve = done));
      this.reattached = { promise, resolve };
    }
    await this.compaction;
  }

  /**
   * Rebuild the whole store from another backend in place (a leader's snapshot was installed): the same
   * object, listeners and options; the key index, revisions and compaction come from `backend`.
   */
  async restore(backend: Backend): Promise<void> {
    await this.detach();
    this.compaction = Promise.resolve();
    this.detached = false;
    try {
      await this.load(backend);
    } finally {
      this.reattached?.resolve();
      this.reattached = undefined;
    }
  }

  private async load(backend: Backend): Promise<void> {
    const state = new StoreState(backend, this.hotValueBytes);
    const scheduled = await readMetaNumber(backend, META_SCHEDULED_COMPACT);
    const finished = await readMetaNumber(backend, META_FINISHED_COMPACT);
    let lastRevision = 0;
    for await (const [revKey, value] of backend.iterate('key')) {
      const { revision, tombstone } = decodeRevisionKey(revKey);
      lastRevision = revision.main;
      const kv = decodeKeyValue(value);
      const id = keyId(kv.key);
      const existing = state.keys.get(id);
      if (tombstone) {
        // A tombstone whose puts were compacted away is history nobody can read.
        if (existing?.live) {
          existing.tombstone(revision);
          existing.lease = 0n;
        }
        continue;
      }
      // The index keeps revisions and the lease; values stay in LevelDB.
      const index = existing ?? state.keys.getOrCreate(id);
      if (index.isEmpty()) index.restore(kv.createRevision, revision, kv.version);
      else index.put(revision);
      index.lease = kv.lease === 0n ? 0n : kv.lease;
    }
    const metaRevision = await readMetaNumber(backend, META_CURRENT_REVISION);
    state.dataFormat = (await readMetaNumber(backend, META_DATA_FORMAT)) || DATA_FORMAT_ZERO_BASED;
    state.compactRevision = scheduled;
    state.currentRevision = Math.max(lastRevision, metaRevision, scheduled);
    this.state = state;
    if (scheduled > 0) {
      const keep = state.keys.compact(scheduled);
      // Finish what a crash interrupted; failures go to onBackgroundError.
      if (scheduled > finished) void this.startPhysicalCompaction(scheduled, keep);
    }
  }

  get currentRevision(): number {
    return this.state.currentRevision;
  }

  get compactRevision(): number {
    return this.state.compactRevision;
  }

  /** How this store numbers its revisions (meta.ts). */
  get dataFormat(): number {
    return this.state.dataFormat;
  }

  /**
   * Move the store to etcd's revision numbering (data format 2) with `batch`: one empty revision, after
   * which every write gets the revision etcd would give. Revisions already given keep their meaning, so
   * watchers, readers at a revision and clients resuming from one are unaffected. A fresh store ends at
   * revision 1, etcd's. Returns false when the store already has that format. Formats this build does not
   * know are refused.
   */
  upgradeDataFormat(format: number, batch: BackendBatch): boolean {
    if (format > CURRENT_DATA_FORMAT || format < DATA_FORMAT_ZERO_BASED)
      throw new MvccError('unknown-data-format');
    if (this.state.dataFormat >= format) return false;
    this.assertNoOpenWrite();
    if (format >= DATA_FORMAT_ETCD_REVISIONS && this.state.dataFormat < DATA_FORMAT_ETCD_REVISIONS) {
      this.state.currentRevision += 1;
      this.state.recordRevisionIn(batch, this.state.currentRevision);
    }
    this.state.dataFormat = format;
    putMetaNumber(batch, META_DATA_FORMAT, format);
    return true;
  }

  /** Keys with history in memory (live or deleted but not yet compacted). */
  get indexedKeys(): number {
    return this.state.keys.size;
  }

  /** Replace the lease existence check (the lessor is usually created after the store). */
  setLeaseChecker(leaseExists: (lease: bigint) => boolean): void {
    this.leaseExists = leaseExists;
  }

  /** Hear of every write transaction that changed something, synchronously as it ends. */
  onChanges(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Read; synchronous at the current revision, a Promise when it needs history from disk. */
  range(req: RangeRequest): RangeResult | Promise<RangeResult> {
    this.assertOpen();
    this.assertNoOpenWrite();
    const reattached = this.reattached;
    if (reattached) return reattached.promise.then(() => this.range(req));
    return executeRange(this.state, req, this.state.currentRevision);
  }

  /**
   * Begin a write transaction staged into `batch`. Use it within one synchronous turn and end() it;
   * only one can be open at a time.
   */
  beginWrite(batch: BackendBatch): WriteTxn {
    this.assertOpen();
    this.assertNoOpenWrite();
    const txn = new WriteTxn(this.state, batch, (ended, result) => this.writeEnded(ended, result));
    this.openWrite = txn;
    return txn;
  }

  /** etcd's Put: prev_kv, ignore_value and ignore_lease semantics and errors. */
  put(req: PutRequest, batch: BackendBatch): PutResult {
    validatePutRequest(req);
    this.assertOpen();
    checkPut(this, req, this.leaseExists);
    const txn = this.beginWrite(batch);
    try {
      return applyPut(txn, req);
    } finally {
      txn.end();
    }
  }

  /** etcd's DeleteRange; the revision moves only if something was deleted. */
  deleteRange(req: DeleteRangeRequest, batch: BackendBatch): DeleteRangeResult {
    const txn = this.beginWrite(batch);
    try {
      return applyDeleteRange(txn, req);
    } finally {
      txn.end();
    }
  }

  /** Delete the given keys (those that exist) in one revision: lease revocation. */
  deleteKeys(keys: Uint8Array[], batch: BackendBatch): WriteResult {
    const txn = this.beginWrite(batch);
    for (const key of keys) txn.deleteRange(key);
    return txn.end();
  }

  /**
   * etcd's Txn: compares decide the branch (all evaluated before any write), checks run before any
   * write (so a failing txn changes nothing), then every write shares one revision. A txn that writes
   * nothing moves no revision. Synchronous unless a range in it reads history.
   */
  applyTxn(req: TxnRequest, batch: BackendBatch): TxnResult | Promise<TxnResult> {
    this.assertOpen();
    this.assertNoOpenWrite();
    const view: TxnView = {
      viewRevision: this.state.currentRevision,
      compactRevision: this.state.compactRevision,
      range: (range) => executeRange(this.state, range, this.state.currentRevision),
    };
    const path = compareToPath(view, req);
    checkTxn(view, req, path, this.leaseExists);
    const pending: PendingReads = [];
    let result: TxnResult;
    if (hasWrites(req)) {
      const txn = this.beginWrite(batch);
      let executed: TxnResult | undefined;
      try {
        executed = executeTxn(req, path, 0, (range) => txn.range(range), txn, pending).result;
      } finally {
        // Whatever was applied stays applied: end the txn so memory, batch and revision agree.
        const ended = txn.end();
        if (executed) executed.revision = ended.revision;
      }
      result = executed;
    } else {
      result = executeTxn(req, path, 0, view.range, undefined, pending).result;
      result.revision = this.state.currentRevision;
    }
    if (pending.length === 0) return result;
    const complete = result;
    return Promise.all(pending).then(() => complete);
  }

  /**
   * Compact history at `revision`: reads below it fail with 'compacted', and every key keeps its
   * latest version at or below it. The index is compacted now; the disk is cleaned in the
   * background once `batch` is written, and `done` resolves when that finishes (or the store closes;
   * an unfinished compaction resumes on the next open).
   */
  compact(revision: number, batch: BackendBatch): { done: Promise<void> } {
    this.assertOpen();
    this.assertNoOpenWrite();
    if (revision <= this.state.compactRevision) throw new MvccError('compacted');
    if (revision > this.state.currentRevision) throw new MvccError('future-revision');
    this.state.compactRevision = revision;
    putMetaNumber(batch, META_SCHEDULED_COMPACT, revision);
    const keep = this.state.keys.compact(revision);
    const written = new Promise<void>((resolve) => batch.afterWrite(resolve));
    return { done: this.startPhysicalCompaction(revision, keep, written) };
  }

  /**
   * etcd's HashKV: CRC-32C of every stored revision <= `revision` (0 = current), skipping those a
   * compaction at `revision` would drop, so stores with the same history hash equal.
   */
  async hashKV(revision = 0): Promise<HashKvResult> {
    this.assertOpen();
    const compactRevision = this.state.compactRevision;
    if (revision > 0 && revision < compactRevision) throw new MvccError('compacted');
    if (revision > this.state.currentRevision) throw new MvccError('future-revision');
    const hashRevision = revision > 0 ? revision : this.state.currentRevision;
    const keep = this.state.keys.keep(hashRevision);
    const log = openRevisionLog(this.state);
    // Chained CRC-32C (the WAL's, from @cairn/storage) over 'key', then every kept revision key and value.
    let crc = crc32c(Buffer.from('key'));
    try {
      for await (const [revKey, value] of log.entries()) {
        const { revision: rev } = decodeRevisionKey(revKey);
        if (rev.main > hashRevision) break;
        if (rev.main <= compactRevision && keep.size > 0 && !keep.has(revisionId(rev))) continue;
        crc = crc32c(value, crc32c(revKey, crc));
      }
    } finally {
      await log.close();
    }
    return { hash: crc, hashRevision, compactRevision };
  }

  /** Resolves once no physical compaction is running (including one resumed by open()). */
  async whenCompacted(): Promise<void> {
    for (;;) {
      const current = this.compaction;
      await current;
      if (current === this.compaction) return;
    }
  }

  /** Stop background compaction at its next chunk (it resumes on the next open). The backend stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.compaction;
  }

  /** @internal For the watchable store: the shared state. */
  get internalState(): StoreState {
    return this.state;
  }

  private startPhysicalCompaction(revision: number, keep: Set<string>, ready?: Promise<void>): Promise<void> {
    const previous = this.compaction;
    const job = (async () => {
      await previous;
      await ready;
      const state = this.state;
      await compactBackend(state.backend, revision, keep, {
        chunkSize: this.compactionChunkSize,
        // A restore replaced the state meanwhile: the new backend resumes its own compaction.
        stopped: () => this.closed || this.detached || this.state !== state,
      });
    })();
    // The chain never rejects, so a caller that drops `done` causes no unhandled rejection.
    this.compaction = job.catch((error: unknown) => this.onBackgroundError(error));
    return job;
  }

  private writeEnded(txn: WriteTxn, result: WriteResult): void {
    if (this.openWrite === txn) this.openWrite = undefined;
    if (result.events.length === 0) return;
    let failure: unknown;
    for (const listener of this.listeners) {
      try {
        listener(result);
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  private assertNoOpenWrite(): void {
    if (this.openWrite) throw new Error('KvStore: a write transaction is open');
  }

  private assertOpen(): void {
    if (this.closed) throw new MvccError('closed');
  }
}
