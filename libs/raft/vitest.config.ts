import { mergeConfig } from 'vitest/config';
import { cairnVitestConfig } from '../../vitest.shared';

// Coverage is off unless asked for (`npm run test:coverage`, which the `test` script runs after the full
// suite): branch coverage of src/ over a reduced seed range, enforced at 95% of branches. Every branch
// left uncovered is listed, with the reason, in README.md ("Coverage").
export default mergeConfig(cairnVitestConfig(), {
  test: {
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      // The public surface re-exports and type-only modules hold no branches.
      exclude: ['src/index.ts', 'src/types.ts', 'src/contracts.ts'],
      reporter: ['text', 'text-summary'],
      reportsDirectory: 'coverage',
      thresholds: { branches: 95, lines: 95 },
    },
  },
});
