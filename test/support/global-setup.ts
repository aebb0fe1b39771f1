// Run-level safety net: workers record each spawned PID and each temp dir in a shared directory (see
// processes.ts, temp-dirs.ts); if a worker dies without cleaning up, its servers are killed and its
// temp dirs removed here when the run ends.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Duplicated from temp-dirs.ts on purpose: global setup runs in vitest's main process, apart from workers.
const TEMP_DIR_RECORD_PREFIX = 'tmp-';
const TEMP_DIR_PREFIX = join(tmpdir(), 'cairn-e2e-');

/** argv of a live process (a script's path is argv[1] behind its interpreter), or [] if it is gone. */
function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export function setup(): () => void {
  const registry = mkdtempSync(join(tmpdir(), 'cairn-e2e-pids-'));
  process.env['CAIRN_E2E_PID_DIR'] = registry;
  return () => {
    for (const entry of readdirSync(registry)) {
      const recorded = readFileSync(join(registry, entry), 'utf8');
      if (entry.startsWith(TEMP_DIR_RECORD_PREFIX)) {
        if (recorded.startsWith(TEMP_DIR_PREFIX)) rmSync(recorded, { recursive: true, force: true });
        continue;
      }
      const pid = Number(entry);
      // Only kill the PID if it still runs the command we started (PIDs get reused).
      if (Number.isInteger(pid) && argvOf(pid).includes(recorded)) killGroup(pid);
    }
    rmSync(registry, { recursive: true, force: true });
  };
}
