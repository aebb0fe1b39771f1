// Runs one measurement as a child process (a bench command or a script) and hands back its output lines.
// Each child leads its own process group, and every server it starts inherits that group, so whatever
// happens to the child (it fails, overruns, or the suite is interrupted) its servers are killed by the
// group's id, never by name.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Output } from '../cli/command';
import { RUN_JSON_MARKER } from '../compare/interleave';

export interface ChildSpec {
  command: string;
  args: readonly string[];
  env?: Record<string, string>;
  timeoutMs: number;
  /** Progress: the child's lines are echoed here, indented (the run JSON lines are not). */
  out: Output;
}

export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string[];
  stderr: string[];
}

/** Process groups of the children still running (their leaders' PIDs). */
const liveGroups = new Set<number>();

function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // no process left in the group
  }
}

/** Last resort for 'exit' and signal handlers: SIGKILL every running child's group. */
export function killAllChildGroups(): void {
  for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
}

export function runChild(spec: ChildSpec): Promise<ChildOutcome> {
  const child = spawn(spec.command, spec.args, {
    detached: true, // a new process group, led by the child
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...spec.env },
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const echo = (line: string): void => {
    if (!line.startsWith(RUN_JSON_MARKER)) spec.out(`    │ ${line}`);
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    stdout.push(line);
    echo(line);
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    echo(line);
  });

  return new Promise((resolve, reject) => {
    const pgid = child.pid;
    if (pgid !== undefined) liveGroups.add(pgid);
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      if (pgid === undefined) return;
      timedOut = true;
      spec.out(`    │ (overran ${Math.round(spec.timeoutMs / 1000)} s: SIGTERM to process group ${pgid})`);
      signalGroup(pgid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), 10_000);
    }, spec.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      if (pgid !== undefined) liveGroups.delete(pgid);
      reject(new Error(`cannot start ${spec.command}: ${error.message}`));
    });
    // 'close' comes after both pipes ended, so every line has been read.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      if (pgid !== undefined) {
        // A server the child left behind (it crashed, or was killed before its cleanup) is still in the group.
        if (signalGroup(pgid, 0)) {
          spec.out(`    │ (processes left in group ${pgid} after the child exited: SIGKILL)`);
          signalGroup(pgid, 'SIGKILL');
        }
        liveGroups.delete(pgid);
      }
      resolve({ code, signal, timedOut, stdout, stderr });
    });
  });
}

/** Why a child failed, in one line: the timeout, or its last error lines. */
export function describeFailure(outcome: ChildOutcome, timeoutMs: number): string {
  const how = outcome.timedOut
    ? `overran ${Math.round(timeoutMs / 1000)} s and was killed`
    : outcome.signal
      ? `killed by ${outcome.signal}`
      : `exit code ${outcome.code}`;
  const tail = (outcome.stderr.length > 0 ? outcome.stderr : outcome.stdout)
    .filter((line) => line.trim().length > 0 && !line.startsWith(RUN_JSON_MARKER))
    .slice(-3)
    .join(' / ');
  return tail ? `${how}: ${tail}` : how;
}

/**
 * The last JSON object a child printed as a block (`{` alone on a line … `}` alone on a line), as the bench
 * commands' --json and the scripts print it after their text lines.
 */
export function lastJsonBlock(lines: readonly string[]): unknown {
  for (let start = lines.length - 1; start >= 0; start--) {
    if (lines[start] !== '{') continue;
    const end = lines.indexOf('}', start);
    if (end === -1) continue;
    return JSON.parse(lines.slice(start, end + 1).join('\n'));
  }
  throw new Error('printed no JSON result');
}
