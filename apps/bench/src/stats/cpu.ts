// CPU used during a run, in cores (CPU seconds per wall second): the client's own, from
// process.cpuUsage(), and a server's, from utime+stime in /proc/<pid>/stat.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface CpuSample {
  /** CPU time in ms. */
  cpuMs: number;
  /** Wall clock (performance.now()) in ms. */
  wallMs: number;
}

export interface CpuUse {
  cores: number;
  cpuMs: number;
}

export function cpuBetween(start: CpuSample, end: CpuSample): CpuUse {
  const wallMs = end.wallMs - start.wallMs;
  const cpuMs = end.cpuMs - start.cpuMs;
  return { cpuMs, cores: wallMs > 0 ? cpuMs / wallMs : 0 };
}

export function sampleClientCpu(): CpuSample {
  const usage = process.cpuUsage();
  return { cpuMs: (usage.user + usage.system) / 1000, wallMs: performance.now() };
}

let clockTicksPerSecond: number | undefined;

/** The kernel's USER_HZ (the unit of /proc/<pid>/stat times); 100 on practically every Linux. */
function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/** utime+stime of a process in ms, or undefined when it cannot be read (process gone, not Linux). */
export function readProcessCpuMs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return parseProcStatCpuMs(stat, ticksPerSecond());
}

/**
 * Parses utime (field 14) and stime (field 15) from a /proc/<pid>/stat line. The command name
 * (field 2) is in parentheses and may contain spaces, so fields are counted after the last ')'.
 */
export function parseProcStatCpuMs(stat: string, ticks: number): number {
  const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // afterName[0] is field 3 (state), so field N is afterName[N - 3].
  const utime = Number(afterName[14 - 3]);
  const stime = Number(afterName[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot parse /proc stat: ${stat}`);
  return ((utime + stime) * 1000) / ticks;
}

/** Summed CPU of a set of server processes (all members of a cluster). */
export function sampleServerCpu(pids: readonly number[]): CpuSample | undefined {
  if (pids.length === 0) return undefined;
  let cpuMs = 0;
  for (const pid of pids) {
    const ms = readProcessCpuMs(pid);
    if (ms === undefined) return undefined;
    cpuMs += ms;
  }
  return { cpuMs, wallMs: performance.now() };
}
