// What the figures were taken on: CPUs, load, Node, server versions. Printed above the tables.

import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';

export function loadAverage(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(', ');
}

export function machineDescription(): string {
  const list = cpus();
  const model = list[0]?.model.trim() ?? 'unknown CPU';
  return `${list.length} × ${model}, Node ${process.version}`;
}

/** First line of `<command> --version`, or a note that it could not be read. */
export function versionOf(command: string): string {
  try {
    const output = execFileSync(command, ['--version'], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return output.trim().split('\n')[0] ?? 'unknown version';
  } catch {
    return 'version unknown';
  }
}
