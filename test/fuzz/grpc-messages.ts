// gRPC messages for every method of every service the client URL serves, read from the same .proto
// files the server loads (@cairn/api): random bytes, valid messages, mutated valid messages (bit flips,
// truncation, splices), and framing abuse (wrong length prefix, compressed flag, oversize, several
// messages on a unary call). Inputs that would legitimately touch a sentinel key are dropped (safety.ts).
import { gzipSync } from 'node:zlib';
import { etcdRoot } from '@cairn/api';
import { Enum, Namespace, Service, Type, type Field, type ReflectionObject } from 'protobufjs';
import { mutateBytes, type Rng } from './rng';
import { FUZZ_PREFIX, unsafeGrpcPayload, type SafetyContext } from './safety';

export interface GrpcMethod {
  /** 'etcdserverpb.KV/Range' */
  readonly name: string;
  /** '/etcdserverpb.KV/Range' */
  readonly path: string;
  readonly requestType: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

export interface GrpcInput {
  readonly kind: 'grpc';
  readonly method: GrpcMethod;
  readonly how: string;
  /** The request's HTTP/2 DATA: one or more length-prefixed gRPC messages, or something that is not. */
  readonly body: Buffer;
  readonly extraHeaders: Readonly<Record<string, string>>;
  /** False: the request body never ends (no END_STREAM); the call is cancelled by the client later. */
  readonly endStream: boolean;
  /** Cancel (RST_STREAM CANCEL) this many ms after the request is written; undefined: wait for the answer. */
  readonly cancelAfterMs: number | undefined;
}

/** Services on the client URL (the internal one is the peer URL's). */
const SERVED_PACKAGES = [
  'etcdserverpb',
  'v3lockpb',
  'v3electionpb',
  'grpc.health.v1',
  'cairn.registry.v1',
  'cairn.config.v1',
];

let methods: GrpcMethod[] | undefined;

export function servedMethods(): readonly GrpcMethod[] {
  if (methods !== undefined) return methods;
  const found: GrpcMethod[] = [];
  const visit = (ns: ReflectionObject): void => {
    if (ns instanceof Service) {
      const service = ns.fullName.replace(/^\./, '');
      if (!SERVED_PACKAGES.some((p) => service.startsWith(`${p}.`))) return;
      for (const m of ns.methodsArray) {
        m.resolve();
        const requestType = m.resolvedRequestType!.fullName.replace(/^\./, '');
        found.push({
          name: `${service}/${m.name}`,
          path: `/${service}/${m.name}`,
          requestType,
          requestStream: m.requestStream === true,
          responseStream: m.responseStream === true,
        });
      }
    } else if (ns instanceof Namespace) {
      for (const child of ns.nestedArray) visit(child);
    }
  };
  visit(etcdRoot());
  methods = found.sort((a, b) => a.name.localeCompare(b.name));
  return methods;
}

const INT64_EDGES = [
  '0',
  '1',
  '-1',
  '2',
  '9223372036854775807',
  '-9223372036854775808',
  '4294967296',
  '1000',
];
const UINT64_EDGES = ['0', '1', '18446744073709551615', '9223372036854775808', '4294967295', '7'];

function fuzzKey(rng: Rng): Buffer {
  return rng.chance(0.85)
    ? Buffer.from(FUZZ_PREFIX + rng.text(rng.size(24)), 'utf8')
    : Buffer.concat([Buffer.from(FUZZ_PREFIX), rng.bytes(rng.size(40))]);
}

function scalar(rng: Rng, field: Field): unknown {
  const name = field.name.toLowerCase();
  switch (field.type) {
    case 'bytes':
      if (name === 'range_end') return Buffer.from(`${FUZZ_PREFIX}\xff`, 'latin1');
      if (/key|name|prefix/.test(name)) return fuzzKey(rng);
      return rng.chance(0.1) ? Buffer.alloc(rng.size(200_000), rng.int(256)) : rng.bytes(rng.size(300));
    case 'string':
      if (/url/i.test(field.name))
        return rng.pick(['', 'http://', 'not a url', '::', 'http://[::1', rng.text(20)]);
      if (rng.chance(0.1)) return rng.text(rng.size(20_000));
      return rng.pick(['', 'default', 'orders', 'a/b', '..', rng.text(rng.size(40))]);
    case 'bool':
      return rng.chance(0.5);
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return rng.chance(0.5) ? rng.pick(INT64_EDGES) : String(rng.int(1_000_000) - 1000);
    case 'uint64':
    case 'fixed64':
      return rng.chance(0.5) ? rng.pick(UINT64_EDGES) : String(rng.int(1_000_000));
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return rng.pick([0, 1, -1, 2147483647, -2147483648, rng.int(100_000)]);
    case 'uint32':
    case 'fixed32':
      return rng.pick([0, 1, 4294967295, rng.int(100_000)]);
    case 'double':
    case 'float':
      return rng.pick([0, -1, 1.5, 1e308, Number.NaN, Number.POSITIVE_INFINITY]);
    default:
      return undefined;
  }
}

function fieldValue(rng: Rng, field: Field, depth: number): unknown {
  field.resolve();
  const resolved = field.resolvedType;
  if (resolved instanceof Enum) {
    const values = Object.values(resolved.values);
    return rng.chance(0.85) ? rng.pick(values) : rng.pick([-1, 99, 2147483647]);
  }
  if (resolved instanceof Type) return depth > 4 ? {} : randomObject(rng, resolved, depth + 1);
  return scalar(rng, field);
}

/** A random but well-typed message object for `type` (one member per oneof). */
export function randomObject(rng: Rng, type: Type, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const skip = new Set<string>();
  for (const oneof of type.oneofsArray) {
    const keep = rng.pick(oneof.fieldsArray).name;
    for (const f of oneof.fieldsArray) if (f.name !== keep) skip.add(f.name);
  }
  for (const field of type.fieldsArray) {
    if (skip.has(field.name) || !rng.chance(depth === 0 ? 0.8 : 0.6)) continue;
    if (field.map) {
      const map: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--) map[rng.text(rng.size(12))] = fieldValue(rng, field, depth);
      out[field.name] = map;
    } else if (field.repeated) {
      const items: unknown[] = [];
      for (let i = rng.int(depth > 2 ? 2 : 4); i > 0; i--) items.push(fieldValue(rng, field, depth));
      out[field.name] = items;
    } else {
      out[field.name] = fieldValue(rng, field, depth);
    }
  }
  return out;
}

