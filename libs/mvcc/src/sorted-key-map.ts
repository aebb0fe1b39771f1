// An ordered map from byte keys to values. Keys are latin1 strings of the key bytes: one char per
// byte, so JS string comparison is byte order. Point lookups go through a Map; ordered scans go
// through a list of sorted blocks (a flat B-tree of depth 2), which keeps inserts and deletes at
// O(log n + block size) instead of the O(n) of one big sorted array.

const MAX_BLOCK = 512;

interface Block<V> {
  keys: string[];
  values: V[];
}

export function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

export class SortedKeyMap<V> {
  private readonly byKey = new Map<string, V>();
  private blocks: Array<Block<V>> = [];

  get size(): number {
    return this.byKey.size;
  }

  get(id: string): V | undefined {
    return this.byKey.get(id);
  }

  has(id: string): boolean {
    return this.byKey.has(id);
  }

  set(id: string, value: V): void {
    const existed = this.byKey.has(id);
    this.byKey.set(id, value);
    const blockIndex = this.blockFor(id);
    if (blockIndex < 0) {
      this.blocks.push({ keys: [id], values: [value] });
      return;
    }
    const block = this.blocks[blockIndex];
    const at = lowerBound(block.keys, id);
    if (existed) {
      block.values[at] = value;
      return;
    }
    block.keys.splice(at, 0, id);
    block.values.splice(at, 0, value);
    if (block.keys.length > MAX_BLOCK) {
      const half = block.keys.length >> 1;
      const right: Block<V> = { keys: block.keys.splice(half), values: block.values.splice(half) };
      this.blocks.splice(blockIndex + 1, 0, right);
    }
  }

  delete(id: string): boolean {
    if (!this.byKey.delete(id)) return false;
    const blockIndex = this.blockFor(id);
    const block = this.blocks[blockIndex];
    const at = lowerBound(block.keys, id);
    block.keys.splice(at, 1);
    block.values.splice(at, 1);
    if (block.keys.length === 0) this.blocks.splice(blockIndex, 1);
    return true;
  }

  /** Values with start <= key < end in key order; `end` undefined = no upper bound. */
  *range(start: string, end: string | undefined): Generator<V> {
    if (end !== undefined && end <= start) return;
    let blockIndex = this.blockFor(start);
    if (blockIndex < 0) return;
    let at = lowerBound(this.blocks[blockIndex].keys, start);
    while (blockIndex < this.blocks.length) {
      const block = this.blocks[blockIndex];
      for (; at < block.keys.length; at++) {
        if (end !== undefined && block.keys[at] >= end) return;
        yield block.values[at];
      }
      blockIndex++;
      at = 0;
    }
  }

  values(): Generator<V> {
    return this.range('', undefined);
  }

  /** Index of the first block whose last key >= id; the last block if id is past every key; -1 if empty. */
  private blockFor(id: string): number {
    const blocks = this.blocks;
    if (blocks.length === 0) return -1;
    let low = 0;
    let high = blocks.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      const keys = blocks[mid].keys;
      if (keys[keys.length - 1] < id) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

function lowerBound(keys: string[], id: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (keys[mid] < id) low = mid + 1;
    else high = mid;
  }
  return low;
}
