// Lint rules shared by every project. Type-aware so that floating promises are caught.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/.nx/**',
      '**/coverage/**',
      '**/*.mjs',
      '**/*.cjs',
      '**/*.js',
      '**/vitest.config.ts',
      'vitest.shared.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['**/test/**/*.ts', 'apps/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  // Features reach the core only through the EtcdPort (issue 13, DESIGN.md "One in-process port"): no
  // CairnNode, no EtcdApis, no deep import into @cairn/server. ESLint prints each offence as file:line.
  {
    files: [
      'libs/registry/src/**/*.ts',
      'libs/config/src/**/*.ts',
      'libs/audit/src/**/*.ts',
      'apps/server/src/console/**/*.ts',
    ],
    ignores: ['apps/server/src/console/cluster-overview.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        featureImports(['CairnNode', 'EtcdApis', 'createEtcdApis']),
      ],
    },
  },
  // The gateway serves etcd's unary API through EtcdApis (as the gRPC services do), but its Watch uses the
  // port: it may not hold the CairnNode.
  {
    files: ['apps/server/src/http/gateway.controller.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', featureImports(['CairnNode'])] },
  },
  // The console's cluster page may read the member's status, members and alarms, never its stores.
  {
    files: [
      'libs/registry/src/**/*.ts',
      'libs/config/src/**/*.ts',
      'libs/audit/src/**/*.ts',
      'apps/server/src/console/**/*.ts',
      'apps/server/src/http/gateway.controller.ts',
    ],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='node'][property.name=/^(kv|watchable|leases)$/]",
          message:
            "a feature reaches the member's stores only through the EtcdPort (no node.kv/watchable/leases)",
        },
      ],
    },
  },
);

function featureImports(names) {
  return {
    paths: [
      {
        name: '@cairn/server',
        importNames: names,
        message: 'features talk to the core only through the EtcdPort (libs/server/src/port); see issue 13',
      },
    ],
    patterns: [
      {
        group: ['@cairn/server/*', '**/libs/server/**'],
        message: 'import @cairn/server only (its public surface), and only the EtcdPort for KV work',
      },
    ],
  };
}
