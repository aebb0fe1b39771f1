#!/usr/bin/env node
// Type-checks every workspace's tsconfig.json (sources AND tests; `build` compiles only sources, and vitest
// strips types without checking them). Paths map @cairn/* to the libs' sources, so nothing needs building first.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const workspaces = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces;
const projects = workspaces
  // Workspace patterns here are "dir" or "dir/*" (Node 20 has no fs.globSync).
  .flatMap((pattern) =>
    pattern.endsWith('/*')
      ? readdirSync(join(root, pattern.slice(0, -2))).map((name) => `${pattern.slice(0, -2)}/${name}`)
      : [pattern],
  )
  .filter((dir) => existsSync(join(root, dir, 'tsconfig.json')))
  .sort();

const tsc = join(root, 'node_modules/typescript/bin/tsc');
const failed = [];
for (const project of projects) {
  const started = Date.now();
  try {
    execFileSync(process.execPath, [tsc, '--noEmit', '-p', join(project, 'tsconfig.json')], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    console.log(`typecheck ${project}: ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch {
    console.log(`typecheck ${project}: FAILED`);
    failed.push(project);
  }
}
if (failed.length > 0) {
  console.error(`type errors in: ${failed.join(', ')}`);
  process.exit(1);
}
