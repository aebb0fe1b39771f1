// Benchmarks are not part of `vitest run`; run them with
//   npx vitest run --config test/bench/vitest.config.mjs
import { cairnVitestConfig } from '../../../../vitest.shared.ts';

export default cairnVitestConfig({ include: ['test/bench/**/*.bench.ts'], testTimeout: 120_000 });
