// Physical compaction: delete from the 'key' bucket every revision <= atRev that the index no longer
// keeps, in chunks (one LevelDB batch each) with a turn of the event loop between them, then record
// the compaction as finished. Deletes go in revision order, so a crash midway leaves a state that
// rebuilds into the same index (and the next open finishes the job).
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Backend } from '@cairn/storage';
import { META_FINISHED_COMPACT, putMetaNumber } from './meta';
import { decodeRevisionKey, revisionId, revisionKeyFloor } from './revision';

export interface CompactionOptions {
  /** Revisions examined per chunk. */
  chunkSize: number;
  /** Checked between chunks; true stops the job (it resumes on the next open). */
  stopped: () => boolean;
}

export async function compactBackend(
  backend: Backend,
  atRev: number,
  keep: Set<string>,
  options: CompactionOptions,
): Promise<void> {
  const end = revisionKeyFloor(atRev + 1);
  let from: Buffer | undefined;
  for (;;) {
    if (options.stopped()) return;
    const batch = backend.batch();
    let seen = 0;
    let last: Buffer | undefined;
    for await (const [key] of backend.iterate('key', { gte: from, lt: end, limit: options.chunkSize })) {
      seen++;
      last = key;
      if (!keep.has(revisionId(decodeRevisionKey(key).revision))) batch.del('key', key);
    }
    const finished = seen < options.chunkSize;
    if (finished) putMetaNumber(batch, META_FINISHED_COMPACT, atRev);
    await batch.write();
    if (finished || !last) return;
    // The smallest key after `last`.
    from = Buffer.concat([last, Buffer.of(0)]);
    await nextTurn();
  }
}
