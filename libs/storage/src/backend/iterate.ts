export interface IterateOptions {
  /** Inclusive lower bound inside the bucket. */
  gte?: Uint8Array;
  /** Exclusive upper bound inside the bucket. */
  lt?: Uint8Array;
  reverse?: boolean;
  limit?: number;
}

/** Entries fetched from LevelDB per round trip while iterating. */
const ITERATE_CHUNK = 256;

interface EntryIterator {
  nextv(size: number): Promise<Array<[Buffer, Buffer]>>;
  close(): Promise<void>;
}

/** Yield a LevelDB iterator's entries with the bucket byte stripped; closes the iterator at the end. */
export async function* drainEntries(iterator: EntryIterator): AsyncIterable<[Buffer, Buffer]> {
  try {
    for (;;) {
      const entries = await iterator.nextv(ITERATE_CHUNK);
      if (entries.length === 0) return;
      for (const [key, value] of entries) yield [key.subarray(1), value];
    }
  } finally {
    await iterator.close();
  }
}
