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

/**
 * A previous version whose value is read on first use. A class (the value a getter on its prototype, the
 * rest plain fields) keeps every prevKv one hidden class; an object literal with its own getter gets a map
 * of its own per object, which made every later property read on it slow.
 */
class LazyKeyValue implements KeyValue {
  readonly #state: StoreState | undefined;
  readonly #main: number;
  readonly #sub: number;
  #value: Buffer | undefined;

  constructor(
    readonly key: Buffer,
    readonly createRevision: number,
    readonly modRevision: number,
    readonly version: number,
    readonly lease: bigint,
    state: StoreState | undefined,
    sub: number,
    value: Buffer | undefined,
  ) {
    this.#state = state;
    this.#main = modRevision;
    this.#sub = sub;
    this.#value = value;
  }

  get value(): Buffer {
    // The revision is kept, not its encoded key: a pooled 17-byte key held by a cached event would pin 8 KiB
    // of Node's allocation pool.
    return (this.#value ??= readValue(
      this.#state as StoreState,
      encodeRevisionKey({ main: this.#main, sub: this.#sub }),
      this,
    ));
  }
}

/** The live version of `index` before a put moves it on (undefined while deleted); `key`: the caller's copy. */
export function lazyPrevKv(state: StoreState, index: KeyIndex, key: Buffer): KeyValue | undefined {
  if (!index.live) return undefined;
  const cached = index.value;
  const { main, sub } = index.modified;
  return new LazyKeyValue(
    key,
    index.createRevision,
    main,
    index.version,
    index.lease,
    cached ? undefined : state,
    sub,
    cached,
  );
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
