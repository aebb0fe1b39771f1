import { STATUS_CODES } from 'node:http';
import { Enum, Type, type Field } from 'protobufjs';
import { GrpcStatus, httpStatusForGrpcCode, toGrpcStatus } from './errors';
import { messageType, TO_OBJECT_OPTIONS } from './loader';

/**
 * etcd's JSON gateway speaks protobuf's JSON mapping as grpc-gateway configures it:
 * - requests: proto names (`range_end`) or lowerCamel JSON names (`rangeEnd`), bytes as base64 (standard
 *   or URL-safe, padding optional), 64-bit integers as strings or numbers, enums as names or numbers,
 *   null = unset, unknown fields ignored (grpc-gateway's DiscardUnknown);
 * - responses: proto names, 64-bit integers as strings, bytes as standard base64, enums as names, fields
 *   holding their default value omitted (EmitUnpopulated: false); a set message field is always emitted,
 *   `{}` when empty, and so is the chosen member of a oneof.
 */

/** JSON as JSON.parse returns it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A request body that does not fit its message. Carries gRPC InvalidArgument, as grpc-gateway answers. */
export class GatewayDecodeError extends Error {
  override readonly name = 'GatewayDecodeError';
  readonly code = GrpcStatus.INVALID_ARGUMENT;
  get details(): string {
    return this.message;
  }
}

/**
 * Parses a gateway JSON body (already JSON.parse'd) into `typeName`'s message, in exactly the shape
 * grpc-js handlers receive from proto-loader (keepCase names, int64 as strings, bytes as Buffer, enums as
 * numbers, defaults filled, oneof names set). Throws GatewayDecodeError when the body does not fit.
 */
export function decodeGatewayRequest<T = Record<string, unknown>>(typeName: string, json: unknown): T {
  const type = messageType(typeName);
  const plain = jsonToPlain(type, json, typeName);
  return type.toObject(type.fromObject(plain), TO_OBJECT_OPTIONS) as T;
}

/** Renders a response message (any shape proto-loader accepts) as etcd's gateway JSON object. */
export function encodeGatewayResponse(typeName: string, message: object): JsonObject {
  return messageToJson(messageType(typeName), message as Record<string, unknown>);
}

/** One line of a streaming gateway answer (watch, keepalive, snapshot, observe): `{"result": ...}`. */
export function encodeGatewayStreamResult(typeName: string, message: object): JsonObject {
  return { result: encodeGatewayResponse(typeName, message) };
}

/** The body of a failed unary gateway call and its HTTP status. */
export interface GatewayErrorResponse {
  httpStatus: number;
  /**
   * `error` (grpc-gateway v1, etcd 3.4/3.5) and `message` (google.rpc.Status, etcd 3.6) both carry the
   * text, so clients of either generation read it. No `details`: etcd 3.4's etcdctl-era gateway sends
   * exactly these three fields.
   */
  body: { error: string; code: number; message: string };
}

/** Maps any thrown value (EtcdError, GatewayDecodeError, grpc status, other) to the gateway error answer. */
export function gatewayError(err: unknown): GatewayErrorResponse {
  const { code, details } = toGrpcStatus(err);
  return {
    httpStatus: httpStatusForGrpcCode(code),
    body: { error: details, code, message: details },
  };
}

/**
 * The line a streaming gateway call ends with when the stream fails: google.rpc.Status fields (3.6) plus
 * the grpc-gateway v1 fields (3.4/3.5 clients).
 */
export function encodeGatewayStreamError(err: unknown): JsonObject {
  const { code, details } = toGrpcStatus(err);
  const httpStatus = httpStatusForGrpcCode(code);
  return {
    error: {
      code,
      message: details,
      details: [],
      grpc_code: code,
      http_code: httpStatus,
      http_status: STATUS_CODES[httpStatus] ?? '',
    },
  };
}

// ---- request side --------------------------------------------------------------------------------------

const fieldLookups = new WeakMap<Type, Map<string, Field>>();