export function encodeObject(typeName: string, obj: Record<string, unknown>): Buffer {
  const type = etcdRoot().lookupType(typeName);
  return Buffer.from(type.encode(type.fromObject(obj)).finish());
}

/** One gRPC length-prefixed message. */
export function grpcFrame(payload: Buffer, compressed = false, declaredLength = payload.length): Buffer {
  const header = Buffer.alloc(5);
  header[0] = compressed ? 1 : 0;
  header.writeUInt32BE(declaredLength >>> 0, 1);
  return Buffer.concat([header, payload]);
}

function validPayload(rng: Rng, method: GrpcMethod): Buffer {
  return encodeObject(method.requestType, randomObject(rng, etcdRoot().lookupType(method.requestType)));
}

/** One input for one method; `undefined` when every attempt was unsafe. */
function tryGrpcInput(rng: Rng, method: GrpcMethod, ctx: SafetyContext): GrpcInput | undefined {
  const strategy = rng.weighted([
    [3, 'random'],
    [2, 'valid'],
    [5, 'mutated'],
    [3, 'framing'],
  ] as const);
  const extraHeaders: Record<string, string> = {};
  const payloads: Buffer[] = [];
  let how: string = strategy;
  let body: Buffer;
  if (strategy === 'random') {
    payloads.push(rng.bytes(rng.size(2000)));
    body = grpcFrame(payloads[0]!);
  } else if (strategy === 'valid') {
    const count = method.requestStream ? 1 + rng.int(4) : 1;
    for (let i = 0; i < count; i++) payloads.push(validPayload(rng, method));
    body = Buffer.concat(payloads.map((p) => grpcFrame(p)));
  } else if (strategy === 'mutated') {
    payloads.push(mutateBytes(rng, validPayload(rng, method)));
    body = grpcFrame(payloads[0]!);
  } else {
    const payload = validPayload(rng, method);
    payloads.push(payload);
    const abuse = rng.int(8);
    how = `framing/${['length+', 'length-', 'length-huge', 'compressed-flag', 'gzip', 'oversize', 'extra-messages', 'partial-prefix'][abuse]}`;
    switch (abuse) {
      case 0:
        body = grpcFrame(payload, false, payload.length + 1 + rng.int(1000));
        break;
      case 1:
        body = grpcFrame(payload, false, Math.max(0, payload.length - 1 - rng.int(8)));
        break;
      case 2:
        body = grpcFrame(payload, false, rng.pick([0xffffffff, 0x7fffffff, 0x01000000, 4 * 1024 * 1024 + 1]));
        break;
      case 3:
        body = grpcFrame(payload, true);
        break;
      case 4:
        extraHeaders['grpc-encoding'] = rng.pick(['gzip', 'deflate', 'snappy', 'identity', 'x']);
        body = grpcFrame(rng.chance(0.7) ? gzipSync(payload) : mutateBytes(rng, gzipSync(payload)), true);
        break;
      case 5: {
        const big = Buffer.alloc(
          rng.pick([1_600_000, 2 * 1024 * 1024, 4 * 1024 * 1024 + 16, 6 * 1024 * 1024]),
          0x41,
        );
        // A value field (tag 2, bytes) is the usual way to be oversize: PutRequest{key, value}.
        const oversize = encodeObject('etcdserverpb.PutRequest', { key: fuzzKey(rng), value: big });
        payloads[0] = oversize;
        body = grpcFrame(oversize);
        break;
      }
      case 6:
        for (let i = 1 + rng.int(5); i > 0; i--) payloads.push(validPayload(rng, method));
        body = Buffer.concat(payloads.map((p) => grpcFrame(p)));
        break;
      default:
        body = grpcFrame(payload).subarray(0, rng.int(5));
        break;
    }
  }
  for (const p of payloads) {
    if (unsafeGrpcPayload(ctx, method.name, method.requestType, p)) return undefined;
    // A wrong length prefix makes the server read a different slice as the message.
    if (unsafeGrpcPayload(ctx, method.name, method.requestType, body.subarray(5))) return undefined;
  }
  const endStream = rng.chance(0.85);
  const cancelAfterMs = rng.chance(0.25) ? rng.pick([0, 0, 1, 5, 20]) : undefined;
  const tail = `${endStream ? '' : ' no-end-stream'}${cancelAfterMs === undefined ? '' : ` cancel@${cancelAfterMs}ms`}`;
  return { kind: 'grpc', method, how: how + tail, body, extraHeaders, endStream, cancelAfterMs };
}

/**
 * Input `index` of a run: methods are taken round-robin (every served method gets inputs/methods of them,
 * whatever the seed), the rest of the input is drawn from `rng`.
 */
export function genGrpcInput(rng: Rng, ctx: SafetyContext, index: number): GrpcInput {
  const all = servedMethods();
  const method = all[index % all.length]!;
  for (let attempt = 0; attempt < 20; attempt++) {
    const input = tryGrpcInput(rng, method, ctx);
    if (input !== undefined) return input;
  }
  return {
    kind: 'grpc',
    method,
    how: 'fallback (every draw was unsafe)',
    body: grpcFrame(Buffer.alloc(0)),
    extraHeaders: {},
    endStream: true,
    cancelAfterMs: undefined,
  };
}
