// A put's prevKv whose value is read only when someone asks for it. Since values left the key index, an
// overwrite of a key not in the hot cache would read its previous value from LevelDB at apply, on every
// member, for every put, although only watchers that asked for prev_kv ever look at it (etcd reads it in the
// watch send loop, only for those). The revisions come from the index at once; the value at first use.
import { decodeKeyValue, keepBytes, type KeyValue } from './key-value';
import type { KeyIndex } from './key-index';
import { encodeRevisionKey } from './revision';
import type { StoreState } from './store-state';

const EMPTY: Buffer = Buffer.alloc(0);

/** Lazy prevKvs whose value was gone when asked for (compacted, or the store restored meanwhile). */
const GONE = new WeakSet<KeyValue>();

/** The live version of `index` before a put moves it on (undefined while deleted); `key`: the caller's copy. */
export function lazyPrevKv(state: StoreState, index: KeyIndex, key: Buffer): KeyValue | undefined {
  if (!index.live) return undefined;
  const cached = index.value;
  if (cached) {
    return {
      key,
      createRevision: index.createRevision,
      modRevision: index.modMain,
      version: index.version,
      value: cached,
      lease: index.lease,
    };
  }
  // The revision, not its encoded key: a pooled 17-byte key held by a cached event would pin 8 KiB of Node's pool.
  const revision = index.modified;
  let value: Buffer | undefined;
  const kv: KeyValue = {
    key,
    createRevision: index.createRevision,
    modRevision: index.modMain,
    version: index.version,
    // An own enumerable accessor: spreads and equality checks see the value as they would a plain one.
    get value(): Buffer {
      return (value ??= readValue(state, encodeRevisionKey(revision), kv));
    },
    lease: index.lease,
  };
  return kv;
}

/**
 * Whether `kv`'s value could not be read any more: a physical compaction removed that version before
 * anyone asked. A watcher then gets the event without prevKv, as etcd's send loop does when its range at
 * ModRevision-1 fails.
 */
export function prevValueGone(kv: KeyValue): boolean {
  return kv.value === EMPTY && GONE.has(kv);
}

function readValue(state: StoreState, revKey: Buffer, kv: KeyValue): Buffer {
  // Not yet written to LevelDB: the staged record (copied, it may sit in Node's shared pool).
  const buffered = state.buffer.get(revKey);
  if (buffered) return keepBytes(decodeKeyValue(buffered).value, true);
  let record: Buffer | undefined;
  try {
    record = state.backend.getSync('key', revKey);
  } catch {
    record = undefined; // the backend was closed (a snapshot restore replaced it)
  }
  if (!record) {
    GONE.add(kv);
    return EMPTY;
  }
  return decodeKeyValue(record).value;
}
