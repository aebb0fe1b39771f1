// Range reads, following etcd's executeRange: the index gives the revisions visible at the read view;
// live values are read synchronously (hot cache, unwritten batch, LevelDB), history asynchronously.
import { MvccError } from './errors';
import type { IndexedRevision, KeyIndex } from './key-index';
import { toKeyRange } from './key-range';
import { decodeKeyValue, type KeyValue } from './key-value';
import { encodeRevisionKey } from './revision';
import type { StoreState } from './store-state';
import type { RangeRequest, RangeResult, SortOrder } from './types';

const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Run `req` against a read view at `viewRevision` (the store's current revision, or a write txn's
 * revision once it changed something). Synchronous unless it reads history that is not in memory.
 */
export function executeRange(
  state: StoreState,
  req: RangeRequest,
  viewRevision: number,
): RangeResult | Promise<RangeResult> {
  const requested = req.revision ?? 0;
  if (requested > viewRevision) throw new MvccError('future-revision');
  const atRevision = requested <= 0 ? viewRevision : requested;
  if (atRevision < state.compactRevision) throw new MvccError('compacted');

  const range = toKeyRange(req.key, req.rangeEnd);
  const sortOrder = req.sortOrder ?? 'NONE';
  const filtered =
    (req.minModRevision ?? 0) !== 0 ||
    (req.maxModRevision ?? 0) !== 0 ||
    (req.minCreateRevision ?? 0) !== 0 ||
    (req.maxCreateRevision ?? 0) !== 0;
  // Sorting and filtering need every kv; otherwise fetch one extra to learn `more`.
  let fetchLimit = sortOrder !== 'NONE' || filtered ? 0 : (req.limit ?? 0);
  if (fetchLimit > 0) fetchLimit++;

  // keys_only answers carry no values: none is read back unless a sort by value needs it.
  const withValue = !req.keysOnly || req.sortTarget === 'VALUE';
  if (atRevision === viewRevision) {
    let count = 0;
    const kvs: KeyValue[] = [];
    for (const index of state.keys.live(range)) {
      count++;
      if (!req.countOnly && (fetchLimit <= 0 || kvs.length < fetchLimit))
        kvs.push(state.latest(index, withValue) as KeyValue);
    }
    return finishRange(req, kvs, count, viewRevision);
  }

  let count = 0;
  const found: Array<{ index: KeyIndex; found: IndexedRevision }> = [];
  for (const entry of state.keys.at(range, atRevision)) {
    count++;
    if (!req.countOnly && (fetchLimit <= 0 || found.length < fetchLimit)) found.push(entry);
  }
  const kvs: Array<KeyValue | undefined> = [];
  const missing: number[] = [];
  for (const { index, found: rev } of found) {
    // Unchanged since atRevision: the live version is the answer.
    if (index.live && index.modMain === rev.modified.main) {
      kvs.push(state.latest(index, withValue) as KeyValue);
      continue;
    }
    const buffered = state.buffer.get(encodeRevisionKey(rev.modified));
    if (buffered) {
      kvs.push(decodeKeyValue(buffered));
      continue;
    }
    missing.push(kvs.length);
    kvs.push(undefined);
  }
  if (missing.length === 0) return finishRange(req, kvs as KeyValue[], count, viewRevision);
  // Frozen now, so a physical compaction that starts later cannot delete what we are about to read.
  const snapshot = state.backend.snapshot();
  const keys = missing.map((i) => encodeRevisionKey(found[i].found.modified));
  return snapshot
    .getMany('key', keys)
    .then((values) => {
      values.forEach((value, n) => {
        if (!value)
          throw new Error(`mvcc: revision ${found[missing[n]].found.modified.main} missing on disk`);
        kvs[missing[n]] = decodeKeyValue(value);
      });
      return finishRange(req, kvs as KeyValue[], count, viewRevision);
    })
    .finally(() => snapshot.close());
}

function finishRange(req: RangeRequest, fetched: KeyValue[], count: number, revision: number): RangeResult {
  let kvs = fetched;
  const maxMod = req.maxModRevision ?? 0;
  const minMod = req.minModRevision ?? 0;
  const maxCreate = req.maxCreateRevision ?? 0;
  const minCreate = req.minCreateRevision ?? 0;
  if (maxMod !== 0) kvs = kvs.filter((kv) => kv.modRevision <= maxMod);
  if (minMod !== 0) kvs = kvs.filter((kv) => kv.modRevision >= minMod);
  if (maxCreate !== 0) kvs = kvs.filter((kv) => kv.createRevision <= maxCreate);
  if (minCreate !== 0) kvs = kvs.filter((kv) => kv.createRevision >= minCreate);

  const target = req.sortTarget ?? 'KEY';
  let order: SortOrder = req.sortOrder ?? 'NONE';
  // etcd: results come in key order, so KEY+ASCEND needs no sort and other targets default to ASCEND.
  if (target !== 'KEY' && order === 'NONE') order = 'ASCEND';
  else if (target === 'KEY' && order === 'ASCEND') order = 'NONE';
  if (order !== 'NONE') {
    const compare = comparator(target);
    kvs = kvs === fetched ? [...kvs] : kvs;
    kvs.sort(order === 'ASCEND' ? compare : (a, b) => compare(b, a));
  }

  const limit = req.limit ?? 0;
  let more = false;
  if (limit > 0 && kvs.length > limit) {
    kvs = kvs.slice(0, limit);
    more = true;
  }
  if (req.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
  return { kvs, more, count, revision };
}

function comparator(target: RangeRequest['sortTarget']): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case 'VERSION':
      return (a, b) => a.version - b.version;
    case 'CREATE':
      return (a, b) => a.createRevision - b.createRevision;
    case 'MOD':
      return (a, b) => a.modRevision - b.modRevision;
    case 'VALUE':
      return (a, b) => Buffer.compare(a.value, b.value);
    default:
      return (a, b) => Buffer.compare(a.key, b.key);
  }
}
