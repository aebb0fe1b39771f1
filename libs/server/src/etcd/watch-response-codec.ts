// etcdserverpb.WatchResponse with events, encoded by hand. Fan-out sends the same events to every watcher of
// every stream: each mvccpb.Event is encoded once (cached on the event object, which the store shares between
// watchers) and a watcher's response is only its header, watch_id and those bytes copied in. Proto3 wire
// format, fields in number order, default values omitted (protobufjs writes the same bytes for a message
// without them).
import type { KeyValue, WatchEvent } from '@cairn/mvcc';

/** The header fields as CairnNode.header() gives them. */
export interface WireHeader {
  cluster_id: string;
  member_id: string;
  revision: number;
  raft_term: number;
}

const eventCache = new WeakMap<WatchEvent, Buffer>();
let lastHeader: { fields: WireHeader; bytes: Buffer } | undefined;

/** mvccpb.Event bytes of `event`, encoded on first use and shared by every response that carries it. */
export function encodeWatchEvent(event: WatchEvent): Buffer {
  let bytes = eventCache.get(event);
  if (!bytes) {
    const parts: Array<number | Uint8Array> = [];
    if (event.type === 'delete') parts.push(0x08, ...uvarint(1));
    bytesField(parts, 0x12, encodeKeyValue(event.kv));
    if (event.prevKv) bytesField(parts, 0x1a, encodeKeyValue(event.prevKv));
    bytes = join(parts);
    eventCache.set(event, bytes);
  }
  return bytes;
}

/** A revision's events as a response carries them: each event's bytes, and the size deliver() splits by. */
export interface EncodedEvents {
  readonly events: readonly Buffer[];
  /** The approximate bytes of the events (etcd's fragment split counts these). */
  readonly sizes: readonly number[];
  readonly size: number;
}

const listCache = new WeakMap<readonly WatchEvent[], EncodedEvents>();

/**
 * The events of a response, encoded: cached on the list, which the store shares between the watchers of one key
 * or prefix, so a revision fanned out to 500 watchers is prepared once.
 */
export function encodeWatchEvents(list: readonly WatchEvent[]): EncodedEvents {
  let encoded = listCache.get(list);
  if (!encoded) {
    const sizes = list.map(eventSize);
    encoded = {
      events: list.map(encodeWatchEvent),
      sizes,
      size: sizes.reduce((sum, bytes) => sum + bytes, 64),
    };
    listCache.set(list, encoded);
  }
  return encoded;
}

/** An event's approximate size: key and value bytes plus a little per KeyValue. */
export function eventSize(event: WatchEvent): number {
  const prev = event.prevKv;
  return (
    32 + event.kv.key.length + event.kv.value.length + (prev ? 32 + prev.key.length + prev.value.length : 0)
  );
}

/** etcdserverpb.ResponseHeader bytes; the last one is reused while its fields stay the same. */
export function encodeResponseHeader(header: WireHeader): Buffer {
  const last = lastHeader;
  if (
    last &&
    last.fields.revision === header.revision &&
    last.fields.raft_term === header.raft_term &&
    last.fields.cluster_id === header.cluster_id &&
    last.fields.member_id === header.member_id
  )
    return last.bytes;
  const parts: Array<number | Uint8Array> = [];
  field(parts, 0x08, BigInt(header.cluster_id));
  field(parts, 0x10, BigInt(header.member_id));
  field(parts, 0x18, header.revision);
  field(parts, 0x20, header.raft_term);
  const bytes = join(parts);
  lastHeader = { fields: { ...header }, bytes };
  return bytes;
}

/** A WatchResponse { header, watch_id, fragment?, events } from encoded header and event bytes. */
export function encodeWatchEventsResponse(
  header: Buffer,
  watchId: number,
  events: readonly Buffer[],
  fragment = false,
): Buffer {
  // The per-watcher path: one allocation, varints written in place.
  const id = watchId === 0 ? undefined : watchId > 0 && watchId <= MAX_SMALL ? watchId : uvarint(watchId);
  let size = 1 + varintSize(header.length) + header.length + (fragment ? 2 : 0);
  if (typeof id === 'number') size += 1 + varintSize(id);
  else if (id) size += 1 + id.length;
  for (const event of events) size += 1 + varintSize(event.length) + event.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = 0x0a;
  let pos = writeVarint(out, 1, header.length);
  out.set(header, pos);
  pos += header.length;
  if (id !== undefined) {
    out[pos++] = 0x10;
    if (typeof id === 'number') pos = writeVarint(out, pos, id);
    else {
      out.set(id, pos);
      pos += id.length;
    }
  }
  if (fragment) {
    out[pos++] = 0x38;
    out[pos++] = 1;
  }
  for (const event of events) {
    out[pos++] = 0x5a;
    pos = writeVarint(out, pos, event.length);
    out.set(event, pos);
    pos += event.length;
  }
  return out;
}

/** Largest value the in-place varint writer takes (the rest go through uvarint). */
const MAX_SMALL = 0x7fff_ffff;

function varintSize(value: number): number {
  let size = 1;
  while (value > 0x7f) {
    value >>>= 7;
    size++;
  }
  return size;
}

/** Writes a varint of 0 <= value <= MAX_SMALL at `pos`; returns the position after it. */
function writeVarint(out: Buffer, pos: number, value: number): number {
  while (value > 0x7f) {
    out[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[pos++] = value;
  return pos;
}

function encodeKeyValue(kv: KeyValue): Buffer {
  const parts: Array<number | Uint8Array> = [];
  bytesField(parts, 0x0a, kv.key);
  field(parts, 0x10, kv.createRevision);
  field(parts, 0x18, kv.modRevision);
  field(parts, 0x20, kv.version);
  bytesField(parts, 0x2a, kv.value);
  field(parts, 0x30, kv.lease);
  return join(parts);
}

/** A varint field, omitted when zero (proto3 default). */
function field(parts: Array<number | Uint8Array>, tag: number, value: number | bigint): void {
  if (value === 0 || value === 0n) return;
  parts.push(tag, uvarint(value));
}

/** A length-delimited field, omitted when empty. */
function bytesField(parts: Array<number | Uint8Array>, tag: number, value: Uint8Array): void {
  if (value.length === 0) return;
  parts.push(tag, uvarint(value.length), value);
}

/** Varint of an int64/uint64; negative values as their 64-bit two's complement (10 bytes), as protobuf does. */
function uvarint(value: number | bigint): Uint8Array {
  if (typeof value === 'number' && value >= 0 && value <= 0xffff_ffff) {
    const out: number[] = [];
    let v = value;
    while (v > 0x7f) {
      out.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return Uint8Array.from(out);
  }
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

function join(parts: ReadonlyArray<number | Uint8Array>): Buffer {
  let size = 0;
  for (const part of parts) size += typeof part === 'number' ? 1 : part.length;
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const part of parts) {
    if (typeof part === 'number') out[pos++] = part;
    else {
      out.set(part, pos);
      pos += part.length;
    }
  }
  return out;
}
