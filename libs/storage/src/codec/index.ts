// Compact, deterministic binary encoding of the Raft types, shared by the WAL and the peer transport.
// Numbers (terms, indexes) are unsigned LEB128 varints limited to 2^53; node IDs are fixed 8-byte
// little-endian uint64 (they are random, a varint would not be shorter). Full layout: ../../README.md.
export { CodecError } from './errors';
export { BinaryReader, type DecodeOptions } from './binary-reader';
export { BinaryWriter } from './binary-writer';
export {
  decodeEntries,
  decodeEntry,
  encodeEntries,
  encodeEntry,
  entriesSize,
  entrySize,
  readEntry,
  writeEntry,
} from './entry-codec';
export {
  confStateSize,
  decodeConfState,
  decodeHardState,
  decodeSnapshot,
  encodeConfState,
  encodeHardState,
  encodeSnapshot,
  hardStateSize,
  snapshotSize,
} from './state-codec';
export { decodeMessage, decodeMessages, encodeMessage, encodeMessages, messageSize } from './message-codec';
