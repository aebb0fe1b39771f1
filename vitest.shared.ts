// Shared Vitest settings: every project resolves @cairn/* imports to the sibling lib's source, so tests
// never depend on a stale build.
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

const root = import.meta.dirname;

export function cairnVitestConfig(
  options: { testTimeout?: number; include?: string[]; serialFiles?: boolean } = {},
) {
  return defineConfig({
    resolve: {
      alias: [{ find: /^@cairn\/([a-z-]+)$/, replacement: resolve(root, 'libs/$1/src/index.ts') }],
    },
    test: {
      include: options.include ?? ['test/**/*.test.ts'],
      testTimeout: options.testTimeout ?? 20_000,
      hookTimeout: 30_000,
      pool: 'forks',
      fileParallelism: !options.serialFiles,
      exclude: ['**/node_modules/**', '**/dist/**'],
    },
  });
}
