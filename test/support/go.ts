// Builds the project's Go programs (etcd's own Go client, from Debian's golang-etcd-server-dev) through
// scripts/build-go.sh: offline, GOPATH layout, the binary cached in dist/go/bin until its sources change.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './target';

const run = promisify(execFile);

export const BUILD_GO_SCRIPT = resolve(repoRoot, 'scripts', 'build-go.sh');

/** Builds `importPath` (under test/go/src unless `gopath` says another tree) and returns the binary's path. */
export async function buildGo(
  importPath: string,
  options: { gopath?: string; timeoutMs?: number } = {},
): Promise<string> {
  const args = [...(options.gopath ? ['--gopath', options.gopath] : []), importPath];
  try {
    const { stdout } = await run(BUILD_GO_SCRIPT, args, {
      timeout: options.timeoutMs ?? 180_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout.trim().split('\n').pop()!;
  } catch (error) {
    const e = error as { message: string; stderr?: string };
    throw new Error(`scripts/build-go.sh ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`, {
      cause: error,
    });
  }
}
