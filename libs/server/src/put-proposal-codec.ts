// The Raft entry of a plain Put, encoded (and decoded at apply) by hand: the generic encodeInternalRequest (protobufjs fromObject, then
// encode) measured at about two thirds of the proposer's CPU per put, most of it in fromObject. The bytes decode
// (decodeInternalRequest) to the same request: InternalRaftRequest { put = 4; header = 100 }, with proto3's
// defaults (empty bytes, 0, false) left out as any protobuf encoder may.
import type { InternalRaftRequest__Output, PutRequest } from '@cairn/api';
import type { EntryHeader } from './auth/entry-subject';

type PutRequest__Output = NonNullable<InternalRaftRequest__Output['put']>;
type RequestHeader__Output = NonNullable<InternalRaftRequest__Output['header']>;

const U64_MASK = (1n << 64n) - 1n;
const TAG_PUT = (4 << 3) | 2;
const TAG_HEADER = (100 << 3) | 2; // two varint bytes: 0xa2 0x06

/** True when the put has the wire shape this encoder takes (as the gRPC deserializer gives it). */
function plainPut(put: PutRequest): put is PutRequest & { key: Uint8Array; value?: Uint8Array } {
  const lease: unknown = put.lease;
  return (
    put.key instanceof Uint8Array &&
    (put.value === undefined || put.value instanceof Uint8Array) &&
    (lease === undefined ||
      (typeof lease === 'string' && INT_TEXT.test(lease)) ||
      Number.isSafeInteger(lease))
  );
}

const INT_TEXT = /^-?\d{1,20}$/;

/**
 * The InternalRaftRequest bytes of `{ put, header }`, or undefined when `put` is not in the shape the gRPC
 * deserializer gives (the caller then uses encodeInternalRequest).
 */
