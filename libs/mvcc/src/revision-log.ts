// Reading the 'key' bucket in revision order, merged with the not-yet-written read buffer, from one
// consistent point in time (watch catch-up and hashKV use it).
import type { BackendSnapshot } from '@cairn/storage';
import type { BufferedEntry } from './read-buffer';
import type { StoreState } from './store-state';

export interface RevisionLogReader {
  /** Entries with from <= revision key < to (undefined = no bound), in revision order. */
  entries(from?: Buffer, to?: Buffer): AsyncIterable<[Buffer, Buffer]>;
  close(): Promise<void>;
}

/** Freeze the revision log now: the backend snapshot and the buffer copy are taken in the same tick. */
export function openRevisionLog(state: StoreState): RevisionLogReader {
  const buffered = state.buffer.snapshot();
  const snapshot = state.backend.snapshot();
  return {
    entries: (from, to) => mergedEntries(snapshot, buffered, from, to),
    close: () => snapshot.close(),
  };
}

async function* mergedEntries(
  snapshot: BackendSnapshot,
  buffered: BufferedEntry[],
  from: Buffer | undefined,
  to: Buffer | undefined,
): AsyncIterable<[Buffer, Buffer]> {
  // Buffered entries are newer than everything already written, so the backend part ends where the
  // buffer starts (this also skips entries written after the buffer copy was taken).
  const firstBuffered = buffered.length > 0 ? buffered[0].key : undefined;
  let backendEnd = to;
  if (firstBuffered && (!backendEnd || Buffer.compare(firstBuffered, backendEnd) < 0))
    backendEnd = firstBuffered;
  if (!from || !backendEnd || Buffer.compare(from, backendEnd) < 0) {
    yield* snapshot.iterate('key', { gte: from, lt: backendEnd });
  }
  for (const entry of buffered) {
    if (from && Buffer.compare(entry.key, from) < 0) continue;
    if (to && Buffer.compare(entry.key, to) >= 0) break;
    yield [entry.key, entry.value];
  }
}