/** protoc's JSON name: drop each underscore and upper-case the letter after it (`remaining_TTL` -> `remainingTTL`). */
function jsonName(protoName: string): string {
  return protoName.replace(/_(.)/g, (_match, next: string) => next.toUpperCase());
}

function fieldLookup(type: Type): Map<string, Field> {
  let lookup = fieldLookups.get(type);
  if (lookup === undefined) {
    lookup = new Map();
    for (const field of type.fieldsArray) {
      lookup.set(jsonName(field.name), field);
      lookup.set(field.name, field);
    }
    fieldLookups.set(type, lookup);
  }
  return lookup;
}

function fail(path: string, problem: string): never {
  throw new GatewayDecodeError(`invalid value for ${path}: ${problem}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON -> the plain object protobufjs' fromObject takes (bytes as Buffer, int64 as decimal strings). */
function jsonToPlain(type: Type, json: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(json)) fail(path, 'expected a JSON object');
  const plain: Record<string, unknown> = {};
  const oneofMembers = new Map<string, string>();
  for (const [key, value] of Object.entries(json)) {
    const field = fieldLookup(type).get(key);
    if (field === undefined || value === null) continue; // unknown fields are discarded; null means unset
    const fieldPath = `${path}.${field.name}`;
    if (field.name in plain) fail(fieldPath, 'given twice (proto name and JSON name)');
    if (field.partOf !== null) {
      const other = oneofMembers.get(field.partOf.name);
      if (other !== undefined) fail(fieldPath, `oneof ${field.partOf.name} already set by ${other}`);
      oneofMembers.set(field.partOf.name, field.name);
    }
    if (field.map) fail(fieldPath, 'map fields are not supported');
    if (field.repeated) {
      if (!Array.isArray(value)) fail(fieldPath, 'expected a JSON array');
      plain[field.name] = value.map((item, i) => jsonToValue(field, item, `${fieldPath}[${i}]`));
    } else {
      plain[field.name] = jsonToValue(field, value, fieldPath);
    }
  }
  return plain;
}

const INT64_LIMITS = {
  signed: [-(2n ** 63n), 2n ** 63n - 1n],
  unsigned: [0n, 2n ** 64n - 1n],
} as const;

function jsonToValue(field: Field, value: unknown, path: string): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof Type) return jsonToPlain(resolved, value, path);
  if (resolved instanceof Enum) return jsonToEnum(resolved, value, path);
  switch (field.type) {
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return jsonToInt64(value, path, INT64_LIMITS.signed);
    case 'uint64':
    case 'fixed64':
      return jsonToInt64(value, path, INT64_LIMITS.unsigned);
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return Number(jsonToInt64(value, path, [-(2n ** 31n), 2n ** 31n - 1n]));
    case 'uint32':
    case 'fixed32':
      return Number(jsonToInt64(value, path, [0n, 2n ** 32n - 1n]));
    case 'bool':
      if (typeof value !== 'boolean') fail(path, 'expected true or false');
      return value;
    case 'string':
      if (typeof value !== 'string') fail(path, 'expected a string');
      return value;
    case 'bytes':
      return jsonToBytes(value, path);
    case 'double':
    case 'float':
      return jsonToFloat(value, path);
    default:
      return fail(path, `unsupported field type ${field.type}`);
  }
}

function jsonToEnum(enumType: Enum, value: unknown, path: string): number {
  if (typeof value === 'string') {
    const number = enumType.values[value];
    if (number === undefined) fail(path, `unknown ${enumType.name} value "${value}"`);
    return number;
  }
  if (typeof value === 'number' && Number.isInteger(value)) return value; // proto3 enums are open
  return fail(path, `expected a ${enumType.name} name or number`);
}

/** 64-bit integers as decimal strings, checked against the field's range; never via a lossy double. */
function jsonToInt64(value: unknown, path: string, [min, max]: readonly [bigint, bigint]): string {
  let parsed: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) fail(path, 'expected an integer (send large values as strings)');
    parsed = BigInt(value);
  } else if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) {
    parsed = BigInt(value.trim());
  } else {
    return fail(path, 'expected an integer or a decimal string');
  }
  if (parsed < min || parsed > max) fail(path, 'integer out of range');
  return parsed.toString();
}

function jsonToBytes(value: unknown, path: string): Buffer {
  const bytes = typeof value === 'string' ? decodeBase64Strict(value) : undefined;
  if (bytes === undefined) fail(path, 'expected base64');
  return bytes;
}

/**
 * Decodes base64 as protojson (grpc-gateway) does, or answers undefined where Go fails: the standard
 * alphabet, or the URL-safe one when `-`/`_` appear (never both); `=` padding only when the length is a
 * multiple of 4, and then complete; no length of 4k+1. Node's own decoder skips bad characters and would
 * turn `!!!` into an empty value.
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  const s = text.replace(/[\r\n]/g, ''); // Go's decoder ignores line breaks
  const urlSafe = /[-_]/.test(s);
  const alphabet = urlSafe ? /^[A-Za-z0-9_-]*$/ : /^[A-Za-z0-9+/]*$/;
  let body = s;
  if (s.length % 4 === 0) {
    const padding = /=*$/.exec(s)?.[0].length ?? 0;
    if (padding > 2) return undefined;
    body = s.slice(0, s.length - padding);
  }
  if (!alphabet.test(body) || body.length % 4 === 1) return undefined;
  return Buffer.from(body, urlSafe ? 'base64url' : 'base64');
}

function jsonToFloat(value: unknown, path: string): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return fail(path, 'expected a number');
}

// ---- response side -------------------------------------------------------------------------------------

function messageToJson(type: Type, message: Record<string, unknown>): JsonObject {
  const json: JsonObject = {};
  for (const field of type.fieldsArray) {
    const value = message[field.name];
    if (value === undefined || value === null) continue;
    if (field.repeated) {
      if (Array.isArray(value) && value.length > 0)
        json[field.name] = value.map((item) => valueToJson(field, item));
      continue;
    }
    if (field.partOf !== null) {
      // A oneof member is emitted whenever it is the one set, even with a default value.
      const chosen = message[field.partOf.name];
      if (typeof chosen !== 'string' || chosen === field.name) json[field.name] = valueToJson(field, value);
      continue;
    }
    if (field.resolvedType instanceof Type || !isDefaultScalar(field, value)) {
      json[field.name] = valueToJson(field, value);
    }
  }
  return json;
}

function isDefaultScalar(field: Field, value: unknown): boolean {
  if (field.resolvedType instanceof Enum)
    return value === 0 || field.resolvedType.values[String(value)] === 0;
  switch (field.type) {
    case 'bool':
      return value === false;
    case 'string':
      return value === '';
    case 'bytes':
      return (value as { length?: number }).length === 0;
    default:
      return isZeroNumber(value);
  }
}

function isZeroNumber(value: unknown): boolean {
  if (typeof value === 'number') return value === 0 && !Object.is(value, -0);
  if (typeof value === 'bigint') return value === 0n;
  if (typeof value === 'string') return /^-?0+$/.test(value);
  return String(value) === '0'; // Long
}

function valueToJson(field: Field, value: unknown): JsonValue {
  const resolved = field.resolvedType;
  if (resolved instanceof Type) return messageToJson(resolved, value as Record<string, unknown>);
  if (resolved instanceof Enum) {
    if (typeof value === 'string') return value;
    return resolved.valuesById[value as number] ?? (value as number);
  }
  switch (field.type) {
    case 'int64':
    case 'sint64':
    case 'sfixed64':
    case 'uint64':
    case 'fixed64':
      return String(value); // strings, numbers, bigints and Longs all print as decimal
    case 'bytes':
      return typeof value === 'string' ? value : asBuffer(value as Uint8Array).toString('base64');
    case 'double':
    case 'float': {
      const number = Number(value);
      return Number.isFinite(number) ? number : String(number); // NaN, Infinity, -Infinity as strings
    }
    case 'bool':
    case 'string':
      return value as JsonValue;
    default:
      return Number(value); // 32-bit integers
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