export function encodePutProposal(
  put: PutRequest,
  header: EntryHeader,
  /** header.ID as the bigint it was made from, when the caller has it (spares parsing it back). */
  idValue?: bigint,
): Uint8Array | undefined {
  if (!plainPut(put)) return undefined;
  const key = put.key;
  const value = put.value ?? EMPTY;
  const lease = int64((put.lease ?? 0) as string | number); // plainPut checked it
  if (lease === undefined) return undefined;
  const id = idValue ?? uint64(header.ID);
  const authRevision = uint64(header.auth_revision);
  const username = header.username === '' ? EMPTY : Buffer.from(header.username, 'utf8');

  const putLen =
    bytesField(key.length) +
    bytesField(value.length) +
    (lease === 0n ? 0 : 1 + varintSize(lease)) +
    (put.prev_kv ? 2 : 0) +
    (put.ignore_value ? 2 : 0) +
    (put.ignore_lease ? 2 : 0);
  const headerLen =
    (id === 0n ? 0 : 1 + varintSize(id)) +
    bytesField(username.length) +
    (authRevision === 0n ? 0 : 1 + varintSize(authRevision));
  const total = 1 + smallVarintSize(putLen) + putLen + 2 + smallVarintSize(headerLen) + headerLen;

  const out = Buffer.allocUnsafe(total);
  let at = 0;
  const byte = (b: number): void => {
    out[at++] = b;
  };
  const varint = (n: bigint): void => {
    at = writeVarint64(out, at, n);
  };
  const smallVarint = (n: number): void => {
    let v = n;
    while (v >= 0x80) {
      byte((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    byte(v);
  };
  const flag = (tag: number): void => {
    byte(tag);
    byte(1);
  };
  const bytes = (tag: number, b: Uint8Array): void => {
    if (b.length === 0) return;
    byte(tag);
    smallVarint(b.length);
    out.set(b, at);
    at += b.length;
  };

  byte(TAG_PUT);
  smallVarint(putLen);
  bytes(0x0a, key);
  bytes(0x12, value);
  if (lease !== 0n) {
    byte(0x18);
    varint(lease);
  }
  if (put.prev_kv) flag(0x20);
  if (put.ignore_value) flag(0x28);
  if (put.ignore_lease) flag(0x30);

  byte((TAG_HEADER & 0x7f) | 0x80);
  byte(TAG_HEADER >>> 7);
  smallVarint(headerLen);
  if (id !== 0n) {
    byte(0x08);
    varint(id);
  }
  bytes(0x12, username);
  if (authRevision !== 0n) {
    byte(0x18);
    varint(authRevision);
  }
  return out;
}

const EMPTY = new Uint8Array(0);

function bytesField(length: number): number {
  return length === 0 ? 0 : 1 + smallVarintSize(length) + length;
}

function smallVarintSize(n: number): number {
  let size = 1;
  for (let v = n; v >= 0x80; v >>>= 7) size++;
  return size;
}

// 64-bit varints through two 32-bit halves: a bigint shifted per byte allocated two bigints per byte (a
// request id takes ten bytes), a measurable share of the write path's garbage.
function varintSize(n: bigint): number {
  if (n < 0x80n) return 1;
  let lo = Number(n & 0xffffffffn);
  let hi = Number(n >> 32n);
  let size = 1;
  while (hi > 0 || lo >= 0x80) {
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
    size++;
  }
  return size;
}

function writeVarint64(out: Uint8Array, start: number, n: bigint): number {
  let at = start;
  let lo = Number(n & 0xffffffffn);
  let hi = Number(n >> 32n);
  while (hi > 0 || lo >= 0x80) {
    out[at++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  out[at++] = lo;
  return at;
}

/**
 * An int64 as protobuf writes it: negative values as their 64-bit two's complement (ten varint bytes);
 * undefined when out of range (left to the generic encoder).
 */
function int64(value: string | number): bigint | undefined {
  const n = BigInt(value);
  if (n < INT64_MIN || n > INT64_MAX) return undefined;
  return BigInt.asUintN(64, n);
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

function uint64(value: string): bigint {
  return BigInt(value) & U64_MASK;
}

/**
 * The request in a Put entry's bytes, decoded by hand as decodeInternalRequest would (int64 as decimal strings,
 * bytes as Buffer views into `data`, defaults filled, `request: 'put'`); protobufjs decode + toObject measured at
 * about 3 µs per applied put. Undefined for anything else (another request, an unknown or repeated field, a
 * wire type the schema does not give): the caller then uses decodeInternalRequest. Throws nothing.
 */
export function decodePutProposal(data: Uint8Array): InternalRaftRequest__Output | undefined {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const reader = new Reader(buf, 0, buf.length);
  let put: PutRequest__Output | undefined;
  let header: RequestHeader__Output | undefined;
  while (reader.at < reader.end) {
    const tag = reader.varint();
    if (tag === TAG_PUT && put === undefined) {
      const body = reader.lengthDelimited();
      if (body === undefined) return undefined;
      put = readPut(body);
      if (put === undefined) return undefined;
    } else if (tag === TAG_HEADER && header === undefined) {
      const body = reader.lengthDelimited();
      if (body === undefined) return undefined;
      header = readHeader(body);
      if (header === undefined) return undefined;
    } else {
      return undefined;
    }
  }
  if (reader.failed || put === undefined) return undefined;
  return { header: header ?? null, put, request: 'put' } as InternalRaftRequest__Output;
}

function readPut(r: Reader): PutRequest__Output | undefined {
  let key: Buffer | undefined;
  let value: Buffer | undefined;
  let lease: string | undefined;
  let prevKv: boolean | undefined;
  let ignoreValue: boolean | undefined;
  let ignoreLease: boolean | undefined;
  while (r.at < r.end) {
    const tag = r.varint();
    if (tag === 0x0a && key === undefined) key = r.bytes();
    else if (tag === 0x12 && value === undefined) value = r.bytes();
    else if (tag === 0x18 && lease === undefined) lease = r.int64();
    else if (tag === 0x20 && prevKv === undefined) prevKv = r.bool();
    else if (tag === 0x28 && ignoreValue === undefined) ignoreValue = r.bool();
    else if (tag === 0x30 && ignoreLease === undefined) ignoreLease = r.bool();
    else return undefined;
    if (r.failed) return undefined;
  }
  return {
    key: key ?? Buffer.alloc(0),
    value: value ?? Buffer.alloc(0),
    lease: lease ?? '0',
    prev_kv: prevKv ?? false,
    ignore_value: ignoreValue ?? false,
    ignore_lease: ignoreLease ?? false,
  };
}

function readHeader(r: Reader): RequestHeader__Output | undefined {
  let id: string | undefined;
  let username: string | undefined;
  let authRevision: string | undefined;
  let requester: string | undefined;
  while (r.at < r.end) {
    const tag = r.varint();
    if (tag === 0x08 && id === undefined) id = r.uint64();
    else if (tag === 0x12 && username === undefined) username = r.bytes()?.toString('utf8');
    else if (tag === 0x18 && authRevision === undefined) authRevision = r.uint64();
    else if (tag === 0x20 && requester === undefined) requester = r.uint64();
    else return undefined;
    if (r.failed) return undefined;
  }
  return {
    ID: id ?? '0',
    username: username ?? '',
    auth_revision: authRevision ?? '0',
    requester_member_id: requester ?? '0',
  };
}

/** A protobuf reader over buf[at, end) that records a malformed read in `failed` instead of throwing. */
class Reader {
  failed = false;

  constructor(
    private readonly buf: Buffer,
    public at: number,
    public readonly end: number,
  ) {}

  /** A varint of up to 49 bits as a number (tags, lengths); -1 (and failed) otherwise. */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 7 && this.at < this.end; i++) {
      const b = this.buf[this.at++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    this.failed = true;
    this.at = this.end;
    return -1;
  }

  /** The two 32-bit halves of a full 64-bit varint (at most 10 bytes); undefined (and failed) when malformed. */
  private varint64(): [lo: number, hi: number] | undefined {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10 && this.at < this.end; i++) {
      const b = this.buf[this.at++];
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) return [lo >>> 0, hi >>> 0];
    }
    this.failed = true;
    this.at = this.end;
    return undefined;
  }

  uint64(): string | undefined {
    const v = this.varint64();
    if (v === undefined) return undefined;
    const [lo, hi] = v;
    if (hi < 0x200000) return String(hi * 0x100000000 + lo); // below 2^53: exact as a number
    return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
  }

  int64(): string | undefined {
    const v = this.varint64();
    if (v === undefined) return undefined;
    const [lo, hi] = v;
    if (hi < 0x200000) return String(hi * 0x100000000 + lo);
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
  }

  bool(): boolean | undefined {
    const v = this.varint64();
    return v === undefined ? undefined : v[0] !== 0 || v[1] !== 0;
  }

  bytes(): Buffer | undefined {
    const length = this.varint();
    if (length < 0 || length > this.end - this.at) {
      this.failed = true;
      this.at = this.end;
      return undefined;
    }
    const view = this.buf.subarray(this.at, this.at + length);
    this.at += length;
    return view;
  }

  lengthDelimited(): Reader | undefined {
    const length = this.varint();
    if (length < 0 || length > this.end - this.at) return undefined;
    const sub = new Reader(this.buf, this.at, this.at + length);
    this.at += length;
    return sub;
  }
}
