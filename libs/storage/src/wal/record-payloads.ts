// Payloads of the WAL's own record types (entries and hard states use the Raft codec).
//   SegmentHeader: magic "CWAL", uvarint format version, uvarint seq, uvarint first index
//   SnapshotMark:  uvarint index, uvarint term
import { BinaryReader } from '../codec/binary-reader';
import { BinaryWriter, uvarintSize } from '../codec/binary-writer';
import { CodecError } from '../codec/errors';

export const WAL_FORMAT_VERSION = 1;
const MAGIC = Uint8Array.from([0x43, 0x57, 0x41, 0x4c]); // "CWAL"

export interface SegmentHeader {
  version: number;
  seq: number;
  index: number;
}

/** A snapshot's place in the log: the WAL keeps only this, the snapshot itself is a file of its own. */
export interface SnapshotMark {
  index: number;
  term: number;
}

export function encodeSegmentHeader(seq: number, index: number): Uint8Array {
  const w = BinaryWriter.alloc(
    MAGIC.length +
      uvarintSize(WAL_FORMAT_VERSION, 'version') +
      uvarintSize(seq, 'seq') +
      uvarintSize(index, 'index'),
  );
  w.raw(MAGIC);
  w.uvarint(WAL_FORMAT_VERSION);
  w.uvarint(seq);
  w.uvarint(index);
  return w.finish();
}

export function decodeSegmentHeader(payload: Uint8Array): SegmentHeader {
  const r = new BinaryReader(payload);
  const magic = r.raw(MAGIC.length, 'magic');
  if (!MAGIC.every((b, i) => magic[i] === b)) throw new CodecError('bad segment magic');
  const version = r.uvarint('version');
  const seq = r.uvarint('seq');
  const index = r.uvarint('index');
  r.expectEnd('segment header');
  return { version, seq, index };
}

export function encodeSnapshotMark(mark: SnapshotMark): Uint8Array {
  const w = BinaryWriter.alloc(uvarintSize(mark.index, 'mark.index') + uvarintSize(mark.term, 'mark.term'));
  w.uvarint(mark.index);
  w.uvarint(mark.term);
  return w.finish();
}

export function decodeSnapshotMark(payload: Uint8Array): SnapshotMark {
  const r = new BinaryReader(payload);
  const index = r.uvarint('mark.index');
  const term = r.uvarint('mark.term');
  r.expectEnd('snapshot mark');
  return { index, term };
}
