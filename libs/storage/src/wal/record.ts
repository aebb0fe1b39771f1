// Record framing. Every record is
//
//   u32 LE  payload length N
//   u32 LE  CRC-32C
//   u8      record type
//   N bytes payload
//
// The CRC is per record (not chained) and covers seq(u64 LE) ‖ file offset(u64 LE) ‖ N ‖ type ‖ payload.
// Per record, so that after a bad record the reader can look for valid records further on and tell a
// torn tail (nothing valid follows) from damage in the middle (something valid follows). Seeded with the
// segment seq and the record's own offset, so a stale or misplaced copy of a record (a user value that
// happens to contain WAL bytes, a block written to the wrong place) never verifies.
import type { Entry } from '@cairn/raft';
import { BinaryWriter } from '../codec/binary-writer';
import { entrySize, writeEntry } from '../codec/entry-codec';
import { crc32c } from '../crc32c';

export enum RecordType {
  /** First record of every segment: format version, seq and first index (checked against the name). */
  SegmentHeader = 1,
  /** Opaque bytes the server gave at create (cluster id, member id); repeated at the start of each segment. */
  Metadata = 2,
  Entry = 3,
  HardState = 4,
  /** {index, term} of a snapshot, written after the snapshot file was saved. */
  SnapshotMark = 5,
}

export const RECORD_HEADER_BYTES = 9;

/** A record whose payload is already encoded (the small ones: header, metadata, hard state, mark). */
export interface PlainRecord {
  type: RecordType;
  payload: Uint8Array;
}

const seedScratch = new Uint8Array(16);

function putU64(b: Uint8Array, at: number, n: number): void {
  const lo = n % 0x1_0000_0000;
  const hi = Math.floor(n / 0x1_0000_0000);
  b[at] = lo;
  b[at + 1] = lo >>> 8;
  b[at + 2] = lo >>> 16;
  b[at + 3] = lo >>> 24;
  b[at + 4] = hi;
  b[at + 5] = hi >>> 8;
  b[at + 6] = hi >>> 16;
  b[at + 7] = hi >>> 24;
}

/** The CRC of the record framed at `pos` of `buf`, which sits at `fileOffset` of segment `seq`. */
export function recordCrc(
  buf: Uint8Array,
  pos: number,
  payloadLength: number,
  seq: number,
  fileOffset: number,
): number {
  putU64(seedScratch, 0, seq);
  putU64(seedScratch, 8, fileOffset);
  let crc = crc32c(seedScratch);
  crc = crc32c(buf, crc, pos, pos + 4);
  return crc32c(buf, crc, pos + 8, pos + RECORD_HEADER_BYTES + payloadLength);
}

function sealRecord(
  buf: Uint8Array,
  pos: number,
  payloadLength: number,
  seq: number,
  fileOffset: number,
): void {
  const crc = recordCrc(buf, pos, payloadLength, seq, fileOffset);
  buf[pos + 4] = crc;
  buf[pos + 5] = crc >>> 8;
  buf[pos + 6] = crc >>> 16;
  buf[pos + 7] = crc >>> 24;
}

/**
 * Frames `entries` and then `others` as consecutive records for segment `seq`, starting at file offset
 * `fileOffset`, into ONE buffer (one write, one fsync: group commit). Entries are encoded straight into the
 * buffer; validation happens in the size pass, so a bad entry throws before anything is built.
 */
export function frameRecords(
  seq: number,
  fileOffset: number,
  entries: readonly Entry[],
  others: readonly PlainRecord[],
): Uint8Array {
  const sizes = new Array<number>(entries.length);
  let total = 0;
  for (let i = 0; i < entries.length; i++) {
    sizes[i] = entrySize(entries[i]);
    total += RECORD_HEADER_BYTES + sizes[i];
  }
  for (const r of others) total += RECORD_HEADER_BYTES + r.payload.length;

  const w = BinaryWriter.alloc(total);
  for (let i = 0; i < entries.length; i++) {
    const pos = w.pos;
    w.u32le(sizes[i]);
    w.pos += 4; // CRC, filled in by sealRecord
    w.u8(RecordType.Entry);
    writeEntry(w, entries[i]);
    sealRecord(w.buf, pos, sizes[i], seq, fileOffset + pos);
  }
  for (const r of others) {
    const pos = w.pos;
    w.u32le(r.payload.length);
    w.pos += 4;
    w.u8(r.type);
    w.raw(r.payload);
    sealRecord(w.buf, pos, r.payload.length, seq, fileOffset + pos);
  }
  return w.finish();
}

export type RecordAt =
  { ok: true; type: RecordType; payloadStart: number; next: number } | { ok: false; reason: string };

function isRecordType(t: number): t is RecordType {
  return t >= RecordType.SegmentHeader && t <= RecordType.SnapshotMark;
}

/** Reads and verifies the record at `pos` of a segment buffer whose offset 0 is the start of the file. */
export function readRecordAt(buf: Uint8Array, pos: number, seq: number): RecordAt {
  const end = buf.length;
  if (end - pos < RECORD_HEADER_BYTES) {
    return { ok: false, reason: `truncated record header (${end - pos} bytes left)` };
  }
  const length = (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0;
  const type = buf[pos + 8];
  if (type === 0 && isZero(buf, pos, pos + RECORD_HEADER_BYTES)) {
    return { ok: false, reason: 'zero-filled header (space that was never written)' };
  }
  if (!isRecordType(type)) return { ok: false, reason: `unknown record type ${type}` };
  if (length > end - pos - RECORD_HEADER_BYTES) {
    return {
      ok: false,
      reason: `record length ${length} runs past the end of the file (${end - pos - RECORD_HEADER_BYTES} bytes left)`,
    };
  }
  const stored = (buf[pos + 4] | (buf[pos + 5] << 8) | (buf[pos + 6] << 16) | (buf[pos + 7] << 24)) >>> 0;
  const actual = recordCrc(buf, pos, length, seq, pos);
  if (stored !== actual) {
    return {
      ok: false,
      reason: `CRC mismatch (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)})`,
    };
  }
  return {
    ok: true,
    type,
    payloadStart: pos + RECORD_HEADER_BYTES,
    next: pos + RECORD_HEADER_BYTES + length,
  };
}

function isZero(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}
