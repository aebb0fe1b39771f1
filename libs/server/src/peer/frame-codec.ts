// Hand codec for the two messages of the Stream RPC (peer.proto: StreamFrame, StreamReply), protobuf wire
// format. They cross the wire once per Raft batch each way, so they skip protobufjs' object conversions
// (uint64 <-> Long <-> decimal string) and the sender encodes its frame header (cluster, from, to) once per
// stream. Output is what protobufjs would write; input is read leniently, as protobuf readers do (unknown
// fields skipped, a repeated scalar field: last one wins).
import { GrpcStatus } from '@cairn/api';

/** A decoded StreamFrame: the batch of Raft messages (encodeMessages) as a view into the input. */
export interface PeerFrame {
  clusterId: bigint;
  from: bigint;
  to: bigint;
  messages: Buffer;
}

/** A frame the codec cannot read; INVALID_ARGUMENT like the peer's other refusals of a bad frame. */
export class FrameCodecError extends Error {
  readonly code = GrpcStatus.INVALID_ARGUMENT;
  constructor(readonly details: string) {
    super(details);
    this.name = 'FrameCodecError';
  }
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;
const MESSAGES_TAG = (4 << 3) | WIRE_BYTES;
const EMPTY = Buffer.alloc(0);

function pushVarint64(out: number[], value: bigint): void {
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

function pushVarint(out: number[], value: number): void {
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function pushUint64Field(out: number[], field: number, value: bigint): void {
  if (value === 0n) return; // proto3: a zero scalar is not written
  out.push((field << 3) | WIRE_VARINT);
  pushVarint64(out, value);
}

/** Fields 1-3 of a StreamFrame: the same for every frame of one stream, so encoded once. */
export function encodeFrameHeader(clusterId: bigint, from: bigint, to: bigint): Buffer {
  const out: number[] = [];
  pushUint64Field(out, 1, clusterId);
  pushUint64Field(out, 2, from);
  pushUint64Field(out, 3, to);
  return Buffer.from(out);
}

/**
 * One StreamFrame as a gRPC length-prefixed message (flag byte, 4-byte length, the protobuf), in one
 * allocation: `header` from encodeFrameHeader, then the batch (an empty batch is not written).
 */
export function encodeGrpcStreamFrame(header: Buffer, messages: Uint8Array): Buffer {
  const lengthField: number[] = [];
  if (messages.length > 0) {
    lengthField.push(MESSAGES_TAG);
    pushVarint(lengthField, messages.length);
  }
  const size = header.length + lengthField.length + messages.length;
  const out = Buffer.allocUnsafe(5 + size);
  out[0] = 0;
  out.writeUInt32BE(size, 1);
  header.copy(out, 5);
  let pos = 5 + header.length;
  for (const b of lengthField) out[pos++] = b;
  out.set(messages, pos);
  return out;
}

/** A StreamFrame as plain protobuf (for grpc-js, which adds the gRPC prefix itself). */
export function encodeStreamFrame(frame: PeerFrame): Buffer {
  return encodeGrpcStreamFrame(
    encodeFrameHeader(frame.clusterId, frame.from, frame.to),
    frame.messages,
  ).subarray(5);
}

/** A StreamReply (member_id = 1), plain protobuf. */
export function encodeStreamReply(memberId: bigint): Buffer {
  const out: number[] = [];
  pushUint64Field(out, 1, memberId);
  return Buffer.from(out);
}

/** Reads protobuf fields off a buffer; every malformed input ends in a FrameCodecError. */
class FieldReader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint64(): bigint {
    const buf = this.buf;
    // Up to 7 bytes (49 bits) fit a double exactly; member and cluster IDs usually need all 10.
    let low = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      const byte = this.byte();
      low += (byte & 0x7f) * scale;
      if (byte < 0x80) return BigInt(low);
      scale *= 128;
    }
    let value = BigInt(low);
    let shift = 49n;
    for (let i = 7; i < 10; i++) {
      const byte = buf[this.pos];
      if (byte === undefined) throw new FrameCodecError('cairn: malformed peer frame (truncated varint)');
      this.pos++;
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asUintN(64, value);
      shift += 7n;
    }
    throw new FrameCodecError('cairn: malformed peer frame (varint longer than 10 bytes)');
  }

  length(): number {
    const n = this.varint64();
    if (n > BigInt(this.buf.length - this.pos)) {
      throw new FrameCodecError('cairn: malformed peer frame (field longer than the frame)');
    }
    return Number(n);
  }

  bytes(): Buffer {
    const n = this.length();
    const start = this.pos;
    this.pos += n;
    return this.buf.subarray(start, this.pos);
  }

  skip(wireType: number): void {
    if (wireType === WIRE_VARINT) this.varint64();
    else if (wireType === WIRE_BYTES) this.advance(this.length());
    else if (wireType === WIRE_FIXED64) this.advance(8);
    else if (wireType === WIRE_FIXED32) this.advance(4);
    else throw new FrameCodecError(`cairn: malformed peer frame (wire type ${wireType})`);
  }

  private advance(n: number): void {
    if (this.buf.length - this.pos < n) throw new FrameCodecError('cairn: malformed peer frame (truncated)');
    this.pos += n;
  }

  private byte(): number {
    const byte = this.buf[this.pos];
    if (byte === undefined) throw new FrameCodecError('cairn: malformed peer frame (truncated varint)');
    this.pos++;
    return byte;
  }
}

/** Reads fields of `bytes`, calling `onField` with each field number and wire type (it must consume). */
function readFields(bytes: Buffer, onField: (r: FieldReader, field: number, wireType: number) => void): void {
  const r = new FieldReader(bytes);
  while (!r.done()) {
    const key = Number(r.varint64());
    const field = Math.floor(key / 8);
    if (field === 0) throw new FrameCodecError('cairn: malformed peer frame (field number 0)');
    onField(r, field, key & 7);
  }
}

export function decodeStreamFrame(bytes: Buffer): PeerFrame {
  const frame: PeerFrame = { clusterId: 0n, from: 0n, to: 0n, messages: EMPTY };
  readFields(bytes, (r, field, wireType) => {
    if (field === 1 && wireType === WIRE_VARINT) frame.clusterId = r.varint64();
    else if (field === 2 && wireType === WIRE_VARINT) frame.from = r.varint64();
    else if (field === 3 && wireType === WIRE_VARINT) frame.to = r.varint64();
    else if (field === 4 && wireType === WIRE_BYTES) frame.messages = r.bytes();
    else r.skip(wireType);
  });
  return frame;
}

/** A StreamReply's member_id. */
export function decodeStreamReply(bytes: Buffer): bigint {
  let memberId = 0n;
  readFields(bytes, (r, field, wireType) => {
    if (field === 1 && wireType === WIRE_VARINT) memberId = r.varint64();
    else r.skip(wireType);
  });
  return memberId;
}
