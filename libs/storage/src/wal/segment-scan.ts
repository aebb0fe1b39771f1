// Reading one segment file and deciding where its valid data ends.
//
// Recovery rules (README "Recovery"):
// - Records are read in order until the first one that is not valid (short header, zero header, unknown
//   type, length past the end of the file, CRC mismatch).
// - If only zero bytes follow, that is the clean end of the data (preallocated space), in any segment.
// - Otherwise, in a segment that is not the last one, it is corruption: a later segment exists only after
//   this one was fsynced whole.
// - In the last segment, the rest of the file is searched for a record that verifies at its own offset.
//   If there is one, the bad record sits in the middle of good data: corruption. If there is none, it is a
//   torn tail (a write that never completed, so never acknowledged): the data ends at the bad record and
//   the caller zeroes the rest.
import { readRecordAt, RecordType } from './record';
import { WalCorruptError } from './errors';

export interface ScannedRecord {
  type: RecordType;
  /** Byte offset of the record in the file (what a WalCorruptError names). */
  offset: number;
  /** A view into the segment buffer. */
  payload: Uint8Array;
}

export interface SegmentScan {
  records: ScannedRecord[];
  /** Where the valid data ends: the next record goes here. */
  dataEnd: number;
  /** End of the torn bytes to zero (> dataEnd only when a torn tail was found). */
  tornEnd: number;
}

const ZEROS = Buffer.alloc(64 * 1024);

/** Index of the last non-zero byte in `buf[from, end)`, or -1. Compares 64 KiB blocks natively. */
export function lastNonZero(buf: Uint8Array, from: number): number {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let end = b.length;
  while (end > from) {
    const start = Math.max(from, end - ZEROS.length);
    if (b.compare(ZEROS, 0, end - start, start, end) !== 0) {
      for (let i = end - 1; i >= start; i--) if (b[i] !== 0) return i;
    }
    end = start;
  }
  return -1;
}

/** Offset of the first record in [from, lastNz] that verifies at its own offset, or -1. */
function findValidRecord(buf: Uint8Array, from: number, lastNz: number, seq: number): number {
  // A record's type byte (offset + 8) is non-zero, so a record cannot start after lastNz - 8. The type test
  // is a cheap filter; readRecordAt then rejects nearly all candidates on the header check.
  for (let pos = from; pos <= lastNz - 8; pos++) {
    const type = buf[pos + 8];
    if (type < RecordType.SegmentHeader || type > RecordType.SnapshotMark) continue;
    if (readRecordAt(buf, pos, seq).ok) return pos;
  }
  return -1;
}

export function scanSegment(buf: Uint8Array, file: string, seq: number, isLast: boolean): SegmentScan {
  const records: ScannedRecord[] = [];
  let pos = 0;
  let failure = '';
  while (pos < buf.length) {
    const r = readRecordAt(buf, pos, seq);
    if (!r.ok) {
      failure = r.reason;
      break;
    }
    records.push({ type: r.type, offset: pos, payload: buf.subarray(r.payloadStart, r.next) });
    pos = r.next;
  }

  let tornEnd = pos;
  if (pos < buf.length) {
    const lastNz = lastNonZero(buf, pos);
    if (lastNz >= 0) {
      if (!isLast) throw new WalCorruptError(file, pos, `${failure} in a segment that is not the last`);
      const valid = findValidRecord(buf, pos + 1, lastNz, seq);
      if (valid >= 0)
        throw new WalCorruptError(file, pos, `${failure}; a valid record follows at offset ${valid}`);
      tornEnd = lastNz + 1;
    }
  }
  if (records.length === 0 || records[0].type !== RecordType.SegmentHeader) {
    // Segments are created whole (header fsynced before the rename), so even a torn tail cannot reach here.
    throw new WalCorruptError(file, 0, failure ? `no valid segment header: ${failure}` : 'no segment header');
  }
  return { records, dataEnd: pos, tornEnd };
}
