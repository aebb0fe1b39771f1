// CRC-32C (Castagnoli), the checksum etcd's hashKV uses. Slicing-by-8 tables for speed.

const POLY = 0x82f63b78;
const TABLES: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    tables[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[0][n];
    for (let t = 1; t < 8; t++) {
      c = (tables[0][c & 0xff] ^ (c >>> 8)) >>> 0;
      tables[t][n] = c;
    }
  }
  return tables;
})();

/** Streaming CRC-32C: update() with chunks, then digest(). */
export class Crc32c {
  private crc = 0xffffffff;

  update(bytes: Uint8Array): this {
    const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
    let crc = this.crc;
    let i = 0;
    const end8 = bytes.length - (bytes.length % 8);
    for (; i < end8; i += 8) {
      crc ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
      crc =
        t7[crc & 0xff] ^
        t6[(crc >>> 8) & 0xff] ^
        t5[(crc >>> 16) & 0xff] ^
        t4[crc >>> 24] ^
        t3[bytes[i + 4]] ^
        t2[bytes[i + 5]] ^
        t1[bytes[i + 6]] ^
        t0[bytes[i + 7]];
    }
    for (; i < bytes.length; i++) crc = t0[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
    this.crc = crc;
    return this;
  }

  digest(): number {
    return (this.crc ^ 0xffffffff) >>> 0;
  }
}

export function crc32c(bytes: Uint8Array): number {
  return new Crc32c().update(bytes).digest();
}
