import { mergeConfig } from 'vitest/config';
import { cairnVitestConfig } from '../vitest.shared';

// Cross-process tests start real servers on loopback ports: run files one at a time. The global setup
// kills any server a crashed worker left behind.
export default mergeConfig(
  cairnVitestConfig({ include: ['**/*.test.ts'], testTimeout: 60_000, serialFiles: true }),
  { test: { globalSetup: ['./support/global-setup.ts'] } },
);
