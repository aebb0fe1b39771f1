// A revision names one change: `main` is the store revision of the write transaction, `sub` the
// position of the change inside it. Both are JS numbers: they grow by one per write, far below 2^53.
// On disk a revision is etcd's 17-byte layout (main BE, '_', sub BE) plus a 't' for tombstones, so
// the 'key' bucket sorts by revision and our hashKV matches etcd's for the same history.

export interface Revision {
  readonly main: number;
  readonly sub: number;
}

export const REVISION_BYTES = 17;
const TOMBSTONE_MARK = 0x74; // 't'
const SEPARATOR = 0x5f; // '_'

export function compareRevisions(a: Revision, b: Revision): number {
  if (a.main !== b.main) return a.main < b.main ? -1 : 1;
  if (a.sub !== b.sub) return a.sub < b.sub ? -1 : 1;
  return 0;
}

/** A compact Map/Set key for a revision. */
export function revisionId(rev: Revision): string {
  return `${rev.main}_${rev.sub}`;
}

function writeUint64(out: Buffer, value: number, offset: number): void {
  // Numbers above 2^32 cannot go through bitwise ops; split into high and low words.
  out.writeUInt32BE(Math.floor(value / 0x1_0000_0000), offset);
  out.writeUInt32BE(value % 0x1_0000_0000, offset + 4);
}

function readUint64(bytes: Uint8Array, offset: number): number {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.readUInt32BE(offset) * 0x1_0000_0000 + view.readUInt32BE(offset + 4);
}

/** The 'key' bucket key of a revision; tombstones (deletes) carry a trailing 't'. */
export function encodeRevisionKey(rev: Revision, tombstone = false): Buffer {
  const out = Buffer.allocUnsafe(tombstone ? REVISION_BYTES + 1 : REVISION_BYTES);
  writeUint64(out, rev.main, 0);
  out[8] = SEPARATOR;
  writeUint64(out, rev.sub, 9);
  if (tombstone) out[REVISION_BYTES] = TOMBSTONE_MARK;
  return out;
}

export function decodeRevisionKey(bytes: Uint8Array): { revision: Revision; tombstone: boolean } {
  if (bytes.length !== REVISION_BYTES && bytes.length !== REVISION_BYTES + 1) {
    throw new Error(`revision key: bad length ${bytes.length}`);
  }
  return {
    revision: { main: readUint64(bytes, 0), sub: readUint64(bytes, 9) },
    tombstone: bytes.length === REVISION_BYTES + 1 && bytes[REVISION_BYTES] === TOMBSTONE_MARK,
  };
}

/** The smallest revision key of `main` (for range bounds over the 'key' bucket). */
export function revisionKeyFloor(main: number): Buffer {
  return encodeRevisionKey({ main, sub: 0 });
}
