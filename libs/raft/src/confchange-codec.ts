// A small deterministic binary encoding of a ConfChange, stored as the data of an EntryType.ConfChange
// entry. Layout (big-endian):
//   u8 version (=1) | u8 type | u64 nodeId | u32 context length | context bytes
import { ConfChangeType, type ConfChange } from './types';

const VERSION = 1;
const HEADER_BYTES = 1 + 1 + 8 + 4;
const MAX_UINT64 = (1n << 64n) - 1n;

export function encodeConfChange(cc: ConfChange): Uint8Array {
  if (cc.nodeId < 0n || cc.nodeId > MAX_UINT64) {
    throw new RangeError(`conf change node id out of uint64 range: ${cc.nodeId}`);
  }
  const out = new Uint8Array(HEADER_BYTES + cc.context.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, VERSION);
  view.setUint8(1, cc.type);
  view.setBigUint64(2, cc.nodeId);
  view.setUint32(10, cc.context.byteLength);
  out.set(cc.context, HEADER_BYTES);
  return out;
}

export function decodeConfChange(bytes: Uint8Array): ConfChange {
  if (bytes.byteLength < HEADER_BYTES) {
    throw new Error(`conf change too short: ${bytes.byteLength} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== VERSION) throw new Error(`unknown conf change encoding version ${version}`);
  const type = view.getUint8(1);
  if (
    type !== ConfChangeType.AddNode &&
    type !== ConfChangeType.RemoveNode &&
    type !== ConfChangeType.AddLearnerNode
  ) {
    throw new Error(`unknown conf change type ${type}`);
  }
  const nodeId = view.getBigUint64(2);
  const contextLength = view.getUint32(10);
  if (HEADER_BYTES + contextLength !== bytes.byteLength) {
    throw new Error(
      `conf change length mismatch: header says ${contextLength} context bytes, have ${bytes.byteLength - HEADER_BYTES}`,
    );
  }
  // Copy so the result does not alias the entry's buffer.
  const context = bytes.slice(HEADER_BYTES);
  return { type, nodeId, context };
}
