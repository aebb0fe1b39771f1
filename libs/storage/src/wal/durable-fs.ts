// The few file-system steps that durability depends on, in one place. Synchronous on purpose: the WAL's
// hot path measured 1.5-5x faster with writeSync + fdatasyncSync than with FileHandle (README, Measurements).
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** Writes all of `buf` at `position`, looping over short writes. */
export function writeFully(fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) {
    done += writeSync(fd, buf, done, buf.length - done, position + done);
  }
}

/** Makes created, renamed or deleted directory entries durable. */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
