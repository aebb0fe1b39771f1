// The bbolt reader and the etcd snapshot conversion on small bbolt files built here by hand: meta choice,
// branch/leaf trees, inline and nested buckets, overflow pages, the sha256 trailer, and the converted
// backend read back through Cairn's own stores (so the records written stay in their formats).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvStore, LeaseStore, encodeKeyValue, encodeRevisionKey, monotonicLeaseClock } from '@cairn/mvcc';
import { Backend, crc32c } from '@cairn/storage';
import { afterAll, describe, expect, it } from 'vitest';
import { AuthStore } from '../src/auth';
import { BoltReader, fnv64a, type BoltEntry } from '../src/restore/bolt-reader';
import { convertEtcdSnapshot, etcdSnapshotStatus, isEtcdBoltSnapshot } from '../src/restore/etcd-snapshot';

const PAGE = 4096;
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bolt-'));
  dirs.push(dir);
  return dir;
}

// ---- a minimal bbolt writer (only what the reader needs; little-endian as on amd64) -------------------------

interface Item {
  key: Buffer | string;
  value: Buffer | string;
  bucket?: boolean;
}

const buf = (value: Buffer | string): Buffer => (typeof value === 'string' ? Buffer.from(value) : value);

function header(id: number, flags: number, count: number, bytes: number): Buffer {
  const pages = Math.max(1, Math.ceil(bytes / PAGE));
  const page = Buffer.alloc(id === 0 ? bytes : pages * PAGE);
  page.writeBigUInt64LE(BigInt(id), 0);
  page.writeUInt16LE(flags, 8);
  page.writeUInt16LE(count, 10);
  page.writeUInt32LE(id === 0 ? 0 : pages - 1, 12);
  return page;
}

/** A leaf page (id 0 = inline, sized to fit). */
function leaf(id: number, items: Item[]): Buffer {
  const data = items.reduce((n, item) => n + buf(item.key).length + buf(item.value).length, 0);
  const page = header(id, 0x02, items.length, 16 + 16 * items.length + data);
  let at = 16 + 16 * items.length;
  items.forEach((item, i) => {
    const element = 16 + 16 * i;
    const key = buf(item.key);
    const value = buf(item.value);
    page.writeUInt32LE(item.bucket ? 1 : 0, element);
    page.writeUInt32LE(at - element, element + 4);
    page.writeUInt32LE(key.length, element + 8);
    page.writeUInt32LE(value.length, element + 12);
    at += key.copy(page, at);
    at += value.copy(page, at);
  });
  return page;
}

function branch(id: number, children: Array<{ key: string; pgid: number }>): Buffer {
  const page = header(id, 0x01, children.length, PAGE);
  let at = 16 + 16 * children.length;
  children.forEach((child, i) => {
    const element = 16 + 16 * i;
    page.writeUInt32LE(at - element, element);
    page.writeUInt32LE(child.key.length, element + 4);
    page.writeBigUInt64LE(BigInt(child.pgid), element + 8);
    at += Buffer.from(child.key).copy(page, at);
  });
  return page;
}

/** A bucket's value in its parent: root pgid + sequence, then the page itself when inline (root 0). */
function bucketRef(root: number): Buffer {
  const value = Buffer.alloc(16);
  value.writeBigUInt64LE(BigInt(root), 0);
  return value;
}

function inline(items: Item[]): Buffer {
  return Buffer.concat([bucketRef(0), leaf(0, items)]);
}

function meta(id: number, root: number, pgid: number, txid: number, corrupt = false): Buffer {
  const page = header(id, 0x04, 0, PAGE);
  page.writeUInt16LE(0x04, 8);
  page.writeUInt32LE(0, 12);
  const m = page.subarray(16, 80);
  m.writeUInt32LE(0xed0cdaed, 0);
  m.writeUInt32LE(2, 4);
  m.writeUInt32LE(PAGE, 8);
  m.writeBigUInt64LE(BigInt(root), 16);
  m.writeBigUInt64LE(0xffffffffffffffffn, 32); // no freelist, as etcd 3.4 writes
  m.writeBigUInt64LE(BigInt(pgid), 40);
  m.writeBigUInt64LE(BigInt(txid), 48);
  m.writeBigUInt64LE(fnv64a(m.subarray(0, 56)) ^ (corrupt ? 1n : 0n), 56);
  return page;
}

