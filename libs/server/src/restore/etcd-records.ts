// Translation of the values etcd 3.4 keeps in its backend buckets into the records Cairn's stores keep in
// theirs. 'key' needs none (Cairn stores etcd's revision keys and mvccpb.KeyValue bytes as they are); the
// 'meta' numbers, leases (leasepb.Lease) and auth (authpb.User/Role) are re-encoded here. Formats written
// must stay those of libs/mvcc (meta.ts, lease-record-codec.ts) and auth-store.ts: the unit test loads the
// converted backend with those stores to keep them in step.
import type { BackendBatch } from '@cairn/storage';

/** One protobuf field: varints as bigint, length-delimited fields as bytes. */
type Field = { no: number; varint: bigint } | { no: number; bytes: Buffer };

function* fields(message: Buffer, what: string): Generator<Field> {
  let offset = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (offset >= message.length || shift > 63n) throw new Error(`${what}: bad varint`);
      const byte = message[offset++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
  };
  while (offset < message.length) {
    const tag = Number(varint());
    const no = tag >>> 3;
    switch (tag & 7) {
      case 0:
        yield { no, varint: varint() };
        break;
      case 2: {
        const length = Number(varint());
        if (offset + length > message.length) throw new Error(`${what}: field ${no} past the end`);
        yield { no, bytes: message.subarray(offset, offset + length) };
        offset += length;
        break;
      }
      case 1:
        offset += 8;
        break;
      case 5:
        offset += 4;
        break;
      default:
        throw new Error(`${what}: unsupported wire type ${tag & 7}`);
    }
  }
}

function u64be(value: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(value));
  return out;
}

// ---- meta -------------------------------------------------------------------------------------------------

/** Cairn's 'meta' keys (libs/mvcc/src/meta.ts, libs/server/src/consistent-index.ts). */
export const CAIRN_META = {
  currentRevision: Buffer.from('currentRevision'),
  scheduledCompact: Buffer.from('scheduledCompactRevision'),
  finishedCompact: Buffer.from('finishedCompactRevision'),
  dataFormat: Buffer.from('dataFormat'),
  consistentIndex: Buffer.from('consistent_index'),
};

/** etcd's revision numbering: Cairn's data format 2 (libs/mvcc/src/meta.ts). */
export const ETCD_DATA_FORMAT = 2;

export function putMetaNumber(batch: BackendBatch, key: Buffer, value: number): void {
  batch.put('meta', key, u64be(value));
}

/** The main revision of a 17-byte revision (etcd stores compaction revisions so). */
export function revisionMain(bytes: Buffer): number {
  if (bytes.length < 8) throw new Error(`revision of ${bytes.length} bytes`);
  return Number(bytes.readBigUInt64BE(0));
}

// ---- leases -----------------------------------------------------------------------------------------------

export interface EtcdLease {
  id: bigint;
  ttl: number;
  remainingTtl: number;
}

/** leasepb.Lease: ID = 1, TTL = 2, RemainingTTL = 3 (int64 each). */
export function decodeEtcdLease(value: Buffer): EtcdLease {
  const lease: EtcdLease = { id: 0n, ttl: 0, remainingTtl: 0 };
  for (const field of fields(value, 'leasepb.Lease')) {
    if (!('varint' in field)) continue;
    if (field.no === 1) lease.id = BigInt.asIntN(64, field.varint);
    else if (field.no === 2) lease.ttl = Number(BigInt.asIntN(64, field.varint));
    else if (field.no === 3) lease.remainingTtl = Number(BigInt.asIntN(64, field.varint));
  }
  return lease;
}

/** Cairn's lease record (lease-record-codec.ts): key int64 BE; value 0x01, TTL u64 BE, remaining u64 BE. */
export function putLease(batch: BackendBatch, lease: EtcdLease): void {
  const key = Buffer.alloc(8);
  key.writeBigInt64BE(lease.id);
  const value = Buffer.alloc(17);
  value[0] = 1;
  value.writeBigUInt64BE(BigInt(Math.max(0, lease.ttl)), 1);
  value.writeBigUInt64BE(BigInt(Math.max(0, lease.remainingTtl)), 9);
  batch.put('lease', key, value);
}

// ---- auth -------------------------------------------------------------------------------------------------

/** etcd's 'auth' bucket: authEnabled = [1] or [0]; authRevision = u64 BE. Cairn: 'enabled' '1'/'0', 'revision' decimal. */
export function putAuthSetting(batch: BackendBatch, key: Buffer, value: Buffer): void {
  const name = key.toString('latin1');
  if (name === 'authEnabled') {
    batch.put('auth', Buffer.from('enabled'), Buffer.from(value[0] === 1 ? '1' : '0'));
  } else if (name === 'authRevision' && value.length === 8) {
    batch.put('auth', Buffer.from('revision'), Buffer.from(String(value.readBigUInt64BE(0))));
  }
}

/** authpb.User: name = 1, password = 2 (bcrypt), roles = 3, options = 4 {no_password = 1}. */
export function putAuthUser(batch: BackendBatch, value: Buffer): string {
  let name = '';
  let passwordHash = '';
  let noPassword = false;
  const roles: string[] = [];
  for (const field of fields(value, 'authpb.User')) {
    if ('bytes' in field) {
      if (field.no === 1) name = field.bytes.toString();
      else if (field.no === 2) passwordHash = field.bytes.toString();
      else if (field.no === 3) roles.push(field.bytes.toString());
      else if (field.no === 4) {
        for (const option of fields(field.bytes, 'authpb.UserAddOptions')) {
          if (option.no === 1 && 'varint' in option) noPassword = option.varint !== 0n;
        }
      }
    }
  }
  const user = { name, passwordHash, roles: [...new Set(roles)].sort(), noPassword };
  batch.put('auth', Buffer.from(`user/${name}`), Buffer.from(JSON.stringify(user)));
  return name;
}

/** authpb.Role: name = 1, keyPermission = 2 {permType = 1, key = 2, range_end = 3}. */
export function putAuthRole(batch: BackendBatch, value: Buffer): string {
  let name = '';
  const permissions: { permType: number; key: Buffer; rangeEnd: Buffer }[] = [];
  for (const field of fields(value, 'authpb.Role')) {
    if (!('bytes' in field)) continue;
    if (field.no === 1) name = field.bytes.toString();
    else if (field.no === 2) {
      const permission = { permType: 0, key: Buffer.alloc(0), rangeEnd: Buffer.alloc(0) };
      for (const part of fields(field.bytes, 'authpb.Permission')) {
        if (part.no === 1 && 'varint' in part) permission.permType = Number(part.varint);
        else if (part.no === 2 && 'bytes' in part) permission.key = Buffer.from(part.bytes);
        else if (part.no === 3 && 'bytes' in part) permission.rangeEnd = Buffer.from(part.bytes);
      }
      permissions.push(permission);
    }
  }
  // auth-store.ts keeps permissions sorted by key then range end.
  permissions.sort((a, b) => Buffer.compare(a.key, b.key) || Buffer.compare(a.rangeEnd, b.rangeEnd));
  const stored = {
    name,
    permissions: permissions.map((p) => ({
      permType: p.permType,
      key: p.key.toString('base64'),
      rangeEnd: p.rangeEnd.toString('base64'),
    })),
  };
  batch.put('auth', Buffer.from(`role/${name}`), Buffer.from(JSON.stringify(stored)));
  return name;
}
