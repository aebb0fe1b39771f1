// Files with a sha256 trailer, like etcd's snapshot database files: the content, then the 32-byte sha256
// of the content. For big files (state-machine snapshots) that are written and sent as streams.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir } from '../wal/durable-fs';
import { SnapError, SnapErrorCode } from './errors';

export const CHECKSUM_TRAILER_BYTES = 32;

export interface ChecksummedFileInfo {
  /** Bytes of content (the file is this plus the 32-byte trailer). */
  contentLength: number;
  /** Hex sha256 of the content. */
  sha256: string;
}

/**
 * Writes `chunks` followed by their sha256 to `path`, atomically: a temp file beside it is fsynced, then
 * renamed over `path`, then the directory is fsynced. On error the temp file is removed.
 */
export async function writeChecksummedFile(
  path: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<ChecksummedFileInfo> {
  const tmp = `${path}.tmp`;
  const hash = createHash('sha256');
  const handle = await open(tmp, 'w');
  let contentLength = 0;
  let position = 0;
  const writeAll = async (buf: Uint8Array): Promise<void> => {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await handle.write(buf, done, buf.length - done, position);
      done += bytesWritten;
      position += bytesWritten;
    }
  };
  let digest: Buffer;
  try {
    for await (const chunk of chunks) {
      hash.update(chunk);
      await writeAll(chunk);
      contentLength += chunk.length;
    }
    digest = hash.digest();
    await writeAll(digest);
    await handle.sync();
    await handle.close();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
  return { contentLength, sha256: digest.toString('hex') };
}

async function contentLengthOf(path: string): Promise<number> {
  const { size } = await stat(path);
  if (size < CHECKSUM_TRAILER_BYTES) {
    throw new SnapError(SnapErrorCode.Corrupt, path, `too short for a sha256 trailer (${size} bytes)`);
  }
  return size - CHECKSUM_TRAILER_BYTES;
}

async function readTrailer(path: string, contentLength: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const trailer = Buffer.alloc(CHECKSUM_TRAILER_BYTES);
    const { bytesRead } = await handle.read(trailer, 0, CHECKSUM_TRAILER_BYTES, contentLength);
    if (bytesRead !== CHECKSUM_TRAILER_BYTES)
      throw new SnapError(SnapErrorCode.Corrupt, path, 'file shrank while reading');
    return trailer;
  } finally {
    await handle.close();
  }
}

/**
 * Streams the content of a checksummed file (without the trailer). The sha256 is checked after the last
 * chunk: a mismatch throws SnapError(Corrupt) instead of ending the iteration, so a consumer that reaches
 * the end normally has verified data.
 */
export async function* readChecksummedFile(path: string): AsyncGenerator<Buffer, ChecksummedFileInfo> {
  const contentLength = await contentLengthOf(path);
  const hash = createHash('sha256');
  if (contentLength > 0) {
    for await (const chunk of createReadStream(path, { start: 0, end: contentLength - 1 })) {
      hash.update(chunk as Buffer);
      yield chunk as Buffer;
    }
  }
  const digest = hash.digest();
  const trailer = await readTrailer(path, contentLength);
  if (!trailer.equals(digest)) {
    throw new SnapError(
      SnapErrorCode.Corrupt,
      path,
      `sha256 mismatch (trailer ${trailer.toString('hex')}, content ${digest.toString('hex')})`,
    );
  }
  return { contentLength, sha256: digest.toString('hex') };
}

/** Checks a checksummed file's trailer against its content; throws SnapError(Corrupt) if they differ. */
export async function verifyChecksummedFile(path: string): Promise<ChecksummedFileInfo> {
  const chunks = readChecksummedFile(path);
  for (;;) {
    const next = await chunks.next();
    if (next.done) return next.value;
  }
}