/** Lays out pages by their ids into a file; returns its path. */
function boltFile(pages: Buffer[], trailer = false): string {
  const body = Buffer.concat(pages.sort((a, b) => Number(a.readBigUInt64LE(0) - b.readBigUInt64LE(0))));
  const file = join(tempDir(), 'snapshot.db');
  const hash = createHash('sha256').update(body).digest();
  writeFileSync(file, trailer ? Buffer.concat([body, hash]) : body);
  return file;
}

async function collect(pages: AsyncIterable<BoltEntry[]>): Promise<BoltEntry[]> {
  const all: BoltEntry[] = [];
  for await (const page of pages) all.push(...page);
  return all;
}

// ---- the reader ------------------------------------------------------------------------------------------

describe('BoltReader', () => {
  const big = Buffer.alloc(6000, 0x61);
  // Pages: 0,1 meta; 2 root leaf (buckets); 3 branch of 'data'; 4 leaf; 5-6 leaf with an overflow; 7 old root.
  function tree(meta0Txid: number, meta1Txid: number, corrupt1 = false): string {
    return boltFile([
      meta(0, 7, 8, meta0Txid),
      meta(1, 2, 8, meta1Txid, corrupt1),
      leaf(2, [
        { key: 'data', value: bucketRef(3), bucket: true },
        {
          key: 'small',
          value: inline([
            { key: 'inner', value: inline([{ key: 'x', value: 'y' }]), bucket: true },
            { key: 'k', value: 'v' },
          ]),
          bucket: true,
        },
      ]),
      branch(3, [
        { key: 'a', pgid: 4 },
        { key: 'm', pgid: 5 },
      ]),
      leaf(4, [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
      ]),
      leaf(5, [
        { key: 'm', value: big },
        { key: 'z', value: '' },
      ]),
      leaf(7, [{ key: 'old', value: bucketRef(4), bucket: true }]),
    ]);
  }

  it('walks branch pages, overflow pages, inline and nested buckets in key order', async () => {
    const reader = await BoltReader.open(tree(1, 2));
    try {
      expect(reader.meta).toMatchObject({ pageSize: PAGE, root: 2, pgid: 8, txid: 2, freelist: -1 });
      expect(reader.size).toBe(8 * PAGE);
      const buckets = await collect(reader.buckets());
      expect(buckets.map((b) => [b.key.toString(), b.bucket])).toEqual([
        ['data', true],
        ['small', true],
      ]);
      const data = await collect(reader.entries(buckets[0].value));
      expect(data.map((e) => e.key.toString())).toEqual(['a', 'b', 'm', 'z']);
      expect(data[2].value.equals(big)).toBe(true);
      const small = await collect(reader.entries(buckets[1].value));
      expect(small.map((e) => [e.key.toString(), e.bucket])).toEqual([
        ['inner', true],
        ['k', false],
      ]);
      const inner = await collect(reader.entries(small[0].value));
      expect(inner.map((e) => `${e.key}=${e.value}`)).toEqual(['x=y']);
    } finally {
      await reader.close();
    }
  });

  it('uses the valid meta with the higher txid', async () => {
    const older = await BoltReader.open(tree(3, 2));
    expect(older.meta.root).toBe(7);
    await older.close();
    // A torn newer meta (bad checksum) falls back to the other one.
    const torn = await BoltReader.open(tree(1, 2, true));
    expect(torn.meta).toMatchObject({ root: 7, txid: 1 });
    await torn.close();
  });

  it('refuses to convert a bbolt file that is not an etcd backend', async () => {
    await expect(convertEtcdSnapshot(tree(1, 2), join(tempDir(), 'db'))).rejects.toThrow(
      /not an etcd backend/,
    );
  });

  it('refuses a file that is not bbolt', async () => {
    const file = join(tempDir(), 'x.db');
    writeFileSync(file, Buffer.alloc(3 * PAGE, 7));
    await expect(BoltReader.open(file)).rejects.toThrow(/no valid meta page/);
    expect(await isEtcdBoltSnapshot(file)).toBe(false);
    expect(await isEtcdBoltSnapshot(join(tempDir(), 'missing'))).toBe(false);
  });
});

