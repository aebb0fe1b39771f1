// What a fuzz input must never do on purpose: a *valid* request that legitimately deletes or overwrites a
// sentinel key, switches auth on, raises a NOSPACE alarm, adds a voting member (quorum loss), or makes
// the member dial out (registry health checks). Such inputs would fail the sentinel check without any
// defect, so a generator drops them (after every mutation, decoded the way the server decodes them).
import { decodeGatewayRequest, messageType, TO_OBJECT_OPTIONS } from '@cairn/api';

export const SENTINEL_PREFIX = '/fuzz-sentinel/';
/** Keys the valid generators write under (sorts after SENTINEL_PREFIX: '/' > '-'). */
export const FUZZ_PREFIX = '/fuzz/';

export interface SafetyContext {
  sentinelKeys: readonly Buffer[];
  /** The member's ID (decimal), so remove/update/promote of itself is refused. */
  memberId: string;
}

type Obj = Record<string, unknown>;

const asBuf = (v: unknown): Buffer =>
  Buffer.isBuffer(v) ? v : v instanceof Uint8Array ? Buffer.from(v) : Buffer.alloc(0);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asObj = (v: unknown): Obj | undefined =>
  v !== null && typeof v === 'object' && !Buffer.isBuffer(v) ? (v as Obj) : undefined;

function coversSentinel(ctx: SafetyContext, key: Buffer, rangeEnd: Buffer): boolean {
  return ctx.sentinelKeys.some((s) => {
    if (rangeEnd.length === 0) return s.equals(key);
    if (rangeEnd.length === 1 && rangeEnd[0] === 0) return Buffer.compare(s, key) >= 0;
    return Buffer.compare(s, key) >= 0 && Buffer.compare(s, rangeEnd) < 0;
  });
}

function isSentinel(ctx: SafetyContext, key: unknown): boolean {
  const k = asBuf(key);
  return ctx.sentinelKeys.some((s) => s.equals(k));
}

function unsafeOp(ctx: SafetyContext, op: Obj | undefined): boolean {
  if (op === undefined) return false;
  const put = asObj(op.request_put);
  if (put && isSentinel(ctx, put.key)) return true;
  const del = asObj(op.request_delete_range);
  if (del && coversSentinel(ctx, asBuf(del.key), asBuf(del.range_end))) return true;
  const txn = asObj(op.request_txn);
  return txn !== undefined && unsafeTxn(ctx, txn);
}

function unsafeTxn(ctx: SafetyContext, txn: Obj): boolean {
  const ops = [...arr(txn.success), ...arr(txn.failure)];
  return ops.some((op) => unsafeOp(ctx, asObj(op)));
}

function parsesAsUrl(text: unknown): boolean {
  try {
    new URL(String(text));
    return true;
  } catch {
    return false;
  }
}

/** True when this decoded request, served as intended, would change what the sentinel check observes. */
export function unsafeRequest(ctx: SafetyContext, method: string, msg: Obj): boolean {
  switch (method) {
    case 'etcdserverpb.KV/Put':
      return isSentinel(ctx, msg.key);
    case 'etcdserverpb.KV/DeleteRange':
      return coversSentinel(ctx, asBuf(msg.key), asBuf(msg.range_end));
    case 'etcdserverpb.KV/Txn':
      return unsafeTxn(ctx, msg);
    case 'etcdserverpb.Cluster/MemberAdd':
      return arr(msg.peerURLs).some(parsesAsUrl);
    case 'etcdserverpb.Cluster/MemberRemove':
    case 'etcdserverpb.Cluster/MemberUpdate':
    case 'etcdserverpb.Cluster/MemberPromote':
      return String(msg.ID) === ctx.memberId;
    case 'etcdserverpb.Maintenance/Alarm':
      return Number(msg.action) === 1;
    case 'etcdserverpb.Maintenance/Downgrade':
      return Number(msg.action) === 1;
    case 'etcdserverpb.Maintenance/MoveLeader':
      return String(msg.targetID) === ctx.memberId;
    case 'etcdserverpb.Auth/AuthEnable':
      return true;
    case 'v3lockpb.Lock/Unlock':
      return isSentinel(ctx, msg.key);
    case 'v3electionpb.Election/Proclaim':
    case 'v3electionpb.Election/Resign':
      return isSentinel(ctx, asObj(msg.leader)?.key);
    case 'cairn.registry.v1.Registry/Register':
      return asObj(asObj(msg.instance)?.check) !== undefined;
    default:
      return false;
  }
}

