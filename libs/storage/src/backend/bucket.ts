// Buckets are namespaces inside the one LevelDB database: every stored key starts with its bucket's byte.

export type Bucket = 'key' | 'meta' | 'lease' | 'members' | 'alarm' | 'auth';

export const BUCKETS: readonly Bucket[] = ['key', 'meta', 'lease', 'members', 'alarm', 'auth'];

const PREFIX: Record<Bucket, number> = {
  key: 0x01,
  meta: 0x02,
  lease: 0x03,
  members: 0x04,
  alarm: 0x05,
  auth: 0x06,
};

export function bucketPrefix(bucket: Bucket): number {
  return PREFIX[bucket];
}

/** The LevelDB key for `key` inside `bucket`. */
export function bucketKey(bucket: Bucket, key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(key.length + 1);
  out[0] = PREFIX[bucket];
  out.set(key, 1);
  return out;
}

/** The smallest LevelDB key of `bucket` (inclusive). */
export function bucketStart(bucket: Bucket): Buffer {
  return Buffer.of(PREFIX[bucket]);
}

/** The first LevelDB key past `bucket` (exclusive upper bound). */
export function bucketEnd(bucket: Bucket): Buffer {
  return Buffer.of(PREFIX[bucket] + 1);
}
