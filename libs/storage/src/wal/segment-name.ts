// Segment files are named `<seq:16 hex>-<index:16 hex>.wal`: seq counts segments from 0, index is the first
// Raft index the segment may hold (last index written before the cut, plus one).
import { readdirSync } from 'node:fs';

export interface SegmentName {
  seq: number;
  index: number;
  name: string;
}

const SEGMENT_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}

export function formatSegmentName(seq: number, index: number): string {
  return `${hex16(seq)}-${hex16(index)}.wal`;
}

/** Parses a segment file name; undefined for anything else (including values beyond 2^53). */
export function parseSegmentName(name: string): SegmentName | undefined {
  const m = SEGMENT_RE.exec(name);
  if (!m) return undefined;
  const seq = BigInt(`0x${m[1]}`);
  const index = BigInt(`0x${m[2]}`);
  if (seq > BigInt(Number.MAX_SAFE_INTEGER) || index > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { seq: Number(seq), index: Number(index), name };
}

/** The segments in `dir`, ordered by seq. A missing directory has none. */
export function listSegments(dir: string): SegmentName[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: SegmentName[] = [];
  for (const name of names) {
    const parsed = parseSegmentName(name);
    if (parsed) out.push(parsed);
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/**
 * The segment to start reading at for a log that begins after `index`: the newest segment whose name index
 * is <= `index`, searched from the end because a new leader's overwrite can make name indexes go down.
 * -1 when no segment qualifies.
 */
export function segmentHolding(segments: readonly SegmentName[], index: number): number {
  for (let k = segments.length - 1; k >= 0; k--) {
    if (segments[k].index <= index) return k;
  }
  return -1;
}