// ---- an etcd backend -------------------------------------------------------------------------------------

function varint(value: bigint): Buffer {
  const out: number[] = [];
  let rest = BigInt.asUintN(64, value);
  while (rest >= 128n) {
    out.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  out.push(Number(rest));
  return Buffer.from(out);
}
const pbVarint = (no: number, value: bigint): Buffer =>
  Buffer.concat([varint(BigInt(no << 3)), varint(value)]);
const pbBytes = (no: number, value: Buffer | string): Buffer =>
  Buffer.concat([varint(BigInt((no << 3) | 2)), varint(BigInt(buf(value).length)), buf(value)]);
const rev = (main: number): Buffer => encodeRevisionKey({ main, sub: 0 });
const u64 = (value: number): Buffer => {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(value));
  return out;
};
const kv = (key: string, create: number, mod: number, version: number, value: string, lease = 0n): Buffer =>
  encodeKeyValue({
    key: Buffer.from(key),
    createRevision: create,
    modRevision: mod,
    version,
    value: Buffer.from(value),
    lease,
  });

describe('etcd snapshot', () => {
  const LEASE = 0x694d7a9c5e1f0a01n;
  // etcd's lease bucket key: int64ToBytes(ID).
  const leaseKey = Buffer.alloc(8);
  leaseKey.writeBigInt64BE(LEASE);
  // History: a@2 a@3 (compacted at 3), b@4, del b@5, leased c@6, a@7.
  const keyItems: Item[] = [
    { key: rev(3), value: kv('a', 2, 3, 2, 'a3') },
    { key: rev(4), value: kv('b', 4, 4, 1, 'b4') },
    { key: Buffer.concat([rev(5), Buffer.from('t')]), value: kv('b', 0, 0, 0, '') },
    { key: rev(6), value: kv('c', 6, 6, 1, 'c6', LEASE) },
    { key: rev(7), value: kv('a', 2, 7, 3, 'a7') },
  ];
  const user = Buffer.concat([
    pbBytes(1, 'alice'),
    pbBytes(2, '$2a$10$hash'),
    pbBytes(3, 'writer'),
    pbBytes(3, 'reader'),
  ]);
  const permission = (type: number, key: string, end: string): Buffer =>
    pbBytes(2, Buffer.concat([pbVarint(1, BigInt(type)), pbBytes(2, key), pbBytes(3, end)]));
  const role = Buffer.concat([pbBytes(1, 'writer'), permission(1, '/z', ''), permission(2, '/a', '/b')]);
  const buckets: Array<[string, Item[]]> = [
    ['alarm', []],
    [
      'auth',
      [
        { key: 'authEnabled', value: Buffer.of(0) },
        { key: 'authRevision', value: u64(4) },
      ],
    ],
    ['authRoles', [{ key: 'writer', value: role }]],
    ['authUsers', [{ key: 'alice', value: user }]],
    ['cluster', [{ key: 'clusterVersion', value: '3.4.0' }]],
    ['key', keyItems],
    ['lease', [{ key: leaseKey, value: Buffer.concat([pbVarint(1, LEASE), pbVarint(2, 600n)]) }]],
    ['members', [{ key: 'abc', value: '{"id":1}' }]],
    ['members_removed', []],
    [
      'meta',
      [
        { key: 'consistent_index', value: u64(42) },
        { key: 'finishedCompactRev', value: rev(3) },
        { key: 'scheduledCompactRev', value: rev(3) },
      ],
    ],
  ];

  // Every bucket has its own leaf page (3..12), the root leaf (2) lists them.
  const file = (trailer: boolean): string =>
    boltFile(
      [
        meta(0, 2, 3 + buckets.length, 4),
        meta(1, 2, 3 + buckets.length, 3),
        leaf(
          2,
          buckets.map(([name], i) => ({ key: name, value: bucketRef(3 + i), bucket: true })),
        ),
        ...buckets.map(([, items], i) => leaf(3 + i, items)),
      ],
      trailer,
    );

  it('status: CRC-32C over bucket names, keys and values; last key revision; entries; db size', async () => {
    const status = await etcdSnapshotStatus(file(true));
    let hash = 0;
    let total = 0;
    for (const [name, items] of buckets) {
      hash = crc32c(Buffer.from(name), hash);
      for (const item of items) {
        hash = crc32c(buf(item.value), crc32c(buf(item.key), hash));
        total++;
      }
    }
    expect(status).toEqual({
      hash: hash >>> 0,
      revision: 7,
      totalKey: total,
      totalSize: (3 + buckets.length) * PAGE,
      dataFormat: 2,
      source: 'etcd',
    });
  });

  it('converts into a backend that Cairn’s KV, lease and auth stores open as etcd left them', async () => {
    const snapshot = file(true);
    expect(await isEtcdBoltSnapshot(snapshot)).toBe(true);
    const dbPath = join(tempDir(), 'db');
    const stages = new Set<string>();
    expect(await convertEtcdSnapshot(snapshot, dbPath, (stage) => stages.add(stage))).toEqual({
      revision: 7,
      keys: 5,
    });
    expect([...stages]).toEqual(['verify', 'convert']);
    const backend = await Backend.open(dbPath);
    try {
      const store = await KvStore.open(backend);
      expect([store.currentRevision, store.compactRevision, store.dataFormat]).toEqual([7, 3, 2]);
      const all = await store.range({ key: Buffer.of(0), rangeEnd: Buffer.of(0) });
      expect(
        all.kvs.map((k) => [
          k.key.toString(),
          k.value.toString(),
          k.createRevision,
          k.modRevision,
          k.version,
          k.lease,
        ]),
      ).toEqual([
        ['a', 'a7', 2, 7, 3, 0n],
        ['c', 'c6', 6, 6, 1, LEASE],
      ]);
      const old = await store.range({ key: Buffer.from('b'), revision: 4 });
      expect(old.kvs.map((k) => k.value.toString())).toEqual(['b4']);
      expect((await backend.get('meta', Buffer.from('consistent_index')))?.readBigUInt64BE(0)).toBe(42n);
      const leases = await LeaseStore.open(backend, { clock: monotonicLeaseClock, minTtlSeconds: 1 });
      expect(leases.leases()).toEqual([LEASE]);
      expect(leases.timeToLive(LEASE, false)).toMatchObject({ grantedTtl: 600 });
      const auth = await AuthStore.load(backend);
      expect([auth.isEnabled(), auth.getRevision()]).toEqual([false, 4]);
      expect(auth.getUser('alice')).toEqual({
        name: 'alice',
        passwordHash: '$2a$10$hash',
        roles: ['reader', 'writer'],
        noPassword: false,
      });
      expect(
        auth.getRole('writer')?.permissions.map((p) => [p.permType, p.key.toString(), p.rangeEnd.toString()]),
      ).toEqual([
        [2, '/a', '/b'],
        [1, '/z', ''],
      ]);
      for await (const entry of backend.iterate('members'))
        expect.fail(`membership carried: ${entry[0].toString()}`);
    } finally {
      await backend.close();
    }
  });

  it('accepts a db without the sha256 trailer, refuses one whose trailer does not match unless told to skip', async () => {
    expect((await convertEtcdSnapshot(file(false), join(tempDir(), 'db'))).revision).toBe(7);
    const corrupt = file(true);
    const bytes = readFileSync(corrupt);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(corrupt, bytes);
    await expect(convertEtcdSnapshot(corrupt, join(tempDir(), 'db'))).rejects.toThrow(/sha256/);
    const skipped = await convertEtcdSnapshot(corrupt, join(tempDir(), 'db'), undefined, {
      skipHashCheck: true,
    });
    expect(skipped.revision).toBe(7);
  });
});
