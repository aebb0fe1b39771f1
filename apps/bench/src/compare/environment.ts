// What the figures were taken on: CPUs, load, Node, server versions. Printed above the tables.

import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';

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

/**
 * Which Cairn build ran: `--version` says little while the server is under development, so also
 * the time its entry file was built and the repository's commit (the build may be newer or older).
 */
export function describeCairnBuild(launcher: string): string {
  const repoRoot = join(dirname(launcher), '..');
  const parts: string[] = [];
  try {
    parts.push(`server built ${statSync(join(repoRoot, 'apps/server/dist/main.js')).mtime.toISOString()}`);
  } catch {
    parts.push('server build time unknown');
  }
  try {
    const commit = execFileSync('git', ['-C', repoRoot, 'log', '-1', '--format=%h %cI'], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    parts.push(`repository at ${commit}`);
    // The working tree is shared and may hold uncommitted changes that the build includes.
    const changed = execFileSync('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .filter((line) => line.trim().length > 0).length;
    parts.push(
      changed === 0 ? 'no uncommitted changes' : `${changed} tracked files with uncommitted changes`,
    );
  } catch {
    // not a git checkout
  }
  return parts.join(', ');
}
