// The index of the last Raft entry whose effects are in the backend. Written in the same LevelDB batch as
// those effects, so after a crash the member re-applies exactly the entries after it.
import type { Backend, BackendBatch } from '@cairn/storage';

const KEY = Buffer.from('consistent_index');

export async function readConsistentIndex(backend: Backend): Promise<number> {
  const value = await backend.get('meta', KEY);
  return value ? Number(value.readBigUInt64BE(0)) : 0;
}

export function writeConsistentIndex(batch: BackendBatch, index: number): void {
  const value = Buffer.alloc(8);
  value.writeBigUInt64BE(BigInt(index));
  batch.put('meta', KEY, value);
}
