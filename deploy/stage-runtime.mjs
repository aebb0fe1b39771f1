#!/usr/bin/env node
// @ts-check
// Copies the runtime layout of a built (and pruned) checkout from <src> to <dest>: the root package files,
// bin/, deploy/'s entrypoint and healthcheck, node_modules, and per workspace its package.json, dist/,
// proto/ and node_modules/ (web: its built console, web/dist). Sources, tests and tooling stay behind.
// Used by the Dockerfile's build stage; `--link-node-modules` (tests only) symlinks node_modules instead.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const link = args.includes('--link-node-modules');
const [src, dest] = args.filter((a) => !a.startsWith('--'));
if (!src || !dest) {
  process.stderr.write('usage: stage-runtime.mjs <src> <dest> [--link-node-modules]\n');
  process.exit(2);
}

/** @param {string} rel */
function copy(rel) {
  const from = join(src, rel);
  if (!existsSync(from)) return;
  mkdirSync(join(dest, rel, '..'), { recursive: true });
  if (link && rel.endsWith('node_modules')) symlinkSync(from, join(dest, rel));
  else cpSync(from, join(dest, rel), { recursive: true, verbatimSymlinks: true });
}

const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'));
for (const rel of [
  'package.json',
  'package-lock.json',
  'bin',
  'node_modules',
  'deploy/entrypoint.mjs',
  'deploy/healthcheck.mjs',
])
  copy(rel);
// Workspaces are `dir/*` globs or plain directories (package.json "workspaces").
for (const pattern of /** @type {string[]} */ (pkg.workspaces ?? [])) {
  const dirs = pattern.endsWith('/*')
    ? readdirSync(join(src, pattern.slice(0, -2)), { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => join(pattern.slice(0, -2), d.name))
    : [pattern];
  for (const dir of dirs) {
    if (!existsSync(join(src, dir, 'package.json'))) continue;
    for (const part of ['package.json', 'dist', 'proto', 'node_modules']) copy(join(dir, part));
  }
}
