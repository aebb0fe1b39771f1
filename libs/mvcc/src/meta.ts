// Keys of the 'meta' bucket that belong to MVCC. Values are 8-byte big-endian numbers.
import type { Backend, BackendBatch } from '@cairn/storage';

export const META_CURRENT_REVISION = Buffer.from('currentRevision');
export const META_SCHEDULED_COMPACT = Buffer.from('scheduledCompactRevision');
export const META_FINISHED_COMPACT = Buffer.from('finishedCompactRevision');

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
