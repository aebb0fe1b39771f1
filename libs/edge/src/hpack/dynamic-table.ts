// RFC 7541 §2.3.2 / §4: the dynamic table, newest entry first, with size accounting and eviction.
export interface HeaderEntry {
  readonly name: string;
  readonly value: string;
}

// §4.1: each entry costs its name and value octets plus 32.
const ENTRY_OVERHEAD = 32;

function entrySize(entry: HeaderEntry): number {
  return entry.name.length + entry.value.length + ENTRY_OVERHEAD;
}

export class DynamicTable {
  private readonly entries: HeaderEntry[] = [];
  private used = 0;

  constructor(private max: number) {}

  get length(): number {
    return this.entries.length;
  }

  /** Octets in use, as §4.1 counts them. */
  get size(): number {
    return this.used;
  }

  get maxSize(): number {
    return this.max;
  }

  /** `index` counts from 0 = newest. */
  get(index: number): HeaderEntry | undefined {
    return this.entries[index];
  }

  add(name: string, value: string): void {
    const entry = { name, value };
    const size = entrySize(entry);
    // §4.4: an entry larger than the table empties it and is not added.
    this.evictDownTo(Math.max(0, this.max - size));
    if (size > this.max) return;
    this.entries.unshift(entry);
    this.used += size;
  }

  setMaxSize(max: number): void {
    this.max = max;
    this.evictDownTo(max);
  }

  private evictDownTo(limit: number): void {
    while (this.used > limit) {
      const oldest = this.entries.pop();
      if (!oldest) break;
      this.used -= entrySize(oldest);
    }
  }
}
