// The bytes of a `.snap` file:
//   0   8  magic "CAIRNSNP"
//   8   4  u32 LE format version (1)
//  12   4  u32 LE CRC-32C of the payload
//  16   8  u64 LE payload length
//  24   N  payload: the Raft snapshot in the codec's encoding (metadata + data)
import type { Snapshot } from '@cairn/raft';
import { decodeSnapshot, encodeSnapshot } from '../codec';
import { crc32c } from '../crc32c';

const MAGIC = Buffer.from('CAIRNSNP', 'ascii');
const VERSION = 1;
const HEADER_BYTES = 24;

export function encodeSnapFile(snapshot: Snapshot): Buffer {
  const payload = encodeSnapshot(snapshot);
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(VERSION, 8);
  out.writeUInt32LE(crc32c(payload), 12);
  out.writeBigUInt64LE(BigInt(payload.length), 16);
  out.set(payload, HEADER_BYTES);
  return out;
}

/** Decodes a `.snap` file; throws an Error saying what is wrong with it. */
export function decodeSnapFile(buf: Buffer): Snapshot {
  if (buf.length < HEADER_BYTES) throw new Error(`too short (${buf.length} bytes)`);
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('bad magic');
  const version = buf.readUInt32LE(8);
  if (version !== VERSION) throw new Error(`unsupported version ${version}`);
  const length = buf.readBigUInt64LE(16);
  if (length !== BigInt(buf.length - HEADER_BYTES)) {
    throw new Error(`payload length ${length} does not match the file (${buf.length - HEADER_BYTES} bytes)`);
  }
  const payload = buf.subarray(HEADER_BYTES);
  const stored = buf.readUInt32LE(12);
  const actual = crc32c(payload);
  if (stored !== actual)
    throw new Error(`CRC mismatch (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)})`);
  return decodeSnapshot(payload, { copy: true });
}
