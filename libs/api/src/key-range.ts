// Key-range helpers shared by every lib and the client SDK (one copy; etcd's clientv3 GetPrefixRangeEnd).

/**
 * The end of the range of every key that starts with `prefix`: drop trailing 0xff bytes, then increment
 * the last byte. A prefix of only 0xff bytes (or an empty one) has no end: "\0" (every key >= prefix).
 */
export function prefixEnd(prefix: Uint8Array | string): Buffer {
  const end = typeof prefix === 'string' ? Buffer.from(prefix) : Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
