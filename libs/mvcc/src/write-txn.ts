// One write transaction: every change gets the same main revision (current + 1) and the next sub
// revision. Changes hit memory at once and are staged into the caller's BackendBatch; the store's
// revision moves (and listeners hear of it) in end(). A WriteTxn lives within one synchronous turn.
import type { BackendBatch } from '@cairn/storage';
import { toKeyRange } from './key-range';
import { encodeKeyValue, keepBytes, type KeyValue } from './key-value';
import { lazyPrevKv } from './lazy-prev-kv';
import { executeRange } from './range';
import { encodeRevisionKey } from './revision';
import { keyId } from './sorted-key-map';
import type { StoreState } from './store-state';
import type { ChangeEvent, RangeRequest, RangeResult, WriteResult } from './types';

const EMPTY: Buffer = Buffer.alloc(0);

export class WriteTxn {
  readonly beginRevision: number;
  private readonly changes: ChangeEvent[] = [];
  private sub = 0;
  private ended = false;

  /** @internal Created by KvStore.beginWrite(). */
  constructor(
    private readonly state: StoreState,
    readonly batch: BackendBatch,
    private readonly onEnd: (txn: WriteTxn, result: WriteResult) => void,
  ) {
    this.beginRevision = state.currentRevision;
  }

  /** The revision this txn writes at. */
  get revision(): number {
    return this.beginRevision + 1;
  }

  /** Revision of the read view inside the txn: it sees its own writes once it has made any. */
  get viewRevision(): number {
    return this.changes.length > 0 ? this.beginRevision + 1 : this.beginRevision;
  }

  get changeCount(): number {
    return this.changes.length;
  }

  range(req: RangeRequest): RangeResult | Promise<RangeResult> {
    this.assertOpen();
    return executeRange(this.state, req, this.viewRevision);
  }

  /** Put key = value with `lease` (0n = none); returns the revision written. */
  put(key: Uint8Array, value: Uint8Array, lease: bigint = 0n): number {
    this.assertOpen();
    const main = this.revision;
    const id = keyId(key);
    const index = this.state.keys.getOrCreate(id);
    // Events outlive the write (watch caches): their key must not pin Node's shared allocation pool.
    const kept = keepBytes(key);
    // The previous version (for the event's prevKv) is taken before the index moves on; its value is
    // read from the backend only if someone asks (lazy-prev-kv.ts).
    const prev = lazyPrevKv(this.state, index, kept);
    // The store's own copy, for the hot-value cache (it must not pin the request's frame).
    // A slab copy (not a buffer of its own: an ArrayBuffer per put was ~4 % of a follower's CPU): the hot-value
    // cache and the watch caches are FIFOs, so the values of one batch leave them together and free their slab.
    const own = value.length === 0 ? EMPTY : keepBytes(value);
    const kv: KeyValue = {
      key: kept,
      createRevision: prev ? prev.createRevision : main,
      modRevision: main,
      version: prev ? prev.version + 1 : 1,
      value: own,
      // A no-lease put shares the 0n constant (a decoded 0 is a fresh 16-byte BigInt per key).
      lease: lease === 0n ? 0n : lease,
    };
    const sub = this.sub++;
    const rev = { main, sub };
    this.state.buffer.stage(this.batch, encodeRevisionKey(rev), encodeKeyValue(kv));
    index.put(rev);
    index.lease = kv.lease;
    this.state.hot.remember(index, own);
    // One shape for every put event (prevKv undefined when the put created the key).
    this.changes.push({ type: 'put', kv, prevKv: prev, sub, keyId: id });
    return main;
  }

  /** Delete every live key in the range; returns the deleted versions in key order. */
  deleteRange(key: Uint8Array, rangeEnd?: Uint8Array): KeyValue[] {
    this.assertOpen();
    const victims = [...this.state.keys.live(toKeyRange(key, rangeEnd))];
    const deleted: KeyValue[] = [];
    for (const index of victims) {
      const prev = this.state.latest(index, true, keepBytes(index.key)) as KeyValue;
      const main = this.revision;
      const rev = { main, sub: this.sub++ };
      // Stored like etcd: the tombstone's record carries only the key.
      const stored: KeyValue = {
        key: prev.key,
        createRevision: 0,
        modRevision: 0,
        version: 0,
        value: EMPTY,
        lease: 0n,
      };
      this.state.buffer.stage(this.batch, encodeRevisionKey(rev, true), encodeKeyValue(stored));
      index.tombstone(rev);
      index.lease = 0n;
      index.value = undefined;
      this.changes.push({
        type: 'delete',
        kv: { ...stored, modRevision: main },
        prevKv: prev,
        sub: rev.sub,
        keyId: index.id,
      });
      deleted.push(prev);
    }
    return deleted;
  }

  /** Finish: moves the store to this txn's revision if anything changed and tells listeners. */
  end(): WriteResult {
    this.assertOpen();
    this.ended = true;
    const changed = this.changes.length > 0;
    const result: WriteResult = {
      revision: changed ? this.revision : this.beginRevision,
      events: this.changes,
    };
    if (changed) {
      this.state.currentRevision = this.revision;
      this.state.recordRevisionIn(this.batch, this.revision);
    }
    this.onEnd(this, result);
    return result;
  }

  private assertOpen(): void {
    if (this.ended) throw new Error('WriteTxn: already ended');
  }
}
