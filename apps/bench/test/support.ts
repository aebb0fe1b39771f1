// What the bench's end-to-end tests share: this machine's servers and tools, and running the CLI in-process.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { runCli } from '../src/cli/run-cli';

/** Real etcd, installed by scripts/install-test-deps.sh. */
export const ETCD = '/usr/bin/etcd';
export const REPO = resolve(__dirname, '../../..');

/** The Go toolchain and Debian's clientv3 sources, which the Go load generator is built from. */
export function hasGo(): boolean {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return existsSync('/usr/share/gocode/src/go.etcd.io/etcd/clientv3');
  } catch {
    return false;
  }
}

/** Whether a process still runs (a test checks that every server it started is gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs `bench <argv>` in this process, its output lines captured. */
export async function cli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    argv,
    (line) => out.push(line),
    (line) => err.push(line),
  );
  return { code, out, err };
}
