// Record framing. Every record is
//
//   u32 LE  payload length N
//   u32 LE  record CRC
//   u8      record type
//   u16 LE  header check
//   N bytes payload
//
// Both checks are CRC-32C and per record (not chained like etcd's). H = CRC-32C of
// seq (u64 LE) ‖ file offset of the record (u64 LE) ‖ N (u32 LE) ‖ type; the header check is H's low 16
// bits and the record CRC continues H over the payload, so it covers everything at no extra cost.
// - Per record, so that after a bad record the reader can try later offsets for a record that verifies,
//   and tell a torn tail (nothing valid follows) from damage in the middle (something valid follows).
// - Seeded with the segment seq and the record's own offset, so a copy of a record anywhere else (a user
//   value that happens to contain WAL bytes, a block written to the wrong place) never verifies.
// - The header check lets that search reject almost every candidate offset without checksumming a
//   payload, so it stays linear even over megabytes of torn random data.
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

export const RECORD_HEADER_BYTES = 11;
const CRC_AT = 4;
const TYPE_AT = 8;
const CHECK_AT = 9;

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

function u32At(buf: Uint8Array, at: number): number {
  return (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
}

/** H: the CRC of (seq, offset, length, type) of the record framed at `pos`, sitting at `fileOffset`. */
function headerCrc(buf: Uint8Array, pos: number, seq: number, fileOffset: number): number {
  putU64(seedScratch, 0, seq);
  putU64(seedScratch, 8, fileOffset);
  const crc = crc32c(buf, crc32c(seedScratch), pos, pos + 4);
  return crc32c(buf, crc, pos + TYPE_AT, pos + TYPE_AT + 1);
}

/** Fills in the header check and the record CRC of a record whose length, type and payload are written. */
function sealRecord(
  buf: Uint8Array,
  pos: number,
  payloadLength: number,
  seq: number,
  fileOffset: number,
): void {
  const h = headerCrc(buf, pos, seq, fileOffset);
  buf[pos + CHECK_AT] = h;
  buf[pos + CHECK_AT + 1] = h >>> 8;
  const start = pos + RECORD_HEADER_BYTES;
  const crc = crc32c(buf, h, start, start + payloadLength);
  buf[pos + CRC_AT] = crc;
  buf[pos + CRC_AT + 1] = crc >>> 8;
  buf[pos + CRC_AT + 2] = crc >>> 16;
  buf[pos + CRC_AT + 3] = crc >>> 24;
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
  const frame = (type: RecordType, payloadLength: number): number => {
    const pos = w.pos;
    w.u32le(payloadLength);
    w.pos += 4; // record CRC, filled in by sealRecord
    w.u8(type);
    w.pos += 2; // header check, filled in by sealRecord
    return pos;
  };
  for (let i = 0; i < entries.length; i++) {
    const pos = frame(RecordType.Entry, sizes[i]);
    writeEntry(w, entries[i]);
    sealRecord(w.buf, pos, sizes[i], seq, fileOffset + pos);
  }
  for (const r of others) {
    const pos = frame(r.type, r.payload.length);
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

function isZero(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Reads and verifies the record at `pos` of a whole segment file in `buf` (so `pos` is also the file
 * offset). Checks run cheapest first: type, length, header check, and only then the payload CRC.
 */
export function readRecordAt(buf: Uint8Array, pos: number, seq: number): RecordAt {
  const left = buf.length - pos - RECORD_HEADER_BYTES;
  if (left < 0) return { ok: false, reason: `truncated record header (${buf.length - pos} bytes left)` };
  const type = buf[pos + TYPE_AT];
  if (type === 0 && isZero(buf, pos, pos + RECORD_HEADER_BYTES)) {
    return { ok: false, reason: 'zero-filled header (space that was never written)' };
  }
  if (!isRecordType(type)) return { ok: false, reason: `unknown record type ${type}` };
  const length = u32At(buf, pos);
  if (length > left) {
    return {
      ok: false,
      reason: `record length ${length} runs past the end of the file (${left} bytes left)`,
    };
  }
  const h = headerCrc(buf, pos, seq, pos);
  const check = buf[pos + CHECK_AT] | (buf[pos + CHECK_AT + 1] << 8);
  if ((h & 0xffff) !== check) return { ok: false, reason: 'header check mismatch' };
  const start = pos + RECORD_HEADER_BYTES;
  const stored = u32At(buf, pos + CRC_AT);
  const actual = crc32c(buf, h, start, start + length);
  if (stored !== actual) {
    return {
      ok: false,
      reason: `CRC mismatch (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)})`,
    };
  }
  return { ok: true, type, payloadStart: start, next: start + length };
}
