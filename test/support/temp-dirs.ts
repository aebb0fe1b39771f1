// Temporary directories for data dirs and snapshot files, removed when the test file ends (or the worker
// exits).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created = new Set<string>();

export function makeTempDir(prefix = 'cairn-e2e-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.add(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of created) {
    rmSync(dir, { recursive: true, force: true });
    created.delete(dir);
  }
}

process.once('exit', removeTempDirs);
