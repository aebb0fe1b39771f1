// On-disk form of a lease in the 'lease' bucket (our own format):
//   key:   lease ID as int64 big-endian (8 bytes)
//   value: version byte 0x01, granted TTL uint64 BE, checkpointed remaining TTL uint64 BE (0 = none)
// TTLs are whole seconds no larger than MAX_LEASE_TTL (9e9 < 2^53), so they round-trip through number.
import { LeaseError } from './lease-error';

const RECORD_VERSION = 1;
const RECORD_BYTES = 17;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

export interface LeaseRecordValue {
  ttl: number;
  remainingTtl: number;
}

/** Throws a RangeError unless `id` fits int64, the wire type of lease IDs. */
export function assertLeaseId(id: bigint): void {
  if (typeof id !== 'bigint' || id < INT64_MIN || id > INT64_MAX) {
    throw new RangeError(`lease ID ${String(id)} is not an int64`);
  }
}

export function encodeLeaseKey(id: bigint): Buffer {
  const key = Buffer.allocUnsafe(8);
  key.writeBigInt64BE(id, 0);
  return key;
}

export function decodeLeaseKey(key: Uint8Array): bigint {
  if (key.length !== 8) {
    throw new LeaseError('record-corrupt', `lease key of ${key.length} bytes, want 8`);
  }
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).readBigInt64BE(0);
}

export function encodeLeaseRecord(record: LeaseRecordValue): Buffer {
  const value = Buffer.allocUnsafe(RECORD_BYTES);
  value[0] = RECORD_VERSION;
  value.writeBigUInt64BE(BigInt(record.ttl), 1);
  value.writeBigUInt64BE(BigInt(record.remainingTtl), 9);
  return value;
}

export function decodeLeaseRecord(id: bigint, value: Uint8Array): LeaseRecordValue {
  const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (bytes.length !== RECORD_BYTES || bytes[0] !== RECORD_VERSION) {
    throw new LeaseError(
      'record-corrupt',
      `lease ${id}: ${bytes.length} bytes with version ${bytes[0] ?? 'none'}, want ${RECORD_BYTES} bytes version ${RECORD_VERSION}`,
    );
  }
  const ttl = Number(bytes.readBigUInt64BE(1));
  const remainingTtl = Number(bytes.readBigUInt64BE(9));
  if (!Number.isSafeInteger(ttl) || !Number.isSafeInteger(remainingTtl)) {
    throw new LeaseError('record-corrupt', `lease ${id}: TTL out of range`);
  }
  return { ttl, remainingTtl };
}
