import type { Type } from 'protobufjs';
import type {
  InternalRaftRequest,
  InternalRaftRequest__Output,
} from './generated/cairn/internal/v1/InternalRaftRequest';
import { messageType, TO_OBJECT_OPTIONS } from './loader';

let internalType: Type | undefined;

function internalRequestType(): Type {
  internalType ??= messageType('cairn.internal.v1.InternalRaftRequest');
  return internalType;
}

/**
 * Encodes the request a member proposes to Raft. Takes the proto-loader input shape (int64 as decimal
 * string or safe number, bytes as Buffer/Uint8Array, enums as numbers or names), converted by protobufjs'
 * fromObject first so every accepted spelling encodes the same. Caveat of fromObject: an unknown enum name
 * is dropped (encodes as 0), so pass enum numbers, as decoded requests already have them.
 * The output is deterministic for a given object: fields in field-number order, repeated fields in order.
 * On the hot path of every write: see README.md for measured throughput.
 */
export function encodeInternalRequest(request: InternalRaftRequest): Uint8Array {
  const type = internalRequestType();
  return type.encode(type.fromObject(request as Record<string, unknown>)).finish();
}

/**
 * Decodes a Raft entry's data into the same shape gRPC handlers receive (LOADER_OPTIONS): int64 as strings,
 * bytes as Buffer, defaults filled, `request` naming the member of the oneof that is set.
 * Bytes fields are views into `data` (no copy): do not reuse `data`'s memory while the result is alive.
 */
export function decodeInternalRequest(data: Uint8Array): InternalRaftRequest__Output {
  const type = internalRequestType();
  // A Buffer makes protobufjs hand out Buffer views for bytes fields; plain Uint8Arrays are wrapped, not copied.
  const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return type.toObject(type.decode(buffer), TO_OBJECT_OPTIONS) as InternalRaftRequest__Output;
}
