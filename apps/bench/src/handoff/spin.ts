// Simulated work and per-thread CPU for `bench handoff`.
import { readFileSync } from 'node:fs';

/** Burn `micros` of this thread's CPU, as decoding or applying a request would. */
export function spin(micros: number): void {
  if (micros <= 0) return;
  const until = process.hrtime.bigint() + BigInt(Math.round(micros * 1000));
  while (process.hrtime.bigint() < until) {
    // busy
  }
}

/** CPU seconds (user + system) of the calling thread (Linux: /proc/thread-self). */
export function threadCpuSeconds(): number {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
