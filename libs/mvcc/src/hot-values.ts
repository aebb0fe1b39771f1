// A small, bounded cache of live values (etcd keeps none: its values live in bbolt and the page cache).
// Values belong in the backend, read back synchronously through LevelDB's block cache; this cache only
// spares that read for keys written or read recently (a put's value, the prevKv of a hot key's next
// write). It is a FIFO ring bounded by bytes and entries: the slot of a cached value is KeyIndex.value,
// cleared when its entry leaves the ring, so an evicted value costs nothing but the index's one field.
import type { KeyIndex } from './key-index';

/** Bytes charged per cached value on top of its length (the Buffer object and its backing store). */
const ENTRY_OVERHEAD = 200;
export const DEFAULT_HOT_VALUE_BYTES = 4 * 1024 * 1024;

export class HotValues {
  private readonly indexes: Array<KeyIndex | undefined>;
  private readonly values: Array<Buffer | undefined>;
  private head = 0;
  private count = 0;
  private bytes = 0;

  constructor(
    private readonly budget = DEFAULT_HOT_VALUE_BYTES,
    capacity = Math.max(1, Math.floor(budget / 256)),
  ) {
    this.indexes = new Array<KeyIndex | undefined>(capacity).fill(undefined);
    this.values = new Array<Buffer | undefined>(capacity).fill(undefined);
  }

  /** Bytes held (values plus the per-entry overhead). */
  get size(): number {
    return this.bytes;
  }

  /**
   * Make `value` the cached live value of `index`. `value` must be the store's own copy (it must pin no
   * request frame). Values too large for the budget are not cached (they are read back when needed).
   */
  remember(index: KeyIndex, value: Buffer): void {
    if (value.length === 0) {
      index.value = value; // An empty value costs nothing and needs no slot.
      return;
    }
    const cost = value.length + ENTRY_OVERHEAD;
    if (cost * 8 > this.budget) {
      index.value = undefined;
      return;
    }
    if (this.count === this.indexes.length) this.evictOldest();
    const at = (this.head + this.count) % this.indexes.length;
    this.indexes[at] = index;
    this.values[at] = value;
    this.count++;
    this.bytes += cost;
    index.value = value;
    while (this.bytes > this.budget) this.evictOldest();
  }

  private evictOldest(): void {
    const at = this.head;
    const index = this.indexes[at] as KeyIndex;
    const value = this.values[at] as Buffer;
    // The key may have been written since (its slot then holds a newer value, in a newer entry).
    if (index.value === value) index.value = undefined;
    this.indexes[at] = undefined;
    this.values[at] = undefined;
    this.bytes -= value.length + ENTRY_OVERHEAD;
    this.head = (this.head + 1) % this.indexes.length;
    this.count--;
  }
}
