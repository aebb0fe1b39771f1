// Replacing the backend directory with one rebuilt from a snapshot db file, crash-safely: the new db is built
// beside the old one, then swapped in by renames; a restart finishes a swap that a crash interrupted.
import { existsSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Backend } from '@cairn/storage';

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function replaceBackend(dbPath: string, snapshotFile: string): Promise<void> {
  const fresh = `${dbPath}.new`;
  await rm(fresh, { recursive: true, force: true });
  await Backend.restoreSnapshot(snapshotFile, fresh);
  await rm(`${dbPath}.old`, { recursive: true, force: true });
  if (existsSync(dbPath)) await rename(dbPath, `${dbPath}.old`);
  await rename(fresh, dbPath);
  await fsyncDir(path.dirname(dbPath));
  await rm(`${dbPath}.old`, { recursive: true, force: true });
}

/** After a crash between the two renames, the new db is complete under `.new`: move it into place. */
export async function finishBackendReplacement(dbPath: string): Promise<void> {
  if (!existsSync(dbPath) && existsSync(`${dbPath}.new`)) await rename(`${dbPath}.new`, dbPath);
  await rm(`${dbPath}.old`, { recursive: true, force: true });
}
