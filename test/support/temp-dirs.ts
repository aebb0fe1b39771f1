// Temporary directories for data dirs and snapshot files, removed when the test file ends (or the worker
// exits). Each is also recorded next to the PID files so global-setup.ts removes it if the worker dies.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export const TEMP_DIR_PREFIX = 'cairn-e2e-';
/** Marker-file prefix in the PID-file directory: the file holds the temp dir's path. */
export const TEMP_DIR_RECORD_PREFIX = 'tmp-';

const created = new Set<string>();

function recordFile(dir: string): string | undefined {
  const registry = process.env['CAIRN_E2E_PID_DIR'];
  return registry === undefined ? undefined : join(registry, `${TEMP_DIR_RECORD_PREFIX}${basename(dir)}`);
}

export function makeTempDir(prefix = TEMP_DIR_PREFIX): string {
  if (!prefix.startsWith(TEMP_DIR_PREFIX))
    throw new Error(`temp dir prefix must start with ${TEMP_DIR_PREFIX}`);
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.add(dir);
  const record = recordFile(dir);
  if (record !== undefined) {
    mkdirSync(join(record, '..'), { recursive: true });
    writeFileSync(record, dir);
  }
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of created) {
    rmSync(dir, { recursive: true, force: true });
    const record = recordFile(dir);
    if (record !== undefined) rmSync(record, { force: true });
    created.delete(dir);
  }
}

process.once('exit', removeTempDirs);