/** Decodes `payload` as protobufjs (the server's decoder) would; undefined if it cannot be decoded. */
function decodeAs(typeName: string, payload: Buffer): Obj | undefined {
  try {
    const type = messageType(typeName);
    return type.toObject(type.decode(payload), TO_OBJECT_OPTIONS) as Obj;
  } catch {
    return undefined;
  }
}

/**
 * A gRPC payload is safe when neither it nor any prefix of it (a lenient hand-written decoder might accept a
 * torn message) decodes to an unsafe request. Methods that can never be unsafe skip the work.
 */
export function unsafeGrpcPayload(
  ctx: SafetyContext,
  method: string,
  typeName: string,
  payload: Buffer,
): boolean {
  if (!GUARDED.has(method)) return false;
  const cuts = new Set<number>([payload.length]);
  const step = Math.max(1, Math.floor(payload.length / 256));
  for (let i = 0; i < payload.length; i += step) cuts.add(i);
  for (const cut of cuts) {
    const msg = decodeAs(typeName, payload.subarray(0, cut));
    if (msg !== undefined && unsafeRequest(ctx, method, msg)) return true;
  }
  return false;
}

const GUARDED = new Set([
  'etcdserverpb.KV/Put',
  'etcdserverpb.KV/DeleteRange',
  'etcdserverpb.KV/Txn',
  'etcdserverpb.Cluster/MemberAdd',
  'etcdserverpb.Cluster/MemberRemove',
  'etcdserverpb.Cluster/MemberUpdate',
  'etcdserverpb.Cluster/MemberPromote',
  'etcdserverpb.Maintenance/Alarm',
  'etcdserverpb.Maintenance/Downgrade',
  'etcdserverpb.Maintenance/MoveLeader',
  'etcdserverpb.Auth/AuthEnable',
  'v3lockpb.Lock/Unlock',
  'v3electionpb.Election/Proclaim',
  'v3electionpb.Election/Resign',
  'cairn.registry.v1.Registry/Register',
]);

/** A JSON gateway body is safe unless it parses and decodes (as the gateway does) to an unsafe request. */
export function unsafeGatewayBody(
  ctx: SafetyContext,
  method: string,
  typeName: string,
  body: string,
): boolean {
  if (!GUARDED.has(method)) return false;
  // A bidi route (watch, keepalive) reads several objects; only the guarded unary routes matter here.
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return false;
  }
  // Strictly (as @cairn/api decodes today) and leniently (as a server built from an older codec may: base64
  // that ignores bad characters, enum names): unsafe if either reading is.
  try {
    if (unsafeRequest(ctx, method, decodeGatewayRequest<Obj>(typeName, json))) return true;
  } catch {
    /* the strict codec refuses it */
  }
  const loose = asObj(lenient(json));
  if (loose === undefined) return false;
  try {
    return unsafeRequest(ctx, method, loose);
  } catch {
    return true; // a shape the check cannot read: do not send it
  }
}

const ENUM_NAMES: Record<string, number> = {
  GET: 0,
  ACTIVATE: 1,
  DEACTIVATE: 2,
  VALIDATE: 0,
  ENABLE: 1,
  CANCEL: 2,
};

function lenient(value: unknown, field = '', depth = 0): unknown {
  if (depth > 64) return undefined; // deeper than any request message: nothing there names a key
  if (Array.isArray(value)) return value.map((v) => lenient(v, field, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value as Obj)) out[k] = lenient(v, k, depth + 1);
    return out;
  }
  if (typeof value === 'string' && (field === 'key' || field === 'range_end'))
    return Buffer.from(value, 'base64');
  if (typeof value === 'string' && field === 'action') return ENUM_NAMES[value] ?? value;
  return value;
}

/** A REST body is unsafe when it would overwrite a sentinel (console) or start health checks (registry). */
export function unsafeRestBody(ctx: SafetyContext, path: string, body: string): boolean {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return false;
  }
  const obj = asObj(json);
  if (obj === undefined) return false;
  if (path.startsWith('/api/console/')) {
    const key = obj.key;
    return typeof key === 'string' && isSentinel(ctx, Buffer.from(key, 'utf8'));
  }
  if (path.startsWith('/api/registry/')) return 'check' in obj && obj.check !== null;
  return false;
}
