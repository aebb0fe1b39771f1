// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 metadata and etcd's
// WAL. Node 20 has no built-in CRC-32C (zlib.crc32 is the IEEE polynomial and only arrived in Node 22), so
// this is a table-driven "slicing-by-8" implementation: eight table lookups per 8 input bytes.

const POLY = 0x82f63b78;

/** TABLES[k * 256 + b] = CRC of byte b followed by k zero bytes. */
const TABLES = buildTables();

function buildTables(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[b] = c;
  }
  for (let b = 0; b < 256; b++) {
    let c = t[b];
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + b] = c;
    }
  }
  return t;
}

/**
 * CRC-32C of `data[start, end)`. Chainable: `crc32c(b, crc32c(a))` equals the CRC of `a` followed by `b`,
 * so a checksum can be computed over several buffers without concatenating them.
 */
export function crc32c(data: Uint8Array, previous = 0, start = 0, end = data.length): number {
  const t = TABLES;
  let crc = ~previous;
  let i = start;
  for (const stop = end - 7; i < stop; i += 8) {
    const lo = crc ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    crc =
      t[7 * 256 + (lo & 0xff)] ^
      t[6 * 256 + ((lo >>> 8) & 0xff)] ^
      t[5 * 256 + ((lo >>> 16) & 0xff)] ^
      t[4 * 256 + (lo >>> 24)] ^
      t[3 * 256 + data[i + 4]] ^
      t[2 * 256 + data[i + 5]] ^
      t[256 + data[i + 6]] ^
      t[data[i + 7]];
  }
  for (; i < end; i++) crc = t[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}
