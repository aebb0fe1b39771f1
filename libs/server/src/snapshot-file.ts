// The framing of a snapshot file as etcd frames its snapshots (what `etcdctl snapshot save` stores and checks):
// the content, zero padding up to a multiple of 512 bytes whose last 8 bytes hold the content's real length
// (big-endian), then the sha256 of everything before it. Written by the Maintenance.Snapshot stream and the
// scheduled backups, read back by `snapshot status|restore` — all through this one module.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';

const ALIGN = 512;
const LENGTH_BYTES = 8;
export const SNAPSHOT_HASH_BYTES = 32;
const CHUNK_BYTES = 32 * 1024;

/** The total size of the framed form of `contentBytes` of content. */
export function framedSnapshotSize(contentBytes: number): number {
  return Math.ceil((contentBytes + LENGTH_BYTES) / ALIGN) * ALIGN + SNAPSHOT_HASH_BYTES;
}

/** The framed form of the file `contentFile`, chunk by chunk: content, padding (with the length), sha256. */
export async function* framedSnapshotChunks(contentFile: string): AsyncGenerator<Buffer> {
  const size = (await stat(contentFile)).size;
  const hash = createHash('sha256');
  let read = 0;
  for await (const data of createReadStream(contentFile, { highWaterMark: CHUNK_BYTES })) {
    const chunk = data as Buffer;
    read += chunk.length;
    hash.update(chunk);
    yield chunk;
  }
  // The file must not change under us: the padding says how long the content is.
  if (read !== size) throw new Error(`snapshot content ${contentFile} changed while it was framed`);
  const padding = Buffer.alloc(framedSnapshotSize(size) - SNAPSHOT_HASH_BYTES - size);
  padding.writeBigUInt64BE(BigInt(size), padding.length - LENGTH_BYTES);
  hash.update(padding);
  yield padding;
  yield hash.digest();
}

/** Writes the framed form of `contentFile` to `file` atomically (temp file, fsync, rename). */
export async function writeFramedSnapshot(contentFile: string, file: string): Promise<{ size: number }> {
  const temp = `${file}.part`;
  const handle = await open(temp, 'w');
  let size = 0;
  try {
    for await (const chunk of framedSnapshotChunks(contentFile)) {
      await handle.write(chunk);
      size += chunk.length;
    }
    await handle.sync();
    await handle.close();
    await rename(temp, file);
    return { size };
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}

export class SnapshotFileError extends Error {}

export interface SnapshotFrame {
  /** Bytes of content at the start of the file (the whole file when it is not framed). */
  contentBytes: number;
  /** False: a bare backend file (only accepted with skipHashCheck, as etcd takes a db copied from a data dir). */
  framed: boolean;
  /** Hex sha256 of the content before the trailer; '' when not framed or not checked. */
  sha256: string;
}

/**
 * Reads and (unless skipHashCheck) verifies the framing of `file`. A file that is not framed is refused, as
 * etcd refuses a snapshot without its hash, unless skipHashCheck takes it as bare content.
 */
export async function readSnapshotFrame(
  file: string,
  options: { skipHashCheck?: boolean; onBytes?: (done: number, total: number) => void } = {},
): Promise<SnapshotFrame> {
  const size = (await stat(file)).size;
  const bare: SnapshotFrame = { contentBytes: size, framed: false, sha256: '' };
  const looksFramed = size >= ALIGN + SNAPSHOT_HASH_BYTES && (size - SNAPSHOT_HASH_BYTES) % ALIGN === 0;
  let contentBytes = -1;
  if (looksFramed) {
    const handle = await open(file, 'r');
    try {
      const length = Buffer.alloc(LENGTH_BYTES);
      await handle.read(length, 0, LENGTH_BYTES, size - SNAPSHOT_HASH_BYTES - LENGTH_BYTES);
      const value = length.readBigUInt64BE(0);
      if (value <= BigInt(size) && framedSnapshotSize(Number(value)) === size) contentBytes = Number(value);
    } finally {
      await handle.close();
    }
  }
  if (contentBytes < 0) {
    if (options.skipHashCheck) return bare;
    throw new SnapshotFileError(
      `snapshot ${file} has no sha256 trailer (a db file copied from a data dir needs --skip-hash-check)`,
    );
  }
  if (options.skipHashCheck) return { contentBytes, framed: true, sha256: '' };
  const hash = createHash('sha256');
  let hashed = 0;
  for await (const chunk of createReadStream(file, {
    end: size - SNAPSHOT_HASH_BYTES - 1,
    highWaterMark: 1 << 20,
  })) {
    hash.update(chunk as Buffer);
    hashed += (chunk as Buffer).length;
    options.onBytes?.(hashed, size - SNAPSHOT_HASH_BYTES);
  }
  const digest = hash.digest();
  const trailer = Buffer.alloc(SNAPSHOT_HASH_BYTES);
  const handle = await open(file, 'r');
  try {
    await handle.read(trailer, 0, SNAPSHOT_HASH_BYTES, size - SNAPSHOT_HASH_BYTES);
  } finally {
    await handle.close();
  }
  if (!trailer.equals(digest))
    throw new SnapshotFileError(
      `snapshot ${file}: sha256 mismatch (expected ${trailer.toString('hex')}, got ${digest.toString('hex')})`,
    );
  return { contentBytes, framed: true, sha256: digest.toString('hex') };
}

/** Copies the first `contentBytes` of `file` (its content without the framing) to `out`. */
export async function copySnapshotContent(
  file: string,
  contentBytes: number,
  out: string,
  onBytes?: (done: number, total: number) => void,
): Promise<void> {
  const handle = await open(out, 'w');
  try {
    let copied = 0;
    if (contentBytes > 0) {
      for await (const chunk of createReadStream(file, { end: contentBytes - 1, highWaterMark: 1 << 20 })) {
        await handle.write(chunk as Buffer);
        copied += (chunk as Buffer).length;
        onBytes?.(copied, contentBytes);
      }
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}
