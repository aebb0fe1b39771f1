// Run-level safety net: workers record each spawned PID in a shared directory (see processes.ts); if a
// worker dies without cleaning up, its servers are killed here when the run ends.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** argv of a live process (a script's path is argv[1] behind its interpreter), or [] if it is gone. */
function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

export function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-e2e-pids-'));
  process.env['CAIRN_E2E_PID_DIR'] = dir;
  return () => {
    for (const entry of readdirSync(dir)) {
      const pid = Number(entry);
      const recorded = readFileSync(join(dir, entry), 'utf8');
      // Only kill the PID if it still runs the command we started (PIDs get reused).
      if (Number.isInteger(pid) && argvOf(pid).includes(recorded)) {
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
    }
    rmSync(dir, { recursive: true, force: true });
  };
}
