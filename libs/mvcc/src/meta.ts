// Keys of the 'meta' bucket that belong to MVCC. Values are 8-byte big-endian numbers.
import type { Backend, BackendBatch } from '@cairn/storage';

export const META_CURRENT_REVISION = Buffer.from('currentRevision');
export const META_SCHEDULED_COMPACT = Buffer.from('scheduledCompactRevision');
export const META_FINISHED_COMPACT = Buffer.from('finishedCompactRevision');
export const META_DATA_FORMAT = Buffer.from('dataFormat');

/**
 * Data formats of the store. 1: Cairn 0.1, whose fresh store was at revision 0 (absent from 'meta' = 1).
 * 2: etcd's revision numbering, a fresh store at revision 1 and its first write at 2. A store moves from 1 to
 * 2 by taking one empty revision (KvStore.upgradeDataFormat), so no stored revision changes meaning.
 */
export const DATA_FORMAT_ZERO_BASED = 1;
export const DATA_FORMAT_ETCD_REVISIONS = 2;
/** The newest format this build writes and can switch a store to. */
export const CURRENT_DATA_FORMAT = DATA_FORMAT_ETCD_REVISIONS;

export function encodeMetaNumber(value: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32BE(Math.floor(value / 0x1_0000_0000), 0);
  out.writeUInt32BE(value % 0x1_0000_0000, 4);
  return out;
}

export function putMetaNumber(batch: BackendBatch, key: Buffer, value: number): void {
  batch.put('meta', key, encodeMetaNumber(value));
}

export async function readMetaNumber(backend: Backend, key: Buffer): Promise<number> {
  const value = await backend.get('meta', key);
  if (!value || value.length !== 8) return 0;
  return value.readUInt32BE(0) * 0x1_0000_0000 + value.readUInt32BE(4);
}
