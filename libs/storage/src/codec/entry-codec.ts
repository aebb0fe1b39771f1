// Entry: uvarint term, uvarint index, u8 type, uvarint data length, data.
import { EntryType } from '@cairn/raft';
import type { Entry } from '@cairn/raft';
import { BinaryReader, type DecodeOptions } from './binary-reader';
import { BinaryWriter, bytesSize, uvarintSize } from './binary-writer';
import { CodecError } from './errors';

export function entrySize(e: Entry): number {
  if (EntryType[e.type] === undefined) throw new CodecError(`unknown entry type ${e.type}`);
  return (
    uvarintSize(e.term, 'entry.term') +
    uvarintSize(e.index, 'entry.index') +
    1 +
    bytesSize(e.data, 'entry.data')
  );
}

/** Writes an entry sized with `entrySize` (which validates it). */
export function writeEntry(w: BinaryWriter, e: Entry): void {
  w.uvarint(e.term);
  w.uvarint(e.index);
  w.u8(e.type);
  w.bytes(e.data);
}

export function readEntry(r: BinaryReader): Entry {
  const term = r.uvarint('entry.term');
  const index = r.uvarint('entry.index');
  const type = r.u8('entry.type');
  if (EntryType[type] === undefined) throw new CodecError(`unknown entry type ${type}`);
  const data = r.bytes('entry.data');
  return { term, index, type: type as EntryType, data };
}

export function encodeEntry(e: Entry): Uint8Array {
  const w = BinaryWriter.alloc(entrySize(e));
  writeEntry(w, e);
  return w.finish();
}

export function decodeEntry(bytes: Uint8Array, opts?: DecodeOptions): Entry {
  const r = new BinaryReader(bytes, 0, bytes.length, opts);
  const e = readEntry(r);
  r.expectEnd('entry');
  return e;
}

/** Size of a batch: uvarint count, then the entries back to back. */
export function entriesSize(entries: readonly Entry[]): number {
  let size = uvarintSize(entries.length, 'entries.length');
  for (const e of entries) size += entrySize(e);
  return size;
}

export function writeEntries(w: BinaryWriter, entries: readonly Entry[]): void {
  w.uvarint(entries.length);
  for (const e of entries) writeEntry(w, e);
}

/** Smallest possible encoded entry (term, index, type, empty data): bounds a decoded count. */
export const MIN_ENTRY_BYTES = 4;

export function readEntries(r: BinaryReader): Entry[] {
  const n = r.count('entries.length', MIN_ENTRY_BYTES);
  const out = new Array<Entry>(n);
  for (let i = 0; i < n; i++) out[i] = readEntry(r);
  return out;
}

/** One buffer for a whole batch: one size pass, one allocation, one write pass. */
export function encodeEntries(entries: readonly Entry[]): Uint8Array {
  const w = BinaryWriter.alloc(entriesSize(entries));
  writeEntries(w, entries);
  return w.finish();
}

export function decodeEntries(bytes: Uint8Array, opts?: DecodeOptions): Entry[] {
  const r = new BinaryReader(bytes, 0, bytes.length, opts);
  const out = readEntries(r);
  r.expectEnd('entries');
  return out;
}
