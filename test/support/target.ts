// Which server the suites run against. The same tests, flags and assertions apply to both: real etcd
// proves the tests are right, Cairn is what they are for.
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';

export type TargetKind = 'etcd' | 'cairn';

export interface Target {
  kind: TargetKind;
  /** Executable started with etcd's own flags. */
  binary: string;
}

export const repoRoot = resolve(__dirname, '..', '..');

export const ETCDCTL_BINARY = process.env['CAIRN_TEST_ETCDCTL'] ?? '/usr/bin/etcdctl';

export function currentTarget(): Target {
  const kind = process.env['CAIRN_TEST_TARGET'] ?? 'cairn';
  if (kind === 'etcd' || kind === 'cairn') return targetOf(kind);
  throw new Error(`CAIRN_TEST_TARGET must be "etcd" or "cairn", got "${kind}"`);
}

/** A server of the given kind whatever the run's target (a test that needs real etcd beside the target). */
export function targetOf(kind: TargetKind): Target {
  if (kind === 'etcd') return { kind, binary: process.env['CAIRN_TEST_ETCD'] ?? '/usr/bin/etcd' };
  return { kind, binary: process.env['CAIRN_TEST_CAIRN'] ?? resolve(repoRoot, 'bin', 'cairn') };
}

/** Throws a message that says how to fix it when the target or etcdctl is not installed. */
export function assertTargetInstalled(target: Target = currentTarget()): void {
  const missing = [target.binary, ETCDCTL_BINARY].filter((file) => {
    try {
      accessSync(file, constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new Error(
      `not executable: ${missing.join(', ')} (target "${target.kind}"). ` +
        'Run scripts/install-test-deps.sh for etcd/etcdctl, or set CAIRN_TEST_TARGET=etcd to test against real etcd.',
    );
  }
}
