// Import of a real etcd snapshot.db (a bbolt file, as `etcdctl snapshot save` writes it or as found at
// member/snap/db) into a fresh Cairn backend, and etcdctl's `snapshot status` figures for such a file.
// Membership ('members', 'members_removed', 'cluster') and alarms are not carried: a restore replaces them.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { Backend, type BackendBatch, crc32c } from '@cairn/storage';
import { BOLT_MAGIC, BoltReader } from './bolt-reader';
import {
  CAIRN_META,
  ETCD_DATA_FORMAT,
  decodeEtcdLease,
  putAuthRole,
  putAuthSetting,
  putAuthUser,
  putLease,
  putMetaNumber,
  revisionMain,
} from './etcd-records';

const SHA256_BYTES = 32;
/** Writes per backend batch: bounded memory whatever the snapshot size. */
const BATCH_OPS = 10_000;
const BATCH_BYTES = 8 * 1024 * 1024;

/** True when `file` is an etcd bbolt snapshot (bbolt magic in the meta of page 0 or page 1). */
export async function isEtcdBoltSnapshot(file: string): Promise<boolean> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return false;
  try {
    const head = Buffer.alloc(24);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    if (bytesRead < head.length) return false;
    // Page 0 header (16 bytes, flags at 8 = meta), then the meta: magic, version 2, page size.
    if (head.readUInt32LE(16) === BOLT_MAGIC && head.readUInt32LE(20) === 2) return true;
    const second = Buffer.alloc(24);
    const read = await handle.read(second, 0, second.length, 4096);
    return read.bytesRead === second.length && second.readUInt32LE(16) === BOLT_MAGIC;
  } finally {
    await handle.close();
  }
}

/**
 * Whether the file carries etcd's integrity trailer: the server appends the sha256 of the database to the
 * snapshot stream and etcdctl 3.4 saves it as is, so the file is the db plus 32 bytes (etcd's own test:
 * size % 512 == 32). A db copied from a data dir has none.
 */
