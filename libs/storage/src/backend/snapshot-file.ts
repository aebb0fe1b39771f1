// Backend snapshot file format (our own):
//   magic "CAIRNBK1" (8 bytes)
//   records: u32be keyLength, key (raw LevelDB key, bucket byte included), u32be valueLength, value
//   trailer: sha256 of every byte before it (32 bytes)
// The iterator behind a snapshot is a LevelDB implicit snapshot, so the file is one point in time.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { BackendError } from './backend-error';

const MAGIC = Buffer.from('CAIRNBK1', 'ascii');
/** The first bytes of every backend snapshot file. */
export const SNAPSHOT_FILE_MAGIC: Buffer = Buffer.from(MAGIC);
const TRAILER_BYTES = 32;
const ITERATOR_CHUNK = 512;
const FLUSH_BYTES = 1 << 20;
const RESTORE_BATCH_BYTES = 4 << 20;

export interface SnapshotFileInfo {
  /** Bytes in the file, trailer included. */
  size: number;
  /** Hex sha256 of the file's content before the trailer (the trailer holds the same digest). */
  sha256: string;
}

/** Stream every entry of `db` into `file` (via a temp file + rename, fsynced). */
export async function writeSnapshotFile(
  db: ClassicLevel<Buffer, Buffer>,
  file: string,
): Promise<SnapshotFileInfo> {
  // Created before the first await: the LevelDB snapshot is the state at the moment of the call.
  const iterator = db.iterator();
  const temp = `${file}.tmp`;
  const hash = createHash('sha256');
  const handle = await open(temp, 'w').catch(async (error: unknown) => {
    await iterator.close();
    throw error;
  });
  let size = 0;
  try {
    let pending: Buffer[] = [MAGIC];
    let pendingBytes = MAGIC.length;
    const flush = async (): Promise<void> => {
      const chunk = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      hash.update(chunk);
      await handle.write(chunk);
      size += chunk.length;
    };
    try {
      for (;;) {
        const entries = await iterator.nextv(ITERATOR_CHUNK);
        if (entries.length === 0) break;
        for (const [key, value] of entries) {
          const header = Buffer.allocUnsafe(4);
          header.writeUInt32BE(key.length, 0);
          const valueHeader = Buffer.allocUnsafe(4);
          valueHeader.writeUInt32BE(value.length, 0);
          pending.push(header, key, valueHeader, value);
          pendingBytes += 8 + key.length + value.length;
        }
        if (pendingBytes >= FLUSH_BYTES) await flush();
      }
    } finally {
      await iterator.close();
    }
    await flush();
    const digest = hash.digest();
    await handle.write(digest);
    size += digest.length;
    await handle.sync();
    await handle.close();
    await rename(temp, file);
    return { size, sha256: digest.toString('hex') };
  } catch (error) {
    await iterator.close().catch(() => undefined);
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}

/** Check the trailer of `file` against its content; throws BackendError('snapshot-corrupt'). */
export async function verifySnapshotFile(file: string): Promise<SnapshotFileInfo> {
  const { size } = await stat(file);
  if (size < MAGIC.length + TRAILER_BYTES) {
    throw new BackendError('snapshot-corrupt', `snapshot ${file}: too short (${size} bytes)`);
  }
  const contentBytes = size - TRAILER_BYTES;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { start: 0, end: contentBytes - 1 })) {
    hash.update(chunk as Buffer);
  }
  const digest = hash.digest();
  const handle = await open(file, 'r');
  try {
    const trailer = Buffer.alloc(TRAILER_BYTES);
    await handle.read(trailer, 0, TRAILER_BYTES, contentBytes);
    const magic = Buffer.alloc(MAGIC.length);
    await handle.read(magic, 0, MAGIC.length, 0);
    if (!magic.equals(MAGIC)) throw new BackendError('snapshot-corrupt', `snapshot ${file}: bad magic`);
    if (!trailer.equals(digest)) {
      throw new BackendError('snapshot-corrupt', `snapshot ${file}: sha256 mismatch`);
    }
  } finally {
    await handle.close();
  }
  return { size, sha256: digest.toString('hex') };
}

/**
 * Verify `file`, then rebuild a database from it at `path`. The database is built beside `path` and
 * renamed into place, so a failed restore leaves nothing half-written at `path`. `path` must not exist.
 */
export async function restoreSnapshotFile(file: string, path: string): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing) throw new BackendError('snapshot-target-exists', `restore target ${path} already exists`);
  const { size } = await verifySnapshotFile(file);
  const building = `${path}.restoring`;
  await rm(building, { recursive: true, force: true });
  const db = new ClassicLevel<Buffer, Buffer>(building, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    let batch: Array<{ type: 'put'; key: Buffer; value: Buffer }> = [];
    let batchBytes = 0;
    for await (const records of snapshotRecords(file, size - TRAILER_BYTES)) {
      for (const [key, value] of records) {
        // Copied out of the read chunk so the batch does not pin whole chunks.
        batch.push({ type: 'put', key: Buffer.from(key), value: Buffer.from(value) });
        batchBytes += 8 + key.length + value.length;
      }
      if (batchBytes >= RESTORE_BATCH_BYTES) {
        await db.batch(batch, { sync: true });
        batch = [];
        batchBytes = 0;
      }
    }
    if (batch.length > 0) await db.batch(batch, { sync: true });
    await db.close();
  } catch (error) {
    await db.close().catch(() => undefined);
    await rm(building, { recursive: true, force: true });
    throw error;
  }
  await rename(building, path);
}

/**
 * The records of the backend snapshot in `file`, read in chunks: each yielded array holds the whole records
 * of one chunk, in file order, as views of that chunk (copy what you keep). `contentBytes` is where the records
 * end (the trailer or any framing after it is not read). Refuses a record cut short by the end.
 */
export async function* snapshotRecords(
  file: string,
  contentBytes: number,
): AsyncGenerator<Array<[Buffer, Buffer]>> {
  const end = contentBytes - 1;
  if (end < MAGIC.length - 1) throw new BackendError('snapshot-corrupt', `snapshot ${file}: too short`);
  // An empty store has no records: there is nothing to read between the magic and the end.
  if (end < MAGIC.length) return;
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(file, { start: MAGIC.length, end, highWaterMark: 1 << 20 })) {
    carry = carry.length === 0 ? (chunk as Buffer) : Buffer.concat([carry, chunk as Buffer]);
    const records: Array<[Buffer, Buffer]> = [];
    let offset = 0;
    for (;;) {
      if (carry.length - offset < 4) break;
      const keyLength = carry.readUInt32BE(offset);
      if (carry.length - offset < 8 + keyLength) break;
      const valueLength = carry.readUInt32BE(offset + 4 + keyLength);
      const recordEnd = offset + 8 + keyLength + valueLength;
      if (carry.length < recordEnd) break;
      records.push([
        carry.subarray(offset + 4, offset + 4 + keyLength),
        carry.subarray(offset + 8 + keyLength, recordEnd),
      ]);
      offset = recordEnd;
    }
    carry = carry.subarray(offset);
    yield records;
  }
  if (carry.length !== 0) {
    throw new BackendError('snapshot-corrupt', `snapshot ${file}: ${carry.length} trailing bytes`);
  }
}
