// Earlier Cairn releases, for the upgrade tests: each is a fixture packed by scripts/pack-release.sh
// (test/fixtures/releases/cairn-<version>.tgz), unpacked once under test/.releases/ and started like the
// current build, with etcd's flags. Its own workspace packages resolve to its own compiled libs (symlinks in
// its node_modules/@cairn); third-party packages resolve, up the tree, to this repo's node_modules.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { repoRoot, type Target } from './target';

const RELEASES_DIR = join(repoRoot, 'test', '.releases');

/** A started-with-etcd's-flags target running Cairn `version` (e.g. '0.1.0') from its fixture. */
export function releaseTarget(version: string): Target {
  const dir = join(RELEASES_DIR, `cairn-${version}`);
  if (!existsSync(join(dir, 'node_modules', '@cairn'))) unpack(version, dir);
  return { kind: 'cairn', binary: join(dir, 'bin', 'cairn') };
}

function unpack(version: string, dir: string): void {
  const fixture = join(repoRoot, 'test', 'fixtures', 'releases', `cairn-${version}.tgz`);
  if (!existsSync(fixture)) throw new Error(`no release fixture ${fixture} (see scripts/pack-release.sh)`);
  // Unpacked beside the final place and renamed in one step, so two workers never see half a release.
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  execFileSync('tar', ['xzf', fixture, '-C', staging]);
  const scoped = join(staging, 'node_modules', '@cairn');
  mkdirSync(scoped, { recursive: true });
  for (const group of ['libs', 'apps']) {
    for (const name of readdirSync(join(staging, group))) {
      const alias = group === 'apps' && name === 'server' ? 'server-app' : name;
      symlinkSync(join('..', '..', group, name), join(scoped, alias));
    }
  }
  try {
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(dir, 'node_modules', '@cairn'))) throw error;
  }
}