async function verifySha256(
  file: string,
  size: number,
  onProgress?: (stage: string, done: number, total: number) => void,
): Promise<boolean> {
  if (size % 512 !== SHA256_BYTES) return false;
  const dbBytes = size - SHA256_BYTES;
  const hash = createHash('sha256');
  let done = 0;
  for await (const chunk of createReadStream(file, { start: 0, end: dbBytes - 1, highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    onProgress?.('verify', done, dbBytes);
  }
  const trailer = Buffer.alloc(SHA256_BYTES);
  const handle = await open(file, 'r');
  try {
    await handle.read(trailer, 0, SHA256_BYTES, dbBytes);
  } finally {
    await handle.close();
  }
  if (!hash.digest().equals(trailer)) {
    throw new Error(`${file}: sha256 trailer does not match the database (truncated or corrupt snapshot)`);
  }
  return true;
}

/**
 * etcdctl 3.4's `snapshot status`: a CRC-32C over every top-level bucket name followed by its keys and
 * values in bbolt order (nested buckets contribute their key only, as bbolt hands their value as nil), the
 * main revision of the last 'key' entry, the number of entries over all buckets, and the database size.
 */
export async function etcdSnapshotStatus(file: string): Promise<{
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
  dataFormat: number;
  source: 'etcd';
}> {
  const reader = await BoltReader.open(file);
  try {
    let hash = 0;
    let revision = 0;
    let totalKey = 0;
    for await (const buckets of reader.buckets()) {
      for (const bucket of buckets) {
        const name = bucket.key.toString('latin1');
        if (!bucket.bucket) throw new Error(`cannot get hash of bucket ${name}`);
        hash = crc32c(bucket.key, hash);
        for await (const entries of reader.entries(bucket.value)) {
          for (const entry of entries) {
            hash = crc32c(entry.key, hash);
            if (!entry.bucket) hash = crc32c(entry.value, hash);
            if (name === 'key') revision = revisionMain(entry.key);
            totalKey++;
          }
        }
      }
    }
    return {
      hash: hash >>> 0,
      revision,
      totalKey,
      totalSize: reader.size,
      dataFormat: ETCD_DATA_FORMAT,
      source: 'etcd',
    };
  } finally {
    await reader.close();
  }
}

/**
 * Converts an etcd snapshot into a new Cairn backend at `dbPath` (missing or empty). Revisions carry over
 * unchanged (data format 2, etcd's numbering); 'key' entries are copied byte for byte, compaction and
 * consistent index, leases and auth are re-encoded. Returns the store's current revision and the number of
 * 'key' entries (key revisions, tombstones included) copied.
 *
 * A sha256 trailer is verified unless `skipHashCheck`. A file without one (a stopped member's
 * member/snap/db, the way to migrate a stopped cluster) is taken as it is: bbolt's meta checksums and the
 * page walk still catch a truncated or foreign file.
 */
export async function convertEtcdSnapshot(
  file: string,
  dbPath: string,
  onProgress?: (stage: string, done: number, total: number) => void,
  options: { skipHashCheck?: boolean } = {},
): Promise<{ revision: number; keys: number }> {
  const entries = await readdir(dbPath).catch(() => []);
  if (entries.length > 0) throw new Error(`${dbPath} is not empty: convert into a new backend`);
  const { size } = await stat(file);
  if (!options.skipHashCheck) await verifySha256(file, size, onProgress);
  const reader = await BoltReader.open(file);
  let backend: Backend | undefined;
  try {
    backend = await Backend.open(dbPath);
    // Progress in bytes of the database read (pages times page size), as 'verify' counts bytes.
    const { pageSize, pgid } = reader.meta;
    const writer = new BatchWriter(backend, () =>
      onProgress?.('convert', Math.min(reader.pagesRead, pgid) * pageSize, pgid * pageSize),
    );
    const seen = new Set<string>();
    let lastRevision = 0;
    let keys = 0;
    let scheduled = 0;
    let finished = 0;
    for await (const buckets of reader.buckets()) {
      for (const bucket of buckets) {
        if (!bucket.bucket) continue;
        const name = bucket.key.toString('latin1');
        seen.add(name);
        for await (const page of reader.entries(bucket.value)) {
          for (const { key, value, bucket: nested } of page) {
            if (nested) continue;
            const batch = writer.batch;
            switch (name) {
              case 'key':
                if (key.length !== 17 && key.length !== 18)
                  throw new Error(`'key' entry of ${key.length} bytes`);
                batch.put('key', key, value);
                lastRevision = revisionMain(key);
                keys++;
                break;
              case 'meta': {
                const metaKey = key.toString('latin1');
                if (metaKey === 'scheduledCompactRev') scheduled = revisionMain(value);
                else if (metaKey === 'finishedCompactRev') finished = revisionMain(value);
                else if (metaKey === 'consistent_index' && value.length === 8)
                  putMetaNumber(batch, CAIRN_META.consistentIndex, Number(value.readBigUInt64BE(0)));
                break;
              }
              case 'lease':
                putLease(batch, decodeEtcdLease(value));
                break;
              case 'auth':
                putAuthSetting(batch, key, value);
                break;
              case 'authUsers':
                putAuthUser(batch, value);
                break;
              case 'authRoles':
                putAuthRole(batch, value);
                break;
              default:
                // members, members_removed, cluster, alarm: replaced by the restore.
                break;
            }
            await writer.added(key.length + value.length);
          }
        }
      }
    }
    // Every etcd 3 backend has these two (created at first start); without them this is some other bbolt file.
    for (const required of ['key', 'meta']) {
      if (!seen.has(required))
        throw new Error(`${file} is a bbolt file but not an etcd backend (no '${required}' bucket)`);
    }
    // etcd's store opens at the last revision in 'key', never below its compaction (kvstore restore).
    const revision = Math.max(1, lastRevision, finished, scheduled);
    const batch = writer.batch;
    putMetaNumber(batch, CAIRN_META.currentRevision, revision);
    if (scheduled > 0) putMetaNumber(batch, CAIRN_META.scheduledCompact, scheduled);
    if (finished > 0) putMetaNumber(batch, CAIRN_META.finishedCompact, finished);
    putMetaNumber(batch, CAIRN_META.dataFormat, ETCD_DATA_FORMAT);
    await writer.flush(true);
    onProgress?.('convert', pgid * pageSize, pgid * pageSize);
    return { revision, keys };
  } finally {
    await backend?.close();
    await reader.close();
  }
}

/** Groups puts into bounded backend batches. */
class BatchWriter {
  batch: BackendBatch;
  private bytes = 0;

  constructor(
    private readonly backend: Backend,
    private readonly progress: () => void,
  ) {
    this.batch = backend.batch();
  }

  async added(bytes: number): Promise<void> {
    this.bytes += bytes;
    if (this.batch.length >= BATCH_OPS || this.bytes >= BATCH_BYTES) await this.flush(false);
  }

  async flush(sync: boolean): Promise<void> {
    await this.batch.write({ sync });
    this.batch = this.backend.batch();
    this.bytes = 0;
    this.progress();
  }
}
