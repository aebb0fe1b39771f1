#!/usr/bin/env node
// The npm registry mirror this project is built against lacks other platforms' prebuilt binaries (e.g.
// @nx/nx-darwin-arm64), so `npm install` leaves those optional dependencies out of package-lock.json and
// `npm ci` then refuses the lockfile as out of sync. This adds the missing entries exactly as npm records
// them against the full registry (optional, with the os/cpu/libc constraints that make npm skip them on
// this platform). Idempotent; run after `npm install` and before `npm ci`.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const lockPath = join(root, 'package-lock.json');
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const platformOf = (name) => {
  const m =
    /-(darwin|linux|win32|freebsd|android|openbsd|sunos|aix|wasm32)-(arm64|x64|arm|ia32|riscv64|s390x|ppc64|loong64)?-?(gnu|musl|msvc|gnueabihf|musleabihf)?/.exec(
      name,
    );
  if (!m) return undefined;
  const entry = { os: [m[1]] };
  if (m[2]) entry.cpu = [m[2]];
  if (m[3] === 'gnu' || m[3] === 'gnueabihf') entry.libc = ['glibc'];
  if (m[3] === 'musl' || m[3] === 'musleabihf') entry.libc = ['musl'];
  if (m[3] === 'gnueabihf') entry.cpu = ['arm'];
  return entry;
};

let added = 0;
for (const [path, pkg] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const at = path === '' ? `node_modules/${dep}` : `${path}/node_modules/${dep}`;
    const hoisted = `node_modules/${dep}`;
    if (lock.packages[at] || lock.packages[hoisted]) continue;
    const platform = platformOf(dep);
    if (!platform) continue; // only platform binaries are expected to be missing
    lock.packages[hoisted] = { version, ...platform, optional: true };
    added++;
  }
}
if (added > 0) {
  lock.packages = Object.fromEntries(
    Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
  );
  writeFileSync(lockPath, JSON.stringify(lock, null, 2) + '\n');
}
if (!existsSync(lockPath)) process.exit(1);
process.stdout.write(`complete-lockfile: ${added} missing platform entries added\n`);
